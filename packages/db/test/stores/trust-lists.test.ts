import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { describeOnBothBackends } from "./backends.ts";

const issue = (issueId: number, digest = "d".repeat(64)) => ({
  issueId,
  issuedAt: new Date(Date.UTC(2030, 0, issueId)),
  nextUpdate: new Date(Date.UTC(2030, 1, issueId)),
  contentDigest: digest,
  signerSha256: "5".repeat(64),
  cose: randomBytes(40),
  sha256: "c".repeat(64),
});

describeOnBothBackends("TrustListStore", (db) => {
  const store = () => db().stores.trustLists;

  it("the highest issue is the latest; a second save of one issue id keeps the first", async () => {
    expect(await store().latest()).toBeUndefined();
    expect(await store().latestIssueId()).toBeUndefined();
    const first = issue(1);
    await store().save(first);
    await store().save(issue(2, "e".repeat(64)));
    await store().save({ ...issue(2, "f".repeat(64)) });
    const latest = await store().latest();
    expect(latest).toMatchObject({ issueId: 2, contentDigest: "e".repeat(64), issuedAt: issue(2).issuedAt });
    expect(latest!.cose).toBeInstanceOf(Uint8Array);
    expect(await store().latestIssueId()).toBe(2);
  });
});
