/**
 * Issuing: IssuerSignedItems, MSO, COSE_Sign1, IssuerSigned (ISO/IEC 18013-5:2021 9.1.2).
 * The signature comes from a `Signer` of @iaca/hsm; in production `KeyStore.signer(dsKeyUri)`,
 * so no private key is ever in memory here.
 */
import "reflect-metadata";
import { randomBytes, randomInt } from "node:crypto";
import { digest, type Signer } from "@iaca/hsm";
import { assertCanSign, type CertificateInfo, type DsRecordLike, parseCertificate } from "@iaca/pki";
import { addDuration, type HashAlgorithm, type Policy } from "@iaca/policy";
import { AsnConvert } from "@peculiar/asn1-schema";
import { PrivateKeyUsagePeriod } from "@peculiar/asn1-x509";
import { type CborValue, EmbeddedCbor, TDate } from "./cbor.ts";
import { MSO_AGE_CUT, MSO_VALIDITY_CAP, SALT_RANDOM, SIGNER_KEY_STATE } from "./controls.ts";
import { signSign1 } from "./cose.ts";
import { MdocError } from "./errors.ts";
import { msoStatus, type StatusRef } from "./status-list.ts";

/** Context handed to the key-state hook before every signature. */
export interface SigningContext {
  certificate: CertificateInfo;
  /** Serial number, lower-case hex. */
  serialNumber: string;
  at: Date;
}

/** Extra refusal rules plugged in by the issuer (e.g. pki's assertCanSign: key usage period, DB revocation state). */
export type KeyStateCheck = (ctx: SigningContext) => void | Promise<void>;

export const MDOC_DS_EKU = "1.0.18013.5.1.2";
const PKUP_OID = "2.5.29.16";

export interface DsState {
  certificate: CertificateInfo;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** Private key usage period (2.5.29.16) when present. */
  keyUsageFrom?: Date;
  keyUsageUntil?: Date;
  /** The certificate names the mdoc DS EKU (read once: the certificate does not change). */
  hasDsEku: boolean;
  /** Named curve of the DS key ("P-256" ...), "" when not an EC key. */
  curve: string;
}

const dsCache = new WeakMap<Uint8Array, DsState>();

/** Parses the DS certificate (cached per certificate buffer); a missing one is MDOC_NO_DS_CERTIFICATE. */
export function dsState(certificate: Uint8Array | undefined): DsState {
  const cached = certificate && dsCache.get(certificate);
  if (cached) return cached;
  const st = parseDsState(certificate);
  dsCache.set(certificate as Uint8Array, st);
  return st;
}

function parseDsState(certificate: Uint8Array | undefined): DsState {
  if (!certificate || certificate.length === 0)
    throw new MdocError("MDOC_NO_DS_CERTIFICATE", "no DS certificate is installed; MSO signing refused", {
      control: SIGNER_KEY_STATE.id,
    });
  let cert: CertificateInfo;
  try {
    cert = parseCertificate(certificate);
  } catch {
    throw new MdocError(
      "MDOC_NO_DS_CERTIFICATE",
      "the installed DS certificate cannot be parsed; MSO signing refused",
      {
        control: SIGNER_KEY_STATE.id,
      },
    );
  }
  const st: DsState = {
    certificate: cert,
    serialNumber: cert.serial,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    hasDsEku: cert.ekus.includes(MDOC_DS_EKU),
    curve: cert.curve ?? "",
  };
  const ext = cert.x509.getExtension(PKUP_OID);
  if (ext) {
    const p = AsnConvert.parse(ext.value, PrivateKeyUsagePeriod);
    if (p.notBefore) st.keyUsageFrom = p.notBefore;
    if (p.notAfter) st.keyUsageUntil = p.notAfter;
  }
  return st;
}

/**
 * Refuses to sign outside the DS certificate validity and private-key usage period, with a
 * revoked certificate, or when the hooks refuse (control mdoc.signer.key-state).
 */
export async function assertDsCanSign(
  ds: DsState,
  at: Date,
  hooks: { keyStateCheck?: KeyStateCheck; isRevoked?: (serialHex: string) => boolean | Promise<boolean> } = {},
): Promise<void> {
  const details = { control: SIGNER_KEY_STATE.id, serial: ds.serialNumber };
  const from = ds.keyUsageFrom && ds.keyUsageFrom > ds.notBefore ? ds.keyUsageFrom : ds.notBefore;
  const until = ds.keyUsageUntil && ds.keyUsageUntil < ds.notAfter ? ds.keyUsageUntil : ds.notAfter;
  if (at < from || at >= until)
    throw new MdocError(
      "MDOC_DS_KEY_STATE",
      `DS key ${ds.serialNumber} is outside its private-key usage period (${from.toISOString()} .. ${until.toISOString()}); MSO signing refused`,
      details,
    );
  if (!ds.hasDsEku)
    throw new MdocError(
      "MDOC_DS_KEY_STATE",
      `DS certificate ${ds.serialNumber} lacks the mdoc DS EKU; MSO signing refused`,
      details,
    );
  if (hooks.isRevoked && (await hooks.isRevoked(ds.serialNumber)))
    throw new MdocError(
      "MDOC_DS_REVOKED",
      `DS certificate ${ds.serialNumber} is revoked; MSO signing refused`,
      details,
    );
  if (hooks.keyStateCheck)
    await hooks.keyStateCheck({ certificate: ds.certificate, serialNumber: ds.serialNumber, at });
}

// ---------------------------------------------------------------- building blocks

/** A tag-24 IssuerSignedItem with a fresh 32-byte CSPRNG salt (control mdoc.salt.random). */
export function issuerSignedItem(
  digestID: number,
  elementIdentifier: string,
  elementValue: CborValue,
  salt?: Uint8Array,
): EmbeddedCbor {
  return EmbeddedCbor.wrap(itemMap(digestID, elementIdentifier, elementValue, salt ?? csprng(32)));
}

function itemMap(digestID: number, elementIdentifier: string, elementValue: CborValue, salt: Uint8Array) {
  if (salt.length < 16) throw new MdocError("MDOC_FORMAT", `salt must be at least 16 bytes (${SALT_RANDOM.id})`);
  return new Map<CborValue, CborValue>([
    ["digestID", digestID],
    ["random", salt],
    ["elementIdentifier", elementIdentifier],
    ["elementValue", elementValue],
  ]);
}

/** What an IssuerSignedItem carries: the element, and the namespace it goes in. */
export interface ItemElement {
  namespace: string;
  identifier: string;
  value: CborValue;
}

/**
 * The IssuerNameSpaces of one mdoc and the MSO valueDigests over them: a random digestID
 * permutation and a fresh 32-byte CSPRNG salt per item (mdoc.salt.random), the items encoded in
 * one allocation.
 */
export function buildNameSpaces(
  elements: readonly ItemElement[],
  digestAlgorithm: MsoInput["digestAlgorithm"],
): { nameSpaces: Map<string, EmbeddedCbor[]>; valueDigests: Map<string, Map<number, Uint8Array>> } {
  const ids = randomDigestIds(elements.length);
  const salts = csprng(32 * elements.length);
  const items = EmbeddedCbor.wrapAll(
    elements.map((e, i) => itemMap(ids[i] as number, e.identifier, e.value, salts.subarray(32 * i, 32 * i + 32))),
  );
  const nameSpaces = new Map<string, EmbeddedCbor[]>();
  const valueDigests = new Map<string, Map<number, Uint8Array>>();
  elements.forEach((e, i) => {
    let list = nameSpaces.get(e.namespace);
    let digests = valueDigests.get(e.namespace);
    if (!list || !digests) {
      list = [];
      digests = new Map();
      nameSpaces.set(e.namespace, list);
      valueDigests.set(e.namespace, digests);
    }
    const item = items[i] as EmbeddedCbor;
    list.push(item);
    digests.set(ids[i] as number, digest(digestAlgorithm, item.raw));
  });
  return { nameSpaces, valueDigests };
}

/**
 * CSPRNG bytes from node:crypto, fetched 16 KB at a time (a node crypto call costs ~10 us
 * whatever its size). Every byte is handed out once; a refill is a fresh buffer, never
 * rewritten, so earlier salts (views of it) stay as they were.
 */
const POOL_SIZE = 16 * 1024;
let pool = new Uint8Array(0);
let poolPos = 0;
function csprng(n: number): Uint8Array {
  if (n > POOL_SIZE / 4) return new Uint8Array(randomBytes(n));
  if (poolPos + n > pool.length) {
    const b = randomBytes(POOL_SIZE);
    pool = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    poolPos = 0;
  }
  const out = pool.subarray(poolPos, poolPos + n);
  poolPos += n;
  return out;
}

/** A random permutation of 0..n-1 (CSPRNG, unbiased): unique digestIDs that leak no element order. */
export function randomDigestIds(n: number): number[] {
  const ids = Array.from({ length: n }, (_, i) => i);
  const words = 2 * n;
  const pool = csprng(4 * words); // read in place: a copy would be one more off-heap buffer
  let next = 0;
  const below = (m: number) => {
    // rejection sampling over 32-bit words; refills from the CSPRNG if the pool runs out
    const limit = 0x100000000 - (0x100000000 % m);
    for (;;) {
      const k = 4 * next++;
      const w =
        next <= words
          ? ((pool[k] as number) | ((pool[k + 1] as number) << 8) | ((pool[k + 2] as number) << 16)) +
            (pool[k + 3] as number) * 0x1000000
          : randomInt(0, 0xffffffff);
      if (w < limit) return w % m;
    }
  };
  for (let i = n - 1; i > 0; i--) {
    const j = below(i + 1);
    [ids[i], ids[j]] = [ids[j] as number, ids[i] as number];
  }
  return ids;
}

export interface ValidityInfo {
  signed: Date;
  validFrom: Date;
  validUntil: Date;
  expectedUpdate?: Date;
}

export interface MsoInput {
  docType: string;
  digestAlgorithm: HashAlgorithm;
  valueDigests: Map<string, Map<number, Uint8Array>>;
  deviceKey: Map<CborValue, CborValue>;
  keyAuthorizations?: { nameSpaces?: string[]; dataElements?: Record<string, string[]> };
  validityInfo: ValidityInfo;
  /** Status list entry (MSO `status`, ISO/IEC 18013-5 second edition). */
  status?: StatusRef | undefined;
}

/** The MSO map (version "1.0"). */
export function buildMso(m: MsoInput): Map<CborValue, CborValue> {
  const dki = new Map<CborValue, CborValue>([["deviceKey", m.deviceKey]]);
  if (m.keyAuthorizations) {
    const ka = new Map<CborValue, CborValue>();
    if (m.keyAuthorizations.nameSpaces) ka.set("nameSpaces", m.keyAuthorizations.nameSpaces);
    if (m.keyAuthorizations.dataElements)
      ka.set("dataElements", new Map(Object.entries(m.keyAuthorizations.dataElements)) as Map<CborValue, CborValue>);
    dki.set("keyAuthorizations", ka);
  }
  const v = new Map<CborValue, CborValue>([
    ["signed", TDate.of(m.validityInfo.signed)],
    ["validFrom", TDate.of(m.validityInfo.validFrom)],
    ["validUntil", TDate.of(m.validityInfo.validUntil)],
  ]);
  if (m.validityInfo.expectedUpdate) v.set("expectedUpdate", TDate.of(m.validityInfo.expectedUpdate));
  const mso = new Map<CborValue, CborValue>([
    ["version", "1.0"],
    ["digestAlgorithm", m.digestAlgorithm],
    ["valueDigests", m.valueDigests as unknown as CborValue],
    ["deviceKeyInfo", dki],
    ["docType", m.docType],
    ["validityInfo", v],
  ]);
  if (m.status) mso.set("status", msoStatus(m.status));
  return mso;
}

/**
 * COSE_Sign1 over MobileSecurityObjectBytes (#6.24(bstr .cbor MSO)): protected header holds
 * only alg, unprotected x5chain (33) holds the DS certificate as a single bstr. `mso` may be a
 * map or already-encoded MSO bytes (tests craft non-conforming ones that way).
 */
export function signMso(
  mso: Map<CborValue, CborValue> | Uint8Array | EmbeddedCbor,
  signer: Signer,
  dsCertificate: Uint8Array,
): Promise<CborValue[]> {
  const payload = (
    mso instanceof EmbeddedCbor ? mso : mso instanceof Uint8Array ? new EmbeddedCbor(mso) : EmbeddedCbor.wrap(mso)
  ).raw;
  return signSign1({ payload, x5chain: [dsCertificate] }, signer);
}

export function buildIssuerSigned(
  nameSpaces: Map<string, EmbeddedCbor[]>,
  issuerAuth: CborValue[],
): Map<CborValue, CborValue> {
  return new Map<CborValue, CborValue>([
    ["nameSpaces", nameSpaces as unknown as CborValue],
    ["issuerAuth", issuerAuth],
  ]);
}

// ---------------------------------------------------------------- validity

export type ValidUntilLimit = "policy" | "ds-not-after" | "age-change";

/**
 * signed = validFrom = now (seconds); validUntil = validFrom + policy.mso.validity, cut to the DS
 * notAfter (mdoc.mso.validity-cap) and to the first instant an age-derived element changes
 * (mdoc.mso.age-cut); expectedUpdate = validFrom + policy.mso.expectedUpdate when before validUntil.
 */
export function computeValidity(
  now: Date,
  mso: Pick<Policy["mso"], "validity" | "expectedUpdate">,
  dsNotAfter: Date,
  ageChanges: Date[] = [],
): { validity: ValidityInfo; limitedBy: ValidUntilLimit } {
  const validFrom = new Date(Math.floor(now.getTime() / 1000) * 1000);
  let validUntil = addDuration(validFrom, mso.validity);
  let limitedBy: ValidUntilLimit = "policy";
  const dsCap = new Date(Math.floor(dsNotAfter.getTime() / 1000) * 1000);
  if (dsCap < validUntil) {
    validUntil = dsCap;
    limitedBy = "ds-not-after";
  }
  for (const c of ageChanges) {
    if (c > validFrom && c < validUntil) {
      validUntil = c;
      limitedBy = "age-change";
    }
  }
  if (validUntil <= validFrom)
    throw new MdocError("MDOC_DS_KEY_STATE", `no MSO validity left before the DS notAfter (${MSO_VALIDITY_CAP.id})`, {
      control: MSO_VALIDITY_CAP.id,
    });
  const validity: ValidityInfo = { signed: validFrom, validFrom, validUntil };
  if (mso.expectedUpdate) {
    const eu = addDuration(validFrom, mso.expectedUpdate);
    if (eu < validUntil) validity.expectedUpdate = eu;
  }
  void MSO_AGE_CUT;
  return { validity, limitedBy };
}

/** pki's DS usage-period rule (assertCanSign: usage period, revoked, retired) as the issuer's key-state hook. */
export function pkiKeyStateCheck(record: DsRecordLike, policy: Policy): KeyStateCheck {
  return ({ at }) => {
    assertCanSign(record, at, policy);
  };
}
