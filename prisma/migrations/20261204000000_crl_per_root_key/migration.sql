-- packages/db certificates: a CRL and an ARL per root key (pki.crl.per-key). Each IACA key signs
-- the lists for the certificates it signed, at its own URL, for as long as any of them is valid;
-- root_gen says which key. Lists stored before this change were all signed by generation 1 or by
-- the current key for everything; they keep generation 1.

-- AlterTable
ALTER TABLE "pki_crl" ADD COLUMN "root_gen" INTEGER NOT NULL DEFAULT 1;
