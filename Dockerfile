# mdoc IACA services (RA, issuer) and the operator CLI, one image: `iaca serve --role ra|issuer|all`.
# SoftHSM is the development HSM; point IACA_PKCS11_MODULE at a network HSM's PKCS#11 library
# (mounted or installed in a derived image) for production.
#
# Node.js comes from scripts/node.sh, the script setup.sh and CI use: the same pinned version from
# the npm registry, checked against the same integrity, so the image runs what the tests ran on.

FROM debian:bookworm-slim AS node
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
COPY scripts/node.sh /usr/local/src/iaca/node.sh
RUN IACA_NODE_HOME=/opt/node bash /usr/local/src/iaca/node.sh

# npm ci links the workspaces, compiles pkcs11js and (postinstall) generates the Prisma client with
# the prisma CLI; npm prune then leaves only what the workspaces' `dependencies` name. --omit=optional
# as well, because the prisma CLI and typescript are optional peers of @prisma/client, which npm
# keeps under --omit=dev alone; the only optional runtime packages are cbor-extract (cbor-x's native
# decoder, unused: the project takes only cbor-x's Tag class) and pg-cloudflare (Workers only).
FROM node AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --omit=optional --no-audit --no-fund \
 && rm -rf node_modules/.cache

FROM node
RUN apt-get update \
 && apt-get install -y --no-install-recommends softhsm2 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 1000 --user-group --create-home --shell /bin/bash node \
 && mkdir -p /var/lib/iaca/softhsm /var/lib/iaca/tls /var/lib/iaca/clients /var/lib/iaca/db \
 && chown -R node:node /var/lib/iaca
WORKDIR /app
COPY --from=build /app /app

ENV IACA_DATA_DIR=/var/lib/iaca \
    IACA_TLS_DIR=/var/lib/iaca/tls \
    IACA_CLIENTS_DIR=/var/lib/iaca/clients \
    SOFTHSM2_CONF=/var/lib/iaca/softhsm/softhsm2.conf \
    IACA_HSM_PIN_FILE=/var/lib/iaca/softhsm/pins.env \
    IACA_PKCS11_MODULE=/usr/lib/softhsm/libsofthsm2.so \
    IACA_HOST=0.0.0.0 \
    MALLOC_ARENA_MAX=2 \
    NODE_ENV=production

USER node
ENTRYPOINT ["node", "apps/cli/bin/iaca.js"]
CMD ["serve"]
