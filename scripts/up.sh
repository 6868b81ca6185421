#!/usr/bin/env bash
# Command 1: set up and run the whole system (API + one worker) until Ctrl-C.
source "$(dirname "${BASH_SOURCE[0]}")/prepare.sh"

install_dependencies
if [[ ! -f .env ]]; then
  cp .env.example .env
  # A fresh random secret rather than the placeholder.
  sed -i.bak "s/^JWT_SECRET=.*/JWT_SECRET=$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')/" .env && rm -f .env.bak
  say "wrote .env from .env.example (edit it to change settings)"
fi
# .env fills in what the environment does not already set (the environment wins).
while IFS= read -r line; do
  [[ "$line" =~ ^([A-Z_][A-Z0-9_]*)=(.*)$ ]] || continue
  [[ -n "${!BASH_REMATCH[1]+set}" ]] || export "${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"
done < .env
ensure_services
build_and_migrate

# The API's heap flags are those of `npm start` (see docs/benchmarks.md).
node --max-old-space-size=256 --max-semi-space-size=8 dist/main.js &
API=$!
# On one box the worker runs at nice 10 (WORKER_PRIORITY): shoppers' requests go first
# in a spike and the worker's batches grow to keep pace (docs/benchmarks.md, "Worker priority").
PROCESS_PRIORITY="${WORKER_PRIORITY:-10}" node --max-old-space-size=256 --max-semi-space-size=16 dist/worker.js &
WORKER=$!
stop() { kill -TERM "$API" "$WORKER" 2>/dev/null || true; wait "$API" "$WORKER" 2>/dev/null || true; }
trap stop INT TERM
URL="http://localhost:${PORT:-3000}"
for _ in $(seq 1 60); do curl -fs "$URL/health" >/dev/null 2>&1 && break; sleep 0.5; done
OPS_PORT="${WORKER_OPS_PORT:-9464}"
MAIL="http://localhost:8025 (Mailpit, with docker compose)"
curl -fs http://localhost:8025 >/dev/null 2>&1 && MAIL="http://localhost:8025"
say "running (Ctrl-C stops both):
    API          $URL
    API docs     $URL/docs  (OpenAPI document: $URL/docs-json)
    live view    $URL/admin/live  (admins; sign in on the page)
    queues       $URL/admin/queues  (admins)
    metrics      $URL/metrics  (worker: http://localhost:$OPS_PORT/metrics)
    health       $URL/health/live, $URL/health/ready  (worker: http://localhost:$OPS_PORT/health/ready)
    mail UI      $MAIL
    Prometheus   http://localhost:9090, Grafana http://localhost:3001  (docker compose --profile ops up -d)
  Nothing to look at yet? In another terminal: npm run demo"
wait -n "$API" "$WORKER" || true
stop
