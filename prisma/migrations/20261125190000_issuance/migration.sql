-- apps/ra and apps/issuer: API clients, nonces, idempotency records, issuance records.
-- No personal data: holder_ref is an HMAC (HSM key) of the My Number, MSOs only as SHA-256.

CREATE TABLE "api_client" (
    "id" TEXT NOT NULL,
    "spki_sha256" CHAR(64) NOT NULL,
    "scopes" TEXT[],
    "cert_serial" TEXT,
    "cert_not_after" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "disabled_at" TIMESTAMPTZ(3),
    CONSTRAINT "api_client_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "api_client_spki_sha256_key" ON "api_client"("spki_sha256");

CREATE TABLE "ra_nonce" (
    "value" TEXT NOT NULL,
    "client_id" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "used_by" TEXT,
    CONSTRAINT "ra_nonce_pkey" PRIMARY KEY ("value")
);
CREATE INDEX "ra_nonce_expires_at_idx" ON "ra_nonce"("expires_at");

CREATE TABLE "ra_request" (
    "id" TEXT NOT NULL,
    "client_id" TEXT NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "route" TEXT NOT NULL,
    "body_sha256" CHAR(64) NOT NULL,
    "state" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "lease_until" TIMESTAMPTZ(3) NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 1,
    "status" INTEGER,
    "response" BYTEA,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "ra_request_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "ra_request_client_id_idempotency_key_key" ON "ra_request"("client_id", "idempotency_key");
CREATE INDEX "ra_request_expires_at_idx" ON "ra_request"("expires_at");

CREATE TABLE "issuance" (
    "id" TEXT NOT NULL,
    "request_id" TEXT NOT NULL,
    "batch_index" INTEGER NOT NULL,
    "client_id" TEXT NOT NULL,
    "profile" TEXT NOT NULL,
    "doc_type" TEXT NOT NULL,
    "ds_cert_serial" TEXT NOT NULL,
    "mso_sha256" CHAR(64) NOT NULL,
    "device_key_thumbprint" TEXT NOT NULL,
    "holder_ref" CHAR(64) NOT NULL,
    "valid_from" TIMESTAMPTZ(3) NOT NULL,
    "valid_until" TIMESTAMPTZ(3) NOT NULL,
    "state" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "signed_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "revocation_reason" TEXT,
    "refreshed_from" TEXT,
    CONSTRAINT "issuance_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "issuance_state_check" CHECK ("state" IN ('pending', 'issued', 'failed', 'abandoned'))
);
CREATE UNIQUE INDEX "issuance_mso_sha256_key" ON "issuance"("mso_sha256");
CREATE INDEX "issuance_holder_ref_idx" ON "issuance"("holder_ref");
CREATE INDEX "issuance_request_id_idx" ON "issuance"("request_id");
CREATE INDEX "issuance_state_idx" ON "issuance"("state");
