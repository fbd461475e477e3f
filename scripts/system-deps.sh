#!/usr/bin/env bash
# Installs the Debian packages the project needs, only those missing (idempotent, root).
# One list serves the quick start and CI.
set -euo pipefail
need=()
[ -e /usr/lib/softhsm/libsofthsm2.so ] || need+=(softhsm2)
command -v pkcs11-tool >/dev/null || need+=(opensc)
command -v openssl >/dev/null || need+=(openssl)
# scripts/node.sh fetches Node.js with curl when there is no npm yet; pkcs11js compiles with node-gyp.
command -v curl >/dev/null || need+=(curl ca-certificates)
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
command -v python3 >/dev/null || need+=(python3)
# Verifier stacks in the tests (test/verifier-stacks.test.ts): GnuTLS certtool and Java PKIX.
command -v certtool >/dev/null || need+=(gnutls-bin)
command -v java >/dev/null || need+=(default-jre-headless)
command -v pg_isready >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ "${IACA_WITH_DOCS:-1}" = 1 ]; then
  # CP/CPS build: DOCX via pandoc, PDF via headless Chromium with a Japanese font, pdftotext in tests.
  command -v pandoc >/dev/null || need+=(pandoc)
  command -v chromium >/dev/null || need+=(chromium)
  command -v pdftotext >/dev/null || need+=(poppler-utils)
  dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "system-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
