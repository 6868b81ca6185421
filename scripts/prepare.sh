# Shared preparation for scripts/up.sh and scripts/test.sh (sourced, not run):
# dependencies, Postgres and Redis reachable at the configured URLs, build,
# migrations. Each store is, in this order: used if it already answers;
# started with Docker Compose if a Docker engine runs; started from locally
# installed binaries with data under .data/; or reported with what to install.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DATA="$ROOT/.data"

say() { printf '\033[1m[flash-sale]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[flash-sale]\033[0m %s\n' "$*" >&2; exit 1; }

# 20.19: the first 20.x that loads ES modules with require() (content-disposition, cookie).
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
  die "Node.js 20.19 or newer is required (found $(node --version 2>/dev/null || echo none))"

install_dependencies() {
  if [[ -n "${CI:-}" || ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
    say "installing dependencies (npm ci)"
    npm ci --no-audit --no-fund
  fi
}

# host and port of a URL
url_host() { node -e 'const u=new URL(process.argv[1]); console.log(u.hostname||"127.0.0.1")' "$1"; }
url_port() { node -e 'const u=new URL(process.argv[1]); console.log(u.port||process.argv[2])' "$1" "$2"; }

postgres_answers() {
  node -e '
    const pg = require("pg");
    const u = new URL(process.argv[1]); u.pathname = "/postgres";
    const c = new pg.Client({ connectionString: u.toString(), connectionTimeoutMillis: 2000 });
    c.connect().then(() => c.end()).then(() => process.exit(0), () => process.exit(1));' "$DATABASE_URL"
}

redis_answers() {
  node -e '
    const { Redis } = require("ioredis");
    const r = new Redis(process.argv[1], { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
    r.on("error", () => {});
    r.connect().then(() => r.ping()).then(() => { r.disconnect(); process.exit(0); }, () => process.exit(1));' "$REDIS_URL"
}

wait_for() { # name, probe function
  for _ in $(seq 1 60); do "$2" && return 0; sleep 0.5; done
  return 1
}

docker_usable() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

pg_bin() { # the directory of initdb/pg_ctl, if PostgreSQL is installed
  command -v pg_ctl >/dev/null 2>&1 && { dirname "$(command -v pg_ctl)"; return; }
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

start_local_postgres() {
  local bin host port; bin="$(pg_bin)"; host="$(url_host "$DATABASE_URL")"; port="$(url_port "$DATABASE_URL" 5432)"
  # The machine's own cluster (Debian's pg_ctlcluster), when it is merely stopped.
  if command -v pg_ctlcluster >/dev/null 2>&1 && ls /etc/postgresql/*/main >/dev/null 2>&1; then
    say "starting the installed PostgreSQL cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
    wait_for postgres postgres_answers && return 0
  fi
  [[ -n "$bin" && -x "$bin/initdb" ]] || return 1
  say "starting PostgreSQL from $bin with data in .data/postgres (port $port)"
  local run=()
  if [[ "$(id -u)" == 0 ]]; then
    id postgres >/dev/null 2>&1 || return 1 # PostgreSQL refuses to run as root
    run=(runuser -u postgres --)
  fi
  mkdir -p "$DATA/postgres"
  [[ "$(id -u)" == 0 ]] && chown postgres "$DATA/postgres"
  if [[ ! -f "$DATA/postgres/PG_VERSION" ]]; then
    "${run[@]}" "$bin/initdb" -D "$DATA/postgres" -U postgres --auth=trust >/dev/null
  fi
  "${run[@]}" "$bin/pg_ctl" -D "$DATA/postgres" -l "$DATA/postgres/server.log" -w \
    -o "-p $port -k $DATA/postgres -c listen_addresses=$host" start >/dev/null
  wait_for postgres postgres_answers
}

start_local_redis() {
  command -v redis-server >/dev/null 2>&1 || return 1
  local port; port="$(url_port "$REDIS_URL" 6379)"
  say "starting redis-server with data in .data/redis (port $port, AOF on)"
  mkdir -p "$DATA/redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$DATA/redis" \
    --appendonly yes --appendfsync always --save "" --logfile "$DATA/redis/redis.log"
  wait_for redis redis_answers
}

ensure_services() {
  local need_pg=0 need_redis=0
  postgres_answers || need_pg=1
  redis_answers || need_redis=1
  if (( need_pg || need_redis )) && docker_usable; then
    say "starting services with Docker Compose"
    local services=(); (( need_pg )) && services+=(postgres); (( need_redis )) && services+=(redis)
    docker compose up -d --wait "${services[@]}"
    (( need_pg )) && { wait_for postgres postgres_answers && need_pg=0; }
    (( need_redis )) && { wait_for redis redis_answers && need_redis=0; }
  fi
  if (( need_pg )); then
    start_local_postgres || die "PostgreSQL does not answer at $DATABASE_URL and none could be started.
  Install one of: Docker (then docker-compose.yml is used), or PostgreSQL 15+
  (Debian/Ubuntu: apt-get install postgresql, macOS: brew install postgresql@15),
  or set DATABASE_URL to a server you have."
  fi
  if (( need_redis )); then
    start_local_redis || die "Redis does not answer at $REDIS_URL and none could be started.
  Install one of: Docker (then docker-compose.yml is used), or Redis 7+
  (Debian/Ubuntu: apt-get install redis-server, macOS: brew install redis),
  or set REDIS_URL to a server you have."
  fi
  say "PostgreSQL and Redis answer"
}

# The browser test (test/live-view.e2e-spec.ts) drives Debian's chromium,
# never a browser a package would download.
ensure_chromium() {
  local bin="${CHROMIUM_PATH:-/usr/bin/chromium}"
  [[ -x "$bin" ]] && return 0
  if command -v apt-get >/dev/null 2>&1; then
    say "installing chromium for the browser test (apt-get install chromium)"
    local sudo=()
    [[ "$(id -u)" == 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium >/dev/null
  fi
  [[ -x "$bin" ]] || die "chromium is needed by the browser test and is not at $bin.
  Install it (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH to a Chromium or Chrome binary."
}

build_and_migrate() {
  say "building"
  npm run build --silent
  say "applying migrations to $(node -e 'const u=new URL(process.argv[1]); console.log(u.host+u.pathname)' "$DATABASE_URL")"
  node dist/migrate.js deploy
}
