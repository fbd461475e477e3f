// RA + issuer end to end over mutual TLS on loopback: real SoftHSM, real PostgreSQL.
import { createHash } from "node:crypto";
import { DataItem, DeviceResponse, parse, Verifier } from "@auth0/mdl";
import { cborDecode, cborEncode } from "@auth0/mdl/lib/cbor/index.js";
import { decodeCbor, type EmbeddedCbor, get, verifyMdoc } from "@iaca/mdoc";
import type { Pem } from "@iaca/ra";
import { type CryptoKey, exportJWK, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  call,
  deviceKey,
  issueBody,
  nonceFor,
  person,
  personalValues,
  proof,
  type Stack,
  startStack,
} from "./support/stack.ts";

let stack: Stack;
let wallet: Pem;
const people = [person(1), person(2)];

beforeAll(async () => {
  stack = await startStack();
  wallet = await stack.addClient("wallet-a", ["issue", "refresh", "revoke"]);
});
afterAll(async () => {
  await stack?.close();
});

interface IssueResponse {
  requestId: string;
  dsCertificateSerial: string;
  credentials: {
    id: string;
    issuerSigned: string;
    deviceKeyThumbprint: string;
    validFrom: string;
    validUntil: string;
  }[];
}

/** A JPEG 2000 signature box and a few bytes: seed-2024 accepts JPEG 2000 portraits only. */
const JP2 = Buffer.concat([Buffer.from("0000000c6a5020200d0a870a", "hex"), Buffer.alloc(40, 1)]).toString("base64");

function msoOf(issuerSigned: string) {
  const root = decodeCbor(Buffer.from(issuerSigned, "base64url"));
  const auth = get(root, "issuerAuth") as unknown[];
  const payload = auth[2] as Uint8Array;
  const mso = (decodeCbor(payload) as EmbeddedCbor).decode() as Map<string, unknown>;
  const ns = get(root, "nameSpaces") as Map<string, EmbeddedCbor[]>;
  const items = [...ns.values()].flat().map((i) => i.decode() as Map<string, unknown>);
  return { mso, items, payload };
}

describe("issuance", () => {
  let batch: IssueResponse;
  let keys: Awaited<ReturnType<typeof issueBody>>["keys"];

  it("ra.proof.device-key: a batch of 10 is issued, one mdoc per proven device key", async () => {
    const req = await issueBody(stack, wallet, people[0]!, 10);
    keys = req.keys;
    const r = await call<IssueResponse>(stack, wallet, "POST", "/v1/credentials", req.body);
    expect(r.status, r.text).toBe(201);
    batch = r.json;
    expect(batch.credentials).toHaveLength(10);
  });

  it("each mdoc verifies with the reference verifier against our IACA", async () => {
    for (const c of batch.credentials) {
      const v = await verifyMdoc(c.issuerSigned, { trustAnchors: [stack.pki.iacaDer] });
      expect(v.ok, JSON.stringify(v.checks.filter((x) => x.status === "FAIL"))).toBe(true);
      expect(v.documents[0]?.profile).toBe("interop");
    }
  });

  it("each mdoc verifies with @auth0/mdl, presented with its own device key", async () => {
    const verifier = new Verifier([stack.pki.iacaPem]);
    const transcript = cborEncode(DataItem.fromData([null, null, ["iaca-test"]]));
    for (const [i, c] of batch.credentials.entries()) {
      const doc = cborEncode({
        version: "1.0",
        documents: [{ docType: "org.iso.23220.1.jp.mnc", issuerSigned: decodeForAuth0(c.issuerSigned) }],
        status: 0,
      });
      const mdoc = parse(doc);
      const pd = {
        id: "pd",
        input_descriptors: [
          {
            id: "org.iso.23220.1.jp.mnc",
            format: { mso_mdoc: { alg: ["ES256"] } },
            constraints: {
              limit_disclosure: "required",
              fields: [
                { path: ["$['org.iso.23220.1.jp']['full_name_unicode']"], intent_to_retain: false },
                { path: ["$['org.iso.23220.1']['age_over_20']"], intent_to_retain: false },
              ],
            },
          },
        ],
      };
      const jwk = { ...keys[i]!.jwk, d: (await exportPrivate(keys[i]!)).d };
      const presented = await DeviceResponse.from(mdoc)
        .usingPresentationDefinition(pd)
        .usingSessionTranscriptBytes(transcript)
        .authenticateWithSignature(jwk as never, "ES256")
        .sign();
      const verified = await verifier.verify(presented.encode(), { encodedSessionTranscript: transcript });
      expect(verified.documents).toHaveLength(1);
    }
  });

  it("the 10 MSOs share no salt, digest or device key (unlinkable batch)", () => {
    const salts = new Set<string>();
    const digests = new Set<string>();
    const deviceKeys = new Set<string>();
    let items = 0;
    for (const c of batch.credentials) {
      const { mso, items: its } = msoOf(c.issuerSigned);
      for (const it of its) {
        salts.add(Buffer.from(it.get("random") as Uint8Array).toString("hex"));
        items++;
      }
      const vd = mso.get("valueDigests") as Map<string, Map<number, Uint8Array>>;
      for (const m of vd.values()) for (const d of m.values()) digests.add(Buffer.from(d).toString("hex"));
      const dk = (mso.get("deviceKeyInfo") as Map<string, unknown>).get("deviceKey") as Map<number, Uint8Array>;
      deviceKeys.add(Buffer.from(dk.get(-2)!).toString("hex"));
    }
    expect(salts.size).toBe(items);
    expect(digests.size).toBe(items);
    expect(deviceKeys.size).toBe(10);
    // digestIDs are a random permutation per mdoc: the element order differs between at least two mdocs
    const orders = batch.credentials.map((c) =>
      msoOf(c.issuerSigned)
        .items.map((i) => `${i.get("elementIdentifier")}=${i.get("digestID")}`)
        .join(","),
    );
    expect(new Set(orders).size).toBeGreaterThan(1);
  });

  it("issuer.record-before-sign / issuer.issuance-audited: every credential has an issued record with its MSO hash, thumbprint and DS serial", async () => {
    const rows = await stack.fresh.db.sql.query<Record<string, unknown>>(
      `SELECT * FROM issuance WHERE request_id = $1 ORDER BY batch_index`,
      [batch.requestId],
    );
    expect(rows).toHaveLength(10);
    for (const [i, row] of rows.entries()) {
      const c = batch.credentials.find((x) => x.id === row.id)!;
      expect(row.state).toBe("issued");
      expect(row.mso_sha256).toBe(createHash("sha256").update(msoOf(c.issuerSigned).payload).digest("hex"));
      expect(row.device_key_thumbprint).toBe(c.deviceKeyThumbprint);
      expect(row.ds_cert_serial).toBe(stack.ds.record.serial);
      expect(row.batch_index).toBe(i);
    }
    const audit = await stack.fresh.db.sql.query<{ action: string; targets: string[] }>(
      `SELECT action, targets FROM audit_event WHERE action = 'mdoc.issue.batch'`,
    );
    expect(audit.some((a) => a.targets[0] === batch.requestId)).toBe(true);
  });

  it("ra.status: GET /v1/credentials/{id} returns state and validity", async () => {
    const id = batch.credentials[0]!.id;
    const r = await call<{ state: string; validUntil: string }>(stack, wallet, "GET", `/v1/credentials/${id}`);
    expect(r.status).toBe(200);
    expect(r.json.state).toBe("valid");
    expect(r.json.validUntil).toBe(batch.credentials[0]!.validUntil);
  });

  it("the seed-2024 profile is issued and verifies too", async () => {
    const req = await issueBody(stack, wallet, { ...people[1]!, portrait: JP2 }, 2, "seed-2024");
    const r = await call<IssueResponse & { profile: string }>(stack, wallet, "POST", "/v1/credentials", req.body);
    expect(r.status, r.text).toBe(201);
    expect(r.json.profile).toBe("seed-2024");
    for (const c of r.json.credentials) {
      const v = await verifyMdoc(c.issuerSigned, { trustAnchors: [stack.pki.iacaDer] });
      expect(v.ok, JSON.stringify(v.checks.filter((x) => x.status === "FAIL"))).toBe(true);
      expect(v.documents[0]?.profile).toBe("seed-2024");
    }
  });

  it("ra.proof.device-key: a replayed proof is refused", async () => {
    const nonce = await nonceFor(stack, wallet);
    const dk = await deviceKey();
    const body = { holder: people[1], proofs: { jwt: [await proof(dk, nonce)] } };
    expect((await call(stack, wallet, "POST", "/v1/credentials", body)).status).toBe(201);
    const again = await call<{ type: string }>(stack, wallet, "POST", "/v1/credentials", body);
    expect(again.status).toBe(400);
    expect(again.json.type).toBe("urn:iaca:problem:proof-replayed");
  });

  it("privacy.no-pii-in-logs: no log line carries a test person's data", () => {
    expect(stack.logs.length).toBeGreaterThan(0);
    for (const p of people)
      for (const v of personalValues(p))
        for (const line of stack.logs) expect(line.includes(v), `${v} in log`).toBe(false);
  });
});

/** @auth0/mdl's parser wants the IssuerSigned as its own CBOR objects. */
function decodeForAuth0(b64: string): unknown {
  return cborDecode(Buffer.from(b64, "base64url"));
}

async function exportPrivate(k: { privateKey: CryptoKey }): Promise<JWK> {
  return exportJWK(k.privateKey);
}
