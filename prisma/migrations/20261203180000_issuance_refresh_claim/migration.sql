-- packages/db issuances: a refresh consumes the mdoc it refreshes (issuer.refresh.once). The
-- request that refreshed an issued mdoc claims it here; a second refresh of the same mdoc, also a
-- concurrent one, finds the claim and is refused. A failed or abandoned refresh releases it.

-- AlterTable
ALTER TABLE "issuance" ADD COLUMN "refresh_claimed_by" TEXT;
