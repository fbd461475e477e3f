-- packages/pki: certificates, HSM key references, CRL/ARL history, ceremony operators.

-- CreateTable
CREATE TABLE "pki_certificate" (
    "serial" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "ski" TEXT NOT NULL,
    "aki" TEXT,
    "spki_sha256" CHAR(64) NOT NULL,
    "root_gen" INTEGER NOT NULL,
    "not_before" TIMESTAMPTZ(3) NOT NULL,
    "not_after" TIMESTAMPTZ(3) NOT NULL,
    "der" BYTEA NOT NULL,
    "sha256" CHAR(64) NOT NULL,
    "key_ref" TEXT,
    "activates_at" TIMESTAMPTZ(3),
    "installed_at" TIMESTAMPTZ(3),
    "retired_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "revocation_reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "pki_certificate_pkey" PRIMARY KEY ("serial")
);

-- CreateTable
CREATE TABLE "pki_key" (
    "uri" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "label" TEXT NOT NULL,
    "spki_sha256" CHAR(64) NOT NULL,
    "csr" BYTEA,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "destroyed_at" TIMESTAMPTZ(3),

    CONSTRAINT "pki_key_pkey" PRIMARY KEY ("uri")
);

-- CreateTable
CREATE TABLE "pki_crl" (
    "kind" TEXT NOT NULL,
    "number" BIGINT NOT NULL,
    "this_update" TIMESTAMPTZ(3) NOT NULL,
    "next_update" TIMESTAMPTZ(3) NOT NULL,
    "der" BYTEA NOT NULL,
    "sha256" CHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "pki_crl_pkey" PRIMARY KEY ("kind","number")
);

-- CreateTable
CREATE TABLE "pki_operator" (
    "id" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "disabled_at" TIMESTAMPTZ(3),

    CONSTRAINT "pki_operator_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "pki_certificate_sha256_key" ON "pki_certificate"("sha256");

-- CreateIndex
CREATE INDEX "pki_certificate_kind_idx" ON "pki_certificate"("kind");

-- CreateIndex
CREATE INDEX "pki_certificate_spki_sha256_idx" ON "pki_certificate"("spki_sha256");

-- CreateIndex
CREATE UNIQUE INDEX "pki_key_spki_sha256_key" ON "pki_key"("spki_sha256");
