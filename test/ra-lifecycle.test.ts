// Refresh, revocation, idempotency and the no-PII-at-rest rule, over mTLS on loopback.
import { decodeCbor, type EmbeddedCbor, get, verifyMdoc } from "@iaca/mdoc";
import type { Pem } from "@iaca/ra";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  call,
  type DeviceKey,
  deviceKey,
  issueBody,
  nonceFor,
  person,
  personalValues,
  proof,
  type Stack,
  startStack,
  type TestPerson,
} from "./support/stack.ts";

const DAY = 86_400_000;
let stack: Stack;
let wallet: Pem;
// turns 20 in 20 days (JST dates): the first MSO is cut at the birthday, the refresh says age_over_20
const soon = new Date(Date.now() + 9 * 3600_000 + 20 * DAY);
const bob: TestPerson = {
  ...person(7),
  birthDate: `${soon.getUTCFullYear() - 20}-${String(soon.getUTCMonth() + 1).padStart(2, "0")}-${String(soon.getUTCDate()).padStart(2, "0")}`,
};
const carol = person(8);

interface Issued {
  requestId: string;
  credentials: { id: string; issuerSigned: string; validUntil: string }[];
  refreshedFrom?: string;
}

beforeAll(async () => {
  stack = await startStack();
  wallet = await stack.addClient("wallet-life", ["issue", "refresh", "revoke"]);
});
afterAll(async () => {
  await stack?.close();
});

function element(issuerSigned: string, id: string): unknown {
  const ns = get(decodeCbor(Buffer.from(issuerSigned, "base64url")), "nameSpaces") as Map<string, EmbeddedCbor[]>;
  for (const items of ns.values())
    for (const i of items) {
      const m = i.decode() as Map<string, unknown>;
      if (m.get("elementIdentifier") === id) return m.get("elementValue");
    }
  return undefined;
}

/** The device key each issued credential is bound to (by credential id), for the holder proof of a refresh. */
const holderKeys = new Map<string, DeviceKey>();
function remember(issued: Issued, keys: DeviceKey[]): Issued {
  for (const [i, c] of issued.credentials.entries()) holderKeys.set(c.issuerSigned, keys[i]!);
  return issued;
}

async function refresh(issuerSigned: string, n = 1, key?: string, holder?: DeviceKey) {
  const nonce = await nonceFor(stack, wallet);
  const keys = await Promise.all(Array.from({ length: n }, () => deviceKey()));
  const jwt = await Promise.all(keys.map((k) => proof(k, nonce)));
  const holderKey = holder ?? holderKeys.get(issuerSigned) ?? (await deviceKey());
  return call<Issued & { type?: string }>(
    stack,
    wallet,
    "POST",
    "/v1/credentials/refresh",
    { issuerSigned, holderProof: await proof(holderKey, nonce), proofs: { jwt } },
    key ? { "idempotency-key": key } : {},
  );
}

describe("issuer.refresh", () => {
  let first: Issued;

  it("issues an mdoc whose validity is cut at the next age change", async () => {
    const { body, keys } = await issueBody(stack, wallet, bob, 1);
    const r = await call<Issued>(stack, wallet, "POST", "/v1/credentials", body);
    expect(r.status, r.text).toBe(201);
    first = remember(r.json, keys);
    expect(element(first.credentials[0]!.issuerSigned, "age_over_20")).toBe(false);
    expect(new Date(first.credentials[0]!.validUntil).getTime()).toBeLessThan(Date.now() + 21 * DAY);
  });

  it("issuer.refresh: refused before the refresh window opens", async () => {
    const r = await refresh(first.credentials[0]!.issuerSigned);
    expect(r.status).toBe(422);
    expect(r.json.type).toBe("urn:iaca:problem:refresh-outside-window");
    // the window's bounds, as docs/api.md promises, around the mdoc's validUntil
    const { opens, closes } = r.json as unknown as { opens: string; closes: string };
    const until = new Date(first.credentials[0]!.validUntil).getTime();
    expect(new Date(opens).getTime()).toBeLessThan(until);
    expect(new Date(closes).getTime()).toBeGreaterThan(until);
  });

  it("issuer.refresh: inside the window a fresh batch is issued, age items derived again", async () => {
    stack.clock.offsetMs = 21 * DAY; // just past the birthday, within validUntil + refreshWindow
    try {
      const r = await refresh(first.credentials[0]!.issuerSigned, 3);
      expect(r.status, r.text).toBe(201);
      expect(r.json.credentials).toHaveLength(3);
      expect(r.json.refreshedFrom).toBe(first.credentials[0]!.id);
      for (const c of r.json.credentials) {
        expect(element(c.issuerSigned, "age_over_20")).toBe(true);
        expect(element(c.issuerSigned, "full_name_unicode")).toBe(`${bob.familyName} ${bob.givenName}`);
        const v = await verifyMdoc(c.issuerSigned, {
          trustAnchors: [stack.pki.iacaDer],
          at: new Date(Date.now() + 21 * DAY),
        });
        expect(v.ok, JSON.stringify(v.checks.filter((x) => x.status === "FAIL"))).toBe(true);
      }
      const rows = await stack.fresh.db.sql.query<{ refreshed_from: string }>(
        `SELECT refreshed_from FROM issuance WHERE request_id = $1`,
        [r.json.requestId],
      );
      expect(rows.map((x) => x.refreshed_from)).toEqual(Array(3).fill(first.credentials[0]!.id));
    } finally {
      stack.clock.offsetMs = 0;
    }
  });

  it("issuer.refresh: a refresh consumes the mdoc; a second one, also a concurrent one, is refused (409)", async () => {
    const { body, keys } = await issueBody(stack, wallet, bob, 1);
    const issued = await call<Issued>(stack, wallet, "POST", "/v1/credentials", body);
    expect(issued.status, issued.text).toBe(201);
    const mdoc = remember(issued.json, keys).credentials[0]!;
    stack.clock.offsetMs = 21 * DAY;
    try {
      const both = await Promise.all([refresh(mdoc.issuerSigned), refresh(mdoc.issuerSigned)]);
      expect(both.map((r) => r.status).sort()).toEqual([201, 409]);
      expect(both.find((r) => r.status === 409)!.json.type).toBe("urn:iaca:problem:credential-already-refreshed");
      const again = await refresh(mdoc.issuerSigned);
      expect(again.status).toBe(409);
      // the refused attempts left no pending or issued records behind
      const rows = await stack.fresh.db.sql.query<{ state: string }>(
        `SELECT state FROM issuance WHERE refreshed_from = $1`,
        [mdoc.id],
      );
      expect(rows.filter((r) => r.state === "issued")).toHaveLength(1);
      expect(rows.filter((r) => r.state === "pending")).toHaveLength(0);
    } finally {
      stack.clock.offsetMs = 0;
    }
  });

  it("issuer.refresh: refused after the window has closed", async () => {
    stack.clock.offsetMs = 40 * DAY;
    try {
      const r = await refresh(first.credentials[0]!.issuerSigned);
      expect(r.status).toBe(422);
      expect(r.json.type).toBe("urn:iaca:problem:refresh-outside-window");
    } finally {
      stack.clock.offsetMs = 0;
    }
  });

  it("issuer.refresh: only the holder of the mdoc's device key may refresh it (another key: holder-mismatch)", async () => {
    stack.clock.offsetMs = 18 * DAY;
    try {
      const stranger = await refresh(first.credentials[0]!.issuerSigned, 1, undefined, await deviceKey());
      expect(stranger.status).toBe(422);
      expect(stranger.json.type).toBe("urn:iaca:problem:holder-mismatch");
      // a holder proof over another nonce is refused before the issuer is asked
      const nonce = await nonceFor(stack, wallet);
      const other = await nonceFor(stack, wallet);
      const dk = await deviceKey();
      const r = await call<{ type: string; detail: string }>(stack, wallet, "POST", "/v1/credentials/refresh", {
        issuerSigned: first.credentials[0]!.issuerSigned,
        holderProof: await proof(holderKeys.get(first.credentials[0]!.issuerSigned)!, other),
        proofs: { jwt: [await proof(dk, nonce)] },
      });
      expect(r.status).toBe(400);
      expect(r.json.type).toBe("urn:iaca:problem:invalid-proof");
      expect(r.json.detail).toContain("holderProof");
    } finally {
      stack.clock.offsetMs = 0;
    }
  });

  it("issuer.refresh: a tampered mdoc is refused as invalid-credential", async () => {
    const bytes = Buffer.from(first.credentials[0]!.issuerSigned, "base64url");
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0x01; // inside the last element (portrait)
    stack.clock.offsetMs = 18 * DAY;
    try {
      const r = await refresh(
        bytes.toString("base64url"),
        1,
        undefined,
        holderKeys.get(first.credentials[0]!.issuerSigned),
      );
      expect(r.status).toBe(400);
      expect(r.json.type).toBe("urn:iaca:problem:invalid-credential");
    } finally {
      stack.clock.offsetMs = 0;
    }
  });
});

describe("issuer.revocation / ra.revocation.request", () => {
  let carolIssued: Issued;

  it("ra.revocation.request / issuer.refresh.revoked: one credential is revoked with a reason; GET shows it; refresh is then refused", async () => {
    const { body, keys } = await issueBody(stack, wallet, carol, 2);
    carolIssued = remember((await call<Issued>(stack, wallet, "POST", "/v1/credentials", body)).json, keys);
    const id = carolIssued.credentials[0]!.id;
    const r = await call<{ revoked: string[] }>(stack, wallet, "POST", `/v1/credentials/${id}/revoke`, {
      reason: "device-lost",
    });
    expect(r.status).toBe(200);
    expect(r.json.revoked).toEqual([id]);
    const again = await call<{ alreadyRevoked: string[] }>(stack, wallet, "POST", `/v1/credentials/${id}/revoke`, {
      reason: "device-lost",
    });
    expect(again.json.alreadyRevoked).toEqual([id]);
    const st = await call<{ state: string; revocationReason: string }>(stack, wallet, "GET", `/v1/credentials/${id}`);
    expect(st.json).toMatchObject({ state: "revoked", revocationReason: "device-lost" });
    stack.clock.offsetMs = 25 * DAY;
    try {
      const ref = await refresh(carolIssued.credentials[0]!.issuerSigned);
      expect(ref.status).toBe(422);
      expect(ref.json.type).toBe("urn:iaca:problem:credential-revoked");
    } finally {
      stack.clock.offsetMs = 0;
    }
  });

  it("privacy.holder-hmac: all credentials of a holder are revoked by My Number (matched by HMAC)", async () => {
    const r = await call<{ revoked: string[]; alreadyRevoked: string[] }>(stack, wallet, "POST", "/v1/holders/revoke", {
      myNumber: carol.individualNumber,
      reason: "deceased",
    });
    expect(r.status).toBe(200);
    expect(r.json.revoked).toEqual([carolIssued.credentials[1]!.id]);
    expect(r.json.alreadyRevoked).toEqual([carolIssued.credentials[0]!.id]);
    const refs = await stack.fresh.db.sql.query<{ holder_ref: string }>(
      `SELECT DISTINCT holder_ref FROM issuance WHERE request_id = $1`,
      [carolIssued.requestId],
    );
    expect(refs).toHaveLength(1);
    expect(refs[0]!.holder_ref).toMatch(/^[0-9a-f]{64}$/);
    expect(refs[0]!.holder_ref).not.toContain(carol.individualNumber);
  });

  it("unknown credential id gives 404", async () => {
    const r = await call<{ type: string }>(
      stack,
      wallet,
      "POST",
      "/v1/credentials/00000000-0000-4000-8000-000000000000/revoke",
      {
        reason: "other",
      },
    );
    expect(r.status).toBe(404);
    expect(r.json.type).toBe("urn:iaca:problem:not-found");
  });
});

describe("ra.idempotency", () => {
  it("ra.idempotency: the same key and body replay the same response, encrypted at rest", async () => {
    const { body } = await issueBody(stack, wallet, person(9), 2);
    const h = { "idempotency-key": "life-key-000001" };
    const a = await call<Issued>(stack, wallet, "POST", "/v1/credentials", body, h);
    const b = await call<Issued>(stack, wallet, "POST", "/v1/credentials", body, h);
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers["idempotent-replayed"]).toBe("true");
    expect(b.json).toEqual(a.json);
    const [row] = await stack.fresh.db.sql.query<{ response: Buffer }>(
      `SELECT response FROM ra_request WHERE idempotency_key = $1`,
      [h["idempotency-key"]],
    );
    expect(row!.response.toString("latin1")).not.toContain(a.json.credentials[0]!.id);
  });

  it("ra.idempotency: concurrent retries with one key give one batch of signatures and one answer", async () => {
    const { body } = await issueBody(stack, wallet, person(10), 3);
    const h = { "idempotency-key": "life-key-concurrent" };
    const all = await Promise.all(
      Array.from({ length: 6 }, () => call<Issued>(stack, wallet, "POST", "/v1/credentials", body, h)),
    );
    const ok = all.filter((r) => r.status === 201);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const r of all) expect([201, 409]).toContain(r.status);
    const ids = new Set(ok.map((r) => r.json.credentials.map((c) => c.id).join(",")));
    expect(ids.size).toBe(1);
    const final = await call<Issued>(stack, wallet, "POST", "/v1/credentials", body, h);
    expect(final.json.credentials.map((c) => c.id).join(",")).toBe([...ids][0]);
    const rows = await stack.fresh.db.sql.query(`SELECT id FROM issuance WHERE request_id = $1`, [
      final.json.requestId,
    ]);
    expect(rows).toHaveLength(3);
  });

  it("ra.idempotency: a request that failed may be retried with the same key and body", async () => {
    const { body } = await issueBody(stack, wallet, person(11), 1);
    const h = { "idempotency-key": "life-key-after-503" };
    stack.source.revoked.add(stack.ds.record.serial);
    const failed = await call<{ type: string }>(stack, wallet, "POST", "/v1/credentials", body, h);
    stack.source.revoked.clear();
    expect(failed.status).toBe(503);
    const retried = await call<Issued>(stack, wallet, "POST", "/v1/credentials", body, h);
    expect(retried.status, retried.text).toBe(201);
  });
});

describe("privacy", () => {
  it("privacy.no-pii-at-rest: no table holds a test person's name, address, birth date, My Number or portrait", async () => {
    const tables = await stack.fresh.db.sql.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(["issuance", "ra_request", "audit_event"]));
    for (const { table_name } of tables) {
      const rows = await stack.fresh.db.sql.query<{ t: string }>(`SELECT t::text AS t FROM "${table_name}" t`);
      const dump = rows.map((r) => r.t).join("\n");
      for (const p of [bob, carol, person(9), person(10), person(11)])
        for (const v of [...personalValues(p), p.birthDate.replaceAll("-", "")])
          expect(dump.includes(v), `${table_name} holds ${v}`).toBe(false);
    }
  });

  it("privacy.no-pii-in-logs: no log line carries a test person's data", () => {
    for (const p of [bob, carol, person(9), person(10), person(11)])
      for (const v of personalValues(p))
        for (const line of stack.logs) expect(line.includes(v), `${v} in log`).toBe(false);
  });
});
