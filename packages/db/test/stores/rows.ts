// A pending issuance row for the store tests: every column filled with a harmless value.
import { randomUUID } from "node:crypto";
import type { PendingIssuance } from "@iaca/db";

export function pendingRow(requestId: string, at: Date, o: Partial<PendingIssuance> = {}): PendingIssuance {
  return {
    id: randomUUID(),
    requestId,
    batchIndex: 0,
    clientId: "wallet-a",
    profile: "interop",
    docType: "org.iso.23220.1.jp.mnc",
    dsCertSerial: "0a0b",
    msoSha256: randomUUID().replaceAll("-", "").padEnd(64, "0"),
    deviceKeyThumbprint: "thumb",
    holderRef: "h".repeat(64),
    validFrom: at,
    validUntil: at,
    refreshedFrom: null,
    createdAt: at,
    statusList: null,
    statusIdx: null,
    ...o,
  };
}
