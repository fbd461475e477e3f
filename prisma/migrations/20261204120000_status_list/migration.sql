-- packages/db status lists (issue 19): every MSO points at an entry of a Token Status List. The
-- issuance row keeps which list and which index (unique together: no double allocation); the
-- status_list row keeps the list's size, its index-permutation key, how many positions were handed
-- out, a version bumped by each status change, and the last token signed for the DTS;
-- status_list_entry keeps the entries that are not VALID, written with each status change.

-- AlterTable
ALTER TABLE "issuance" ADD COLUMN "status_list" INTEGER,
ADD COLUMN "status_idx" INTEGER,
ADD COLUMN "suspended_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "status_list" (
    "list_no" INTEGER NOT NULL,
    "bits" INTEGER NOT NULL,
    "size" INTEGER NOT NULL,
    "prp_key" BYTEA NOT NULL,
    "allocated" INTEGER NOT NULL DEFAULT 0,
    "version" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "token" BYTEA,
    "token_sha256" CHAR(64),
    "signed_version" INTEGER,
    "signed_at" TIMESTAMPTZ(3),
    "expires_at" TIMESTAMPTZ(3),

    CONSTRAINT "status_list_pkey" PRIMARY KEY ("list_no")
);

-- CreateTable
CREATE TABLE "status_list_entry" (
    "list_no" INTEGER NOT NULL,
    "idx" INTEGER NOT NULL,
    "status" INTEGER NOT NULL,

    CONSTRAINT "status_list_entry_pkey" PRIMARY KEY ("list_no","idx")
);

-- CreateIndex
CREATE UNIQUE INDEX "issuance_status_list_status_idx_key" ON "issuance"("status_list", "status_idx");
