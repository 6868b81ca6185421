#!/usr/bin/env bash
# Command 2: the whole test suite, with the same preparation as scripts/up.sh.
# Suites create and drop their own databases on the server of DATABASE_URL and
# use their own Redis key prefixes.
source "$(dirname "${BASH_SOURCE[0]}")/prepare.sh"

export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/flash_sale_test}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
install_dependencies
ensure_chromium
ensure_services
build_and_migrate
say "type check and lint"
npm run --silent typecheck
npm run --silent lint
say "running the tests"
npm test --silent -- "$@"
