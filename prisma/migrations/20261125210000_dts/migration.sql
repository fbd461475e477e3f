-- apps/dts: signed trust-list issues.

-- CreateTable
CREATE TABLE "dts_trust_list" (
    "issue_id" INTEGER NOT NULL,
    "issued_at" TIMESTAMPTZ(3) NOT NULL,
    "next_update" TIMESTAMPTZ(3) NOT NULL,
    "content_digest" CHAR(64) NOT NULL,
    "signer_sha256" CHAR(64) NOT NULL,
    "cose" BYTEA NOT NULL,
    "sha256" CHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "dts_trust_list_pkey" PRIMARY KEY ("issue_id")
);
