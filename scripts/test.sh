#!/usr/bin/env bash
# The whole test suite: lint, typecheck, vitest (real SoftHSM, real PostgreSQL), CP/CPS trace.
# Uses PostgreSQL at 127.0.0.1:5432 when it answers (or $TEST_PG_URL), otherwise starts a
# private server in a temp dir for the duration of the run.
set -euo pipefail
cd "$(dirname "$0")/.."

pg_dir=""
cleanup() {
  if [ -n "$pg_dir" ]; then
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  fi
}
trap cleanup EXIT

if [ -z "${TEST_PG_URL:-}" ]; then
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    export TEST_PG_URL="postgresql://postgres@127.0.0.1:5432/postgres"
  else
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    pg_dir=$(mktemp -d /tmp/iaca-pg.XXXXXX)
    chown postgres "$pg_dir" 2>/dev/null || true
    port=54329
    echo "test: no PostgreSQL at 127.0.0.1:5432; starting a private one on port $port"
    # initdb refuses to run as root, so the server runs as user postgres.
    runuser -u postgres -- "$pg_bin/initdb" -D "$pg_dir/data" -U postgres -A trust >/dev/null
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
      -o "-p $port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null
    export TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
  fi
fi

# Every step runs even when an earlier one fails, so one run shows everything that is wrong.
failed=()
step() {
  local name=$1
  shift
  echo "== $name"
  "$@" || failed+=("$name")
}
# lint checks what git tracks, so a stray file in the checkout cannot fail the suite
step lint npm run -s lint -- --max-diagnostics=50
step typecheck npx tsc -p tsconfig.json --noEmit
step tests npx vitest run
step "CP/CPS trace" npm run -s cpcps:trace
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all checks passed"
