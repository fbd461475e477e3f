-- packages/db issuances (issue 15, PostgreSQL work per mdoc): completing an issuance (pending ->
-- issued) changed the indexed "state" column, so every completion was a non-HOT update that wrote
-- a second entry into each of the table's six indexes. The sweep of crashed batches is the only
-- reader that needs pending rows by state; it now reads them from issuance_pending, which holds
-- exactly the ids of the pending rows (written and cleared in the same statements as the state).
-- Without an index on "state" a completion can be a heap-only (HOT) update when its page has room
-- (bench/issuance: 30 % of them with the default fillfactor; indexes 737 -> 628 bytes per mdoc; a
-- fillfactor of 80 raised HOT to 47 % but grew the heap more than it saved, so it stays at 100).

-- CreateTable
CREATE TABLE "issuance_pending" (
    "id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "issuance_pending_pkey" PRIMARY KEY ("id")
);

INSERT INTO "issuance_pending" ("id", "created_at")
SELECT "id", "created_at" FROM "issuance" WHERE "state" = 'pending';

-- DropIndex
DROP INDEX "issuance_state_idx";

-- A failed or abandoned refresh releases the claims of its request: without this index that was a
-- scan of the whole table. Partial: only claimed rows are indexed.
-- CreateIndex
CREATE INDEX "issuance_refresh_claimed_by_idx" ON "issuance"("refresh_claimed_by") WHERE "refresh_claimed_by" IS NOT NULL;
