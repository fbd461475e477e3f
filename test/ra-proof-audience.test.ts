// ra.proof.audience (issue 16 item 8): with a credential issuer identifier configured, a proof JWT
// must name it as `aud`; a proof made for another issuer, or without aud, is refused and leaves
// no issuance row.
import type { Pem } from "@iaca/ra";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, deviceKey, nonceFor, person, proof, type Stack, startStack } from "./support/stack.ts";

const ISSUER = "https://ra.example.jp";
let stack: Stack;
let wallet: Pem;

beforeAll(async () => {
  stack = await startStack({ credentialIssuer: ISSUER });
  wallet = await stack.addClient("wallet-aud", ["issue"]);
});
afterAll(async () => {
  await stack?.close();
});

const rows = async () =>
  Number((await stack.fresh.db.sql.query<{ n: string }>("SELECT count(*)::text AS n FROM issuance"))[0]?.n);

async function issueWith(aud: string | undefined) {
  const nonce = await nonceFor(stack, wallet);
  const jwt = await proof(await deviceKey(), nonce, aud === undefined ? {} : { aud });
  return call(stack, wallet, "POST", "/v1/credentials", {
    profile: "interop",
    holder: person(11),
    proofs: { jwt: [jwt] },
  });
}

describe("ra.proof.audience", () => {
  it("ra.proof.audience: a proof without aud or for another issuer is 400 invalid-proof; the configured one is issued", async () => {
    for (const aud of [undefined, "https://other.example.jp", `${ISSUER}/`]) {
      const before = await rows();
      const r = await issueWith(aud);
      expect(r.status, r.text).toBe(400);
      expect((r.json as { type: string }).type).toBe("urn:iaca:problem:invalid-proof");
      expect(r.text).toContain("claim aud");
      expect(await rows()).toBe(before);
    }
    const ok = await issueWith(ISSUER);
    expect(ok.status, ok.text).toBe(201);
  });
});
