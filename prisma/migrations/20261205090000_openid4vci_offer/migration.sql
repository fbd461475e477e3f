-- apps/ra OpenID4VCI front (issue 20): a Credential Offer of the pre-authorized code flow. The
-- pre-authorized code, the tx_code and the access token are kept only as SHA-256 digests; the
-- holder data (or the mdoc a refresh presents) only sealed under the issuer's HSM key, and only
-- until the credential is issued, the offer is burnt or it expires (then `sealed` is NULL).
-- oid4vci_dpop_jti remembers the DPoP proofs seen while they could be replayed (RFC 9449 11.1).

-- CreateTable
CREATE TABLE "oid4vci_offer" (
    "id" TEXT NOT NULL,
    "client_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "profile" TEXT NOT NULL,
    "code_sha256" CHAR(64) NOT NULL,
    "tx_code_sha256" CHAR(64),
    "tx_code_failures" INTEGER NOT NULL DEFAULT 0,
    "sealed" BYTEA,
    "holder_key_thumbprint" TEXT,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "redeemed_at" TIMESTAMPTZ(3),
    "token_sha256" CHAR(64),
    "token_jkt" TEXT,
    "token_expires_at" TIMESTAMPTZ(3),
    "request_id" TEXT,
    "issued_at" TIMESTAMPTZ(3),
    "notification_id" TEXT,
    "notified_event" TEXT,
    "ended" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "oid4vci_offer_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "oid4vci_offer_code_sha256_key" ON "oid4vci_offer"("code_sha256");
CREATE UNIQUE INDEX "oid4vci_offer_token_sha256_key" ON "oid4vci_offer"("token_sha256");
CREATE UNIQUE INDEX "oid4vci_offer_notification_id_key" ON "oid4vci_offer"("notification_id");
CREATE INDEX "oid4vci_offer_expires_at_idx" ON "oid4vci_offer"("expires_at");

-- CreateTable
CREATE TABLE "oid4vci_dpop_jti" (
    "jti_sha256" CHAR(64) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "oid4vci_dpop_jti_pkey" PRIMARY KEY ("jti_sha256")
);
CREATE INDEX "oid4vci_dpop_jti_expires_at_idx" ON "oid4vci_dpop_jti"("expires_at");
