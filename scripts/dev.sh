#!/usr/bin/env bash
# Development: recompile on change and restart the API and a worker.
# Run scripts/up.sh once first (services, .env, migrations).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
npx tsc -p tsconfig.build.json --watch --preserveWatchOutput &
node --watch-path=dist --env-file=.env dist/main.js &
node --watch-path=dist --env-file=.env dist/worker.js &
trap 'kill $(jobs -p) 2>/dev/null' INT TERM EXIT
wait
