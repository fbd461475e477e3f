/**
 * The one issuance pipeline: validity → compose every MSO of a batch → record → sign → complete.
 * The issuer service (with its stores as the recorder), `iaca mdoc issue`, the demo, the simulation
 * and the benchmarks all issue through `issueBatch`; what differs between them is what they pass
 * in (a recorder or none, the DS signer, test-only faults), not the steps.
 */
import { hash as oneShotHash, randomUUID } from "node:crypto";
import type { Signer } from "@iaca/hsm";
import type { AuditSink, Policy } from "@iaca/policy";
import { type CborValue, EmbeddedCbor, encodeCbor } from "./cbor.ts";
import { SIGNER_KEY_STATE } from "./controls.ts";
import { checkCoseKey, coseKeyFromJwk } from "./cose.ts";
import { MdocError } from "./errors.ts";
import {
  assertDsCanSign,
  buildIssuerSigned,
  buildMso,
  buildNameSpaces,
  computeValidity,
  dsState,
  type ItemElement,
  type KeyStateCheck,
  type MsoInput,
  signMso,
  type ValidityInfo,
  type ValidUntilLimit,
} from "./issue.ts";
import { type DoctypeProfile, deriveElements, getProfile, validateInput } from "./profiles.ts";
import type { AllocatedStatus, StatusRef } from "./status-list.ts";

/** One mdoc of a batch, composed (salts, digests, MSO) but not yet signed. */
export interface ComposedMdoc {
  id: string;
  /** Position in the batch (the order of the device keys). */
  index: number;
  nameSpaces: Map<string, EmbeddedCbor[]>;
  mso: EmbeddedCbor;
  /** SHA-256 of the MSO payload (hex): what the issuance record keys on. */
  msoSha256: string;
  /** The status list entry the MSO's `status` points at, when the batch has them. */
  status?: AllocatedStatus;
}

/** A composed mdoc with its signature: IssuerSigned in deterministic CBOR. */
export interface SignedMdoc extends ComposedMdoc {
  issuerSigned: Uint8Array;
}

/**
 * Durable bookkeeping around the signature (issuer.record-before-sign): `record` must have
 * committed before the first signature is asked for; `fail` runs when signing fails.
 */
export interface IssuanceRecorder {
  record(docs: readonly ComposedMdoc[], validity: ValidityInfo): Promise<void>;
  complete(docs: readonly SignedMdoc[], signedAt: Date): Promise<void>;
  fail(docs: readonly ComposedMdoc[], error: unknown): Promise<void>;
}

/** Test-only fault injection points; production callers never pass them. */
export interface PipelineFaults {
  afterRecord?(): void;
  afterSign?(): void;
}

export interface BatchRequest {
  docType: string;
  elements: readonly ItemElement[];
  /** Instants an age-derived element changes: validUntil is cut to the first one (mdoc.mso.age-cut). */
  ageChanges?: readonly Date[];
  /** One COSE_Key per mdoc of the batch. */
  deviceKeys: readonly Map<CborValue, CborValue>[];
  keyAuthorizations?: MsoInput["keyAuthorizations"];
}

export interface BatchSigning {
  /** The DS key (KeyStore.signer, possibly wrapped with per-signature key-state checks). */
  signer: Signer;
  dsCertificate: Uint8Array;
  dsNotAfter: Date;
  mso: Pick<Policy["mso"], "validity" | "expectedUpdate" | "digestAlgorithm">;
  now: Date;
  recorder?: IssuanceRecorder;
  /** Hands out one status list entry per mdoc (each MSO then carries `status`); none: no `status`. */
  allocateStatus?: (count: number) => Promise<AllocatedStatus[]>;
  faults?: PipelineFaults;
  clock?: () => Date;
}

export interface IssuedBatch {
  validity: ValidityInfo;
  validUntilLimitedBy: ValidUntilLimit;
  mdocs: SignedMdoc[];
}

/** Every MSO of the batch: fresh salts and a random digestID permutation per mdoc (mdoc.salt.random). */
function composeBatch(
  req: BatchRequest,
  validity: ValidityInfo,
  digestAlgorithm: MsoInput["digestAlgorithm"],
  statuses: readonly AllocatedStatus[] | undefined,
): ComposedMdoc[] {
  return req.deviceKeys.map((deviceKey, index) => {
    const status = statuses?.[index];
    const { nameSpaces, valueDigests } = buildNameSpaces(req.elements, digestAlgorithm);
    const mso = EmbeddedCbor.wrap(
      buildMso({
        docType: req.docType,
        digestAlgorithm,
        valueDigests,
        deviceKey,
        keyAuthorizations: req.keyAuthorizations,
        validityInfo: validity,
        status,
      }),
    );
    const doc: ComposedMdoc = {
      id: randomUUID(),
      index,
      nameSpaces,
      mso,
      msoSha256: oneShotHash("sha256", mso.raw, "hex"),
    };
    if (status) doc.status = status;
    return doc;
  });
}

async function signComposed(docs: readonly ComposedMdoc[], s: BatchSigning): Promise<SignedMdoc[]> {
  return Promise.all(
    docs.map(async (d) => {
      const issuerAuth = await signMso(d.mso, s.signer, s.dsCertificate);
      s.faults?.afterSign?.();
      return { ...d, issuerSigned: encodeCbor(buildIssuerSigned(d.nameSpaces, issuerAuth)) };
    }),
  );
}

/**
 * Issues a batch: computes the validity, composes every MSO, has the recorder commit the records,
 * then signs (issuer.record-before-sign) and completes. A signing failure marks the records failed
 * and is rethrown unchanged.
 */
export async function issueBatch(req: BatchRequest, s: BatchSigning): Promise<IssuedBatch> {
  // policy validity, cut to the DS notAfter and to the first age change
  const { validity, limitedBy } = computeValidity(s.now, s.mso, s.dsNotAfter, [...(req.ageChanges ?? [])]);
  const statuses = await s.allocateStatus?.(req.deviceKeys.length);
  const docs = composeBatch(req, validity, s.mso.digestAlgorithm, statuses);
  await s.recorder?.record(docs, validity);
  s.faults?.afterRecord?.();
  let mdocs: SignedMdoc[];
  try {
    mdocs = await signComposed(docs, s);
  } catch (e) {
    await s.recorder?.fail(docs, e).catch(() => undefined);
    throw e;
  }
  await s.recorder?.complete(mdocs, (s.clock ?? (() => new Date()))());
  return { validity, validUntilLimitedBy: limitedBy, mdocs };
}

// ---------------------------------------------------------------- one mdoc, no records (`iaca mdoc issue`, the demo)

export interface IssueMdocOptions {
  /** Profile id ("interop", "seed-2024", a registered one) or a profile object. */
  profile: string | DoctypeProfile;
  /** Structured input (names, date of birth, address, sex, codes, portrait bytes). */
  input: unknown;
  /** Holder's device key: COSE_Key map or public JWK. */
  deviceKey: Map<CborValue, CborValue> | Record<string, unknown>;
  /** The DS key (KeyStore.signer) and its certificate, which goes into x5chain. */
  signer: Signer;
  dsCertificate: Uint8Array;
  /** policy.mso (validity, expectedUpdate, digestAlgorithm). */
  mso: Pick<Policy["mso"], "validity" | "expectedUpdate" | "digestAlgorithm">;
  now?: Date;
  keyStateCheck?: KeyStateCheck;
  isRevoked?: (serialHex: string) => boolean | Promise<boolean>;
  keyAuthorizations?: MsoInput["keyAuthorizations"];
  /** A status list entry the caller allocated (the issuer service allocates its own per batch). */
  status?: StatusRef;
  /** Records the signing decision (no personal data: profile id, DS serial, validity only). */
  audit?: AuditSink;
  actor?: string;
}

export interface IssuedMdoc {
  /** IssuerSigned, deterministic CBOR. */
  issuerSigned: Uint8Array;
  docType: string;
  profile: string;
  validity: ValidityInfo;
  validUntilLimitedBy: ValidUntilLimit;
  dsSerial: string;
}

/** Validates input, derives elements, builds and signs the MSO; refuses per mdoc.signer.key-state. */
export async function issueMdoc(o: IssueMdocOptions): Promise<IssuedMdoc> {
  const now = o.now ?? new Date();
  const profile = typeof o.profile === "string" ? getProfile(o.profile) : o.profile;
  const ds = dsState(o.dsCertificate);
  try {
    await assertDsCanSign(ds, now, { keyStateCheck: o.keyStateCheck, isRevoked: o.isRevoked });
    if (ds.curve !== o.signer.algorithm.curve)
      throw new MdocError(
        "MDOC_DS_KEY_STATE",
        `signer alg ${o.signer.algorithm.cose} does not match the DS key curve ${ds.curve}`,
      );
  } catch (e) {
    await o.audit?.append({
      actor: o.actor ?? "svc:issuer",
      action: "mdoc.mso.sign",
      targets: [ds.serialNumber],
      outcome: "denied",
      clause: SIGNER_KEY_STATE.clause,
      details: { code: (e as MdocError).code, profile: profile.id },
    });
    throw e;
  }
  let deviceKey: Map<CborValue, CborValue>;
  if (o.deviceKey instanceof Map) {
    checkCoseKey(o.deviceKey);
    deviceKey = o.deviceKey;
  } else deviceKey = coseKeyFromJwk(o.deviceKey) as Map<CborValue, CborValue>;
  const input = validateInput(profile, o.input, now);
  const elements = deriveElements(profile, input, now);
  const batch = await issueBatch(
    {
      docType: profile.docType,
      elements,
      ageChanges: elements.flatMap((e) => (e.changesAt ? [e.changesAt] : [])),
      deviceKeys: [deviceKey],
      keyAuthorizations: o.keyAuthorizations,
    },
    {
      signer: o.signer,
      dsCertificate: o.dsCertificate,
      dsNotAfter: ds.notAfter,
      mso: o.mso,
      now,
      // no list record behind a single mdoc: listNo 0 marks an entry allocated outside the lists
      ...(o.status ? { allocateStatus: async () => [{ ...o.status!, listNo: 0 }] } : {}),
    },
  );
  const { validity, validUntilLimitedBy: limitedBy } = batch;
  await o.audit?.append({
    actor: o.actor ?? "svc:issuer",
    action: "mdoc.mso.sign",
    targets: [ds.serialNumber],
    outcome: "success",
    clause: SIGNER_KEY_STATE.clause,
    details: {
      profile: profile.id,
      validFrom: validity.validFrom.toISOString(),
      validUntil: validity.validUntil.toISOString(),
      limitedBy,
    },
  });
  return {
    issuerSigned: (batch.mdocs[0] as SignedMdoc).issuerSigned,
    docType: profile.docType,
    profile: profile.id,
    validity,
    validUntilLimitedBy: limitedBy,
    dsSerial: ds.serialNumber,
  };
}
