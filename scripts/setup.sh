#!/usr/bin/env bash
# Quick start, step 1 (fresh Debian/Ubuntu, as root): system packages, Node.js 24, npm ci, SoftHSM
# tokens, the embedded database with its migrations, then the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
# Node.js 24 first on PATH, for this script and (linked in /usr/local/bin) for every new shell
PATH="$(bash scripts/node.sh):$PATH"
export PATH
npm ci --no-audit --no-fund
bash softhsm/setup-tokens.sh var/softhsm
# the data directory is owner-only (iaca status checks it), also when an older checkout left it open
chmod -R go-rwx var
export SOFTHSM2_CONF="$PWD/var/softhsm/softhsm2.conf" IACA_HSM_PIN_FILE="$PWD/var/softhsm/pins.env"
npx iaca db migrate
npx iaca status
# two glibc malloc arenas: one per worker thread holds ~95 MiB more RSS under load (docs/operations.md, Soak)
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
exec npx iaca serve
