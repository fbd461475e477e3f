# mdoc IACA services (RA, issuer) and the operator CLI, one image: `iaca serve --role ra|issuer|all`.
# SoftHSM is the development HSM; point IACA_PKCS11_MODULE at a network HSM's PKCS#11 library
# (mounted or installed in a derived image) for production.
FROM node:20-bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends softhsm2 ca-certificates curl python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY . .
# the workspaces (packages/*, apps/*) are linked by npm ci; postinstall generates the Prisma client
RUN npm ci --no-audit --no-fund \
 && mkdir -p /var/lib/iaca/softhsm /var/lib/iaca/tls /var/lib/iaca/clients /var/lib/iaca/db \
 && chown -R node:node /var/lib/iaca

ENV IACA_DATA_DIR=/var/lib/iaca \
    IACA_TLS_DIR=/var/lib/iaca/tls \
    IACA_CLIENTS_DIR=/var/lib/iaca/clients \
    SOFTHSM2_CONF=/var/lib/iaca/softhsm/softhsm2.conf \
    IACA_HSM_PIN_FILE=/var/lib/iaca/softhsm/pins.env \
    IACA_PKCS11_MODULE=/usr/lib/softhsm/libsofthsm2.so \
    IACA_HOST=0.0.0.0 \
    NODE_ENV=production

USER node
ENTRYPOINT ["node", "apps/cli/bin/iaca.js"]
CMD ["serve"]
