import { hash as oneShotHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { AbandonedIssuance, Database, IssuanceRecord, IssuanceStore, PendingIssuance } from "@iaca/db";
import { type KeyStore, type Signer, signerOver } from "@iaca/hsm";
import {
  allProfiles,
  assertDsCanSign,
  base64url,
  type CborValue,
  type ComposedMdoc,
  coseKeyFromJwk,
  type DecodedIssuerSigned,
  type DerivedElement,
  type DoctypeProfile,
  type DsState,
  decodeIssuerSigned,
  deriveElements,
  dsState,
  FullDate,
  getProfile,
  type IssuanceRecorder,
  type IssuedBatch,
  issueBatch,
  MdocError,
  type PipelineFaults,
  restoreElement,
  type SignedMdoc,
  type ValidityInfo,
  validateInput,
  verifyMdoc,
} from "@iaca/mdoc";
import { assertCanSign, usagePeriod } from "@iaca/pki";
import {
  type AuditEventInput,
  type AuditSink,
  addDuration,
  algorithmBy,
  type Policy,
  subtractDuration,
} from "@iaca/policy";
import type {
  CredentialRecord,
  IssuedCredential,
  IssueRequest,
  IssueResult,
  IssuerApi,
  Readiness,
  RevokeResult,
  SuspendResult,
} from "./api.ts";
import { SerialAudit } from "./audit.ts";
import {
  HOLDER_HMAC,
  ISSUANCE_AUDITED,
  KEY_STATE,
  NO_PII_AT_REST,
  POLICY_CHECK,
  RECORD_BEFORE_SIGN,
  REFRESH_AFTER_REVOCATION,
  REFRESH_RULES,
  REVOCATION_STORED,
  STATUS_CHANGE,
} from "./controls.ts";
import type { DsSource, SigningDs } from "./ds.ts";
import { IssuanceError } from "./errors.ts";
import { GroupWriter } from "./group.ts";
import type { IssuanceMetrics } from "./metrics.ts";
import { StatusAllocator } from "./status-allocator.ts";

export const HOLDER_HMAC_LABEL = "iaca-holder-ref-hmac";
export const RESPONSE_AES_LABEL = "iaca-response-aes";
const HOLDER_REF_DOMAIN = "iaca/holder-ref/v1\u0000";

/**
 * What the issuer asks of the DS HSM: a KeyStore (one token) or a ClusterKeyStore (several nodes
 * holding the same cloned keys; an unavailable node is skipped, CP/CPS 5.7.2).
 */
export type IssuerKeyStore = Pick<KeyStore, "signer" | "hmac" | "encrypt" | "decrypt" | "uriFor">;

export interface IssuerServiceOptions {
  db: Database;
  /** The DS token(s): DS private keys and the issuer's secret keys (holder HMAC, response AES). */
  keyStore: IssuerKeyStore;
  policy: Policy;
  ds: DsSource;
  audit: AuditSink;
  metrics?: IssuanceMetrics;
  /** Secret key labels on the DS token (created by ensureSecretKeys). */
  keys?: { holderHmac?: string; responseAes?: string };
  actor?: string;
  now?: () => Date;
  /** Pending records older than this are marked abandoned by the sweeper (default 5 minutes). */
  staleAfterMs?: number;
  /** Test-only fault injection (crash tests); never set in production wiring. */
  faults?: PipelineFaults;
}

interface PreparedElement {
  namespace: string;
  identifier: string;
  value: CborValue;
}

interface Prepared {
  profile: DoctypeProfile;
  elements: PreparedElement[];
  ageChanges: Date[];
  myNumber: string;
  refreshedFrom?: string;
}

interface ChosenDs {
  ds: SigningDs;
  state: DsState;
}

/** A refresh refused because of the presented mdoc itself. */
const invalid = (why: string) => new IssuanceError("CREDENTIAL_INVALID", `the presented mdoc ${why}`);

/** How long after its `signed` instant an MSO may still be signed (HSM queueing within one batch). */
export const MAX_SIGN_DELAY_MS = 60_000;

/**
 * The Issuer Server (Document Signer): the only component that asks the HSM to sign MSOs. Every
 * signature is preceded by a committed issuance record (issuer.record-before-sign) and a DS key
 * state check (issuer.key-state); the database holds no personal data (privacy.no-pii-at-rest).
 */
export class IssuerService implements IssuerApi {
  readonly controls = [RECORD_BEFORE_SIGN, KEY_STATE, POLICY_CHECK, HOLDER_HMAC, NO_PII_AT_REST, ISSUANCE_AUDITED];
  private readonly hmacKey: string;
  private readonly aesKey: string;
  private readonly actor: string;
  private readonly now: () => Date;
  private readonly states = new Map<string, DsState>();
  /** The HSM Signer of each DS key, looked up once (KeyStore.signer reads the key's curve). */
  private readonly signers = new Map<string, Promise<Signer>>();
  private sweeper: NodeJS.Timeout | undefined;

  /** One chain entry per batch, appended by this process one group at a time (see SerialAudit). */
  private readonly audit: AuditSink;

  /**
   * The pending issuance records of concurrent batches, and their completions, each written as one
   * statement per group (see GroupWriter): a batch still waits for the commit of its own records
   * before anything is signed (issuer.record-before-sign), with fewer round trips under load.
   */
  private readonly records: GroupWriter<PendingIssuance>;
  /** A batch's completion with its audit event, written together (one transaction per group). */
  private readonly completions: GroupWriter<{ rows: { id: string; signedAt: Date }[]; event: AuditEventInput }>;
  private readonly issuances: IssuanceStore;
  /** Status list entries for the MSOs this process signs (issuer.status.index-random). */
  private readonly statuses: StatusAllocator;

  private readonly o: IssuerServiceOptions;
  constructor(o: IssuerServiceOptions) {
    this.o = o;
    this.audit = new SerialAudit(o.audit);
    this.hmacKey = o.keyStore.uriFor(o.keys?.holderHmac ?? HOLDER_HMAC_LABEL);
    this.aesKey = o.keyStore.uriFor(o.keys?.responseAes ?? RESPONSE_AES_LABEL);
    this.actor = o.actor ?? "svc:issuer";
    this.now = o.now ?? (() => new Date());
    const issuances = o.db.stores.issuances;
    this.issuances = issuances;
    this.statuses = new StatusAllocator(o.db.stores.statusLists, o.policy);
    this.records = new GroupWriter((rows) => issuances.recordPending(rows), 2000);
    this.completions = new GroupWriter(
      (batches) =>
        issuances.completeAudited(
          batches.flatMap((b) => b.rows),
          batches.map((b) => b.event),
        ),
      200,
    );
  }

  /** Creates the holder-reference HMAC key and the response AES key on the DS token if absent. */
  static async ensureSecretKeys(
    ks: KeyStore,
    audit: AuditSink,
    labels: { holderHmac?: string; responseAes?: string } = {},
  ) {
    const have = new Set((await ks.listKeys()).map((k) => k.label));
    const hmac = labels.holderHmac ?? HOLDER_HMAC_LABEL;
    const aes = labels.responseAes ?? RESPONSE_AES_LABEL;
    void audit;
    if (!have.has(hmac))
      await ks.generateHmacKey(hmac, { actor: "svc:issuer", reason: "holder reference (privacy.holder-hmac)" });
    if (!have.has(aes)) await ks.generateAesKey(aes, { actor: "svc:issuer", reason: "idempotent response encryption" });
  }

  /** Marks pending records older than staleAfterMs abandoned now and every minute (crashed batches). */
  startSweeper(): void {
    const run = () => this.sweep().catch(() => undefined);
    void run();
    this.sweeper = setInterval(run, 60_000);
    this.sweeper.unref();
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
  }

  async sweep(): Promise<number> {
    const cutoff = new Date(this.now().getTime() - (this.o.staleAfterMs ?? 5 * 60_000));
    const rows = await this.issuances.abandonStale(cutoff);
    if (rows.length) await this.auditAbandoned(rows, "stale");
    return rows.length;
  }

  // ------------------------------------------------------------------ holder reference

  /** HMAC-SHA-256 (HSM key) of the My Number: the only holder identifier stored (privacy.holder-hmac). */
  async holderRef(myNumber: string): Promise<string> {
    void HOLDER_HMAC;
    const mac = await this.o.keyStore.hmac(this.hmacKey, Buffer.from(HOLDER_REF_DOMAIN + myNumber, "utf8"));
    return mac.toString("hex");
  }

  // ------------------------------------------------------------------ DS selection and key state

  private dsStateOf(ds: SigningDs): DsState {
    const k = `${ds.keyRef}|${ds.record.serial}`;
    let st = this.states.get(k);
    if (!st) {
      st = dsState(ds.certificate);
      this.states.set(k, st);
    }
    return st;
  }

  /** The DS key's Signer; MDOC_DS_KEY_STATE when the key's curve is not the certificate's. */
  private async signerOf(ds: SigningDs, state: DsState): Promise<Signer> {
    let pending = this.signers.get(ds.keyRef);
    if (!pending) {
      pending = this.o.keyStore.signer(ds.keyRef);
      this.signers.set(ds.keyRef, pending);
      pending.catch(() => this.signers.delete(ds.keyRef));
    }
    const signer = await pending;
    if (signer.algorithm.curve !== state.curve)
      throw new MdocError(
        "MDOC_DS_KEY_STATE",
        `the DS key is ${signer.algorithm.curve}, its certificate ${state.curve}`,
      );
    return signer;
  }

  private async checkKeyState(c: { ds: SigningDs; state: DsState }, at: Date, revoked: boolean): Promise<void> {
    void KEY_STATE;
    await assertDsCanSign(c.state, at, {
      isRevoked: () => revoked,
      keyStateCheck: ({ at: when }) => {
        assertCanSign(c.ds.record, when, this.o.policy);
      },
    });
  }

  /** The first installed DS whose key may sign now; SIGNING_UNAVAILABLE (503) when none. */
  async chooseDs(at: Date): Promise<ChosenDs> {
    const reasons: string[] = [];
    let candidates: SigningDs[];
    try {
      candidates = await this.o.ds.signingKeys(at);
    } catch (e) {
      throw new IssuanceError("SIGNING_UNAVAILABLE", "the DS key state cannot be read", {
        cause: (e as Error).message,
      });
    }
    for (const ds of candidates) {
      try {
        const state = this.dsStateOf(ds);
        const revoked = Boolean(ds.record.revokedAt) || (await this.o.ds.isRevoked(state.serialNumber));
        await this.checkKeyState({ ds, state }, at, revoked);
        return { ds, state };
      } catch (e) {
        reasons.push(`${ds.record.serial}: ${(e as { code?: string }).code ?? "error"}`);
      }
    }
    throw new IssuanceError(
      "SIGNING_UNAVAILABLE",
      candidates.length
        ? `no Document Signer key may sign now (${reasons.join("; ")})`
        : "no Document Signer key is installed",
      { reasons },
    );
  }

  // ------------------------------------------------------------------ input

  private profileOf(id: string): DoctypeProfile {
    return resolveProfile(id, this.o.policy.profile);
  }

  private prepareNew(profileId: string, holder: unknown, now: Date): Prepared {
    return prepareHolder(this.profileOf(profileId), holder, now);
  }

  /**
   * The presented mdoc may be refreshed: it is an IssuerSigned whose MSO this issuer recorded as
   * issued, the requester holds its device key, it is not revoked, the refresh window is open,
   * its DS is not revoked and it verifies against our IACA.
   */
  private async refreshable(issuerSigned: string, holderKeyThumbprint: string, now: Date) {
    let decoded: DecodedIssuerSigned;
    try {
      decoded = decodeIssuerSigned(issuerSigned);
    } catch {
      throw invalid("is not an IssuerSigned");
    }
    const msoSha256 = oneShotHash("sha256", decoded.msoPayload, "hex");
    const row = await this.issuances.byMsoHash(msoSha256);
    if (row?.state !== "issued") throw invalid("was not issued by this issuer");
    // the same subscriber and Device Key (CP/CPS 4.6.1): whoever asks holds the mdoc's device key,
    // not only a copy of it; checked first, so a copy tells nothing about the mdoc's state
    if (row.deviceKeyThumbprint !== holderKeyThumbprint)
      throw new IssuanceError(
        "HOLDER_MISMATCH",
        "the holder proof is not signed by the device key of the presented mdoc",
      );
    void REFRESH_AFTER_REVOCATION;
    if (row.revokedAt) throw new IssuanceError("CREDENTIAL_REVOKED", "the mdoc has been revoked; refresh refused");
    if (row.suspendedAt)
      throw new IssuanceError("CREDENTIAL_SUSPENDED", "the mdoc is suspended; refresh refused until it is resumed");
    const validUntil = row.validUntil;
    const window = this.o.policy.mso.refreshWindow;
    const opens = subtractDuration(validUntil, window);
    const closes = addDuration(validUntil, window);
    if (now < opens || now > closes)
      throw new IssuanceError(
        "REFRESH_OUTSIDE_WINDOW",
        `refresh is possible from ${opens.toISOString()} to ${closes.toISOString()} (policy mso.refreshWindow ${window})`,
        { opens: opens.toISOString(), closes: closes.toISOString() },
      );
    if (await this.o.ds.isRevoked(row.dsCertSerial)) throw invalid("was signed by a revoked Document Signer");
    // Verified as of a time inside its validity: lateness is governed by the refresh window above.
    const at = now < validUntil ? now : new Date(validUntil.getTime() - 1000);
    const result = await verifyMdoc(issuerSigned, {
      trustAnchors: await this.o.ds.trustAnchors(),
      untrusted: (await this.o.ds.untrusted?.()) ?? [],
      at,
    });
    if (!result.ok) {
      const failed = result.checks.filter((c) => c.status === "FAIL").map((c) => c.name);
      throw invalid(`does not verify (${failed.join(", ")})`);
    }
    return { decoded, row, doc: result.documents[0] };
  }

  /**
   * Refresh (issuer.refresh): the presented IssuerSigned must come from this issuer (MSO hash
   * on record), verify against our IACA, not be revoked, lie within the refresh window and carry
   * every element of its profile. Age elements are derived again; the rest is copied.
   */
  private async prepareRefresh(issuerSigned: string, holderKeyThumbprint: string, now: Date): Promise<Prepared> {
    void REFRESH_RULES;
    const { decoded, row, doc } = await this.refreshable(issuerSigned, holderKeyThumbprint, now);
    const profile = this.profileOf(doc?.profile ?? row.profile);
    // element values straight from the CBOR (only those whose digest verified)
    const raw = new Map<string, CborValue>();
    for (const [key, value] of decoded.elements) {
      const [nsName, id] = [key.slice(0, key.lastIndexOf("/")), key.slice(key.lastIndexOf("/") + 1)];
      if (doc?.elements[nsName] && id in doc.elements[nsName]) raw.set(key, value);
    }
    const copied: PreparedElement[] = [];
    const derivedSpecs: DoctypeProfile["namespaces"] = {};
    const input: Record<string, string | Uint8Array> = {};
    for (const [nsName, elements] of Object.entries(profile.namespaces)) {
      for (const [id, spec] of Object.entries(elements)) {
        const s = spec.source;
        const isDerived =
          "fn" in s && ["age_over", "age_in_years", "issuance_date", "issuance_plus_years"].includes(s.fn);
        const value = raw.get(`${nsName}/${id}`);
        if (isDerived) {
          derivedSpecs[nsName] = { ...(derivedSpecs[nsName] ?? {}), [id]: spec };
          continue;
        }
        if (value === undefined) {
          if (spec.optional) continue;
          throw invalid(`lacks element ${id} (present all elements to refresh)`);
        }
        copied.push({ namespace: nsName, identifier: id, value });
        // recover the inputs the derived elements need, and the My Number for the holder check
        if ("from" in s && !("fn" in s)) input[s.from] = restoredString(restoreElement(profile, nsName, id, value));
        else if ("fn" in s && s.fn === "full_date") input[s.from] = restoredString(value);
        else if ("fn" in s && s.fn === "japanese_date" && typeof value === "string") {
          const m = /^(\d{4})年(\d{1,2})月(\d{1,2})日$/.exec(value);
          if (m) input[s.from] ??= `${m[1]}-${m[2]!.padStart(2, "0")}-${m[3]!.padStart(2, "0")}`;
        }
      }
    }
    let derived: DerivedElement[] = [];
    try {
      derived = deriveElements({ ...profile, namespaces: derivedSpecs }, input, now);
    } catch {
      throw invalid("lacks the elements its age attributes derive from");
    }
    const myNumber = myNumberOf(profile, input);
    if ((await this.holderRef(myNumber)) !== row.holderRef)
      throw new IssuanceError("HOLDER_MISMATCH", "the mdoc's holder does not match the issuance record");
    return {
      profile,
      elements: [...copied, ...derived],
      ageChanges: derived.flatMap((e) => (e.changesAt ? [e.changesAt] : [])),
      myNumber,
      refreshedFrom: row.id,
    };
  }

  // ------------------------------------------------------------------ issue

  async issue(req: IssueRequest): Promise<IssueResult> {
    void POLICY_CHECK; // batch size here; validity, profile and key state in the pipeline
    const t0 = performance.now();
    const now = this.now();
    const n = req.devices.length;
    if (n < 1 || n > this.o.policy.mso.maxBatch)
      throw new IssuanceError(
        "BATCH_TOO_LARGE",
        `1..${this.o.policy.mso.maxBatch} device keys per batch (policy mso.maxBatch)`,
      );
    const prepared = req.refresh
      ? await this.prepareRefresh(req.refresh.issuerSigned, req.refresh.holderKeyThumbprint, now)
      : this.prepareNew(req.profile, req.holder, now);
    const deviceKeys = req.devices.map((d, index) => deviceCoseKey(d, index));
    const chosen = await this.chooseDsAudited(req, now);
    const holderRef = await this.holderRef(prepared.myNumber);
    const recorder = this.recorder(req, prepared, chosen, holderRef);
    let batch: IssuedBatch;
    try {
      batch = await issueBatch(
        { docType: prepared.profile.docType, elements: prepared.elements, ageChanges: prepared.ageChanges, deviceKeys },
        {
          signer: this.batchSigner(chosen, now),
          dsCertificate: chosen.ds.certificate,
          dsNotAfter: chosen.state.notAfter,
          mso: this.o.policy.mso,
          now,
          recorder,
          allocateStatus: (count) => this.statuses.allocate(count),
          faults: this.o.faults,
          clock: this.now,
        },
      );
    } catch (e) {
      throw signingUnavailable(e);
    }
    this.o.metrics?.issuances.inc({ profile: prepared.profile.id, kind: req.refresh ? "refresh" : "issue" }, n);
    this.o.metrics?.batches.inc({ outcome: "issued" });
    this.o.metrics?.batchLatency.observe((performance.now() - t0) / 1000);
    return {
      requestId: req.requestId,
      profile: prepared.profile.id,
      docType: prepared.profile.docType,
      dsCertificateSerial: chosen.state.serialNumber,
      credentials: batch.mdocs.map((m) =>
        issuedCredential(m, prepared.profile.docType, req.devices[m.index]!.thumbprint, batch.validity),
      ),
      ...(prepared.refreshedFrom ? { refreshedFrom: prepared.refreshedFrom } : {}),
    };
  }

  /** chooseDs, with the refusal audited (no DS may sign: the batch is denied before any record). */
  private async chooseDsAudited(req: IssueRequest, now: Date): Promise<ChosenDs> {
    try {
      return await this.chooseDs(now);
    } catch (e) {
      this.o.metrics?.batches.inc({ outcome: "refused" });
      await this.audit.append({
        actor: this.actor,
        action: "mdoc.issue.batch",
        targets: [req.requestId],
        outcome: "denied",
        clause: KEY_STATE.clause,
        details: {
          client: req.clientId,
          code: (e as IssuanceError).code,
          reasons: (e as IssuanceError).details?.reasons,
        },
      });
      throw e;
    }
  }

  /**
   * The pipeline's recorder over the issuance store. issuer.record-before-sign: `record` resolves
   * only once the pending rows are committed; a failed batch is marked failed and audited.
   */
  private recorder(req: IssueRequest, prepared: Prepared, chosen: ChosenDs, holderRef: string): IssuanceRecorder {
    void RECORD_BEFORE_SIGN;
    void NO_PII_AT_REST; // the record keeps the holder HMAC, thumbprints and dates: no element value
    let recorded: { validFrom: Date; validUntil: Date } | undefined;
    return {
      record: async (docs, validity) => {
        recorded = validity;
        await this.records.submit(
          docs.map((d) => ({
            id: d.id,
            requestId: req.requestId,
            batchIndex: d.index,
            clientId: req.clientId,
            profile: prepared.profile.id,
            docType: prepared.profile.docType,
            dsCertSerial: chosen.state.serialNumber,
            msoSha256: d.msoSha256,
            deviceKeyThumbprint: req.devices[d.index]!.thumbprint,
            holderRef,
            validFrom: validity.validFrom,
            validUntil: validity.validUntil,
            refreshedFrom: prepared.refreshedFrom ?? null,
            createdAt: validity.signed,
            statusList: d.status?.listNo ?? null,
            statusIdx: d.status?.idx ?? null,
          })),
        );
        if (prepared.refreshedFrom) await this.claimRefresh(prepared.refreshedFrom, req.requestId, docs);
      },
      // issuer.issuance.audited: the rows become issued and the batch event is appended atomically
      complete: (docs, signedAt) =>
        this.completions.submit([
          {
            rows: docs.map((d) => ({ id: d.id, signedAt })),
            event: this.issuedEvent(req, prepared, chosen, docs, recorded!),
          },
        ]),
      fail: async (docs, error) => {
        const ids = docs.map((d) => d.id);
        await this.issuances.markFailed(ids).catch(() => undefined);
        if (prepared.refreshedFrom) await this.issuances.releaseRefreshClaims([req.requestId]).catch(() => undefined);
        this.o.metrics?.batches.inc({ outcome: "failed" });
        await this.o.audit
          .append({
            actor: this.actor,
            action: "mdoc.issue.batch",
            targets: [req.requestId, ...ids],
            outcome: "failure",
            clause: RECORD_BEFORE_SIGN.clause,
            details: {
              client: req.clientId,
              dsSerial: chosen.state.serialNumber,
              code: (error as { code?: string }).code,
            },
          })
          .catch(() => undefined);
      },
    };
  }

  /**
   * issuer.refresh: a refresh consumes the mdoc it refreshes. The claim is taken after the records
   * are committed (so a crash leaves pending rows whose sweep releases it) and before anything is
   * signed; a concurrent or later refresh of the same mdoc is refused and its records marked failed.
   */
  private async claimRefresh(refreshedFrom: string, requestId: string, docs: readonly ComposedMdoc[]): Promise<void> {
    if (await this.issuances.claimRefresh(refreshedFrom, requestId)) return;
    await this.issuances.markFailed(docs.map((d) => d.id));
    throw new IssuanceError("CREDENTIAL_ALREADY_REFRESHED", "the presented mdoc has already been refreshed");
  }

  private issuedEvent(
    req: IssueRequest,
    prepared: Prepared,
    chosen: ChosenDs,
    docs: readonly { id: string }[],
    validity: { validFrom: Date; validUntil: Date },
  ): AuditEventInput {
    void ISSUANCE_AUDITED;
    return {
      actor: this.actor,
      action: req.refresh ? "mdoc.refresh.batch" : "mdoc.issue.batch",
      targets: [req.requestId, ...docs.map((m) => m.id)],
      outcome: "success",
      clause: ISSUANCE_AUDITED.clause,
      details: {
        client: req.clientId,
        profile: prepared.profile.id,
        count: docs.length,
        dsSerial: chosen.state.serialNumber,
        validFrom: validity.validFrom.toISOString(),
        validUntil: validity.validUntil.toISOString(),
        ...(prepared.refreshedFrom ? { refreshedFrom: prepared.refreshedFrom } : {}),
      },
    };
  }

  /**
   * The batch's Signer over the DS key. issuer.key-state before each signature (in memory: usage
   * period, validity, revocation at batch start), at the instant the MSO states as `signed`: a batch
   * that straddles a DS hand-over finishes with the key that was active when it started
   * (lifecycle.switchover.no-downtime); one delayed past MAX_SIGN_DELAY_MS is refused instead of
   * carrying a stale signed time. The HSM key and the DS's revocation state are looked up once, at
   * the first signature, after the records are committed.
   */
  private batchSigner(chosen: ChosenDs, signedAt: Date): Signer {
    const metrics = this.o.metrics;
    const algorithm = algorithmBy("curve", chosen.state.curve);
    if (!algorithm) throw new IssuanceError("SIGNING_UNAVAILABLE", "the DS certificate's curve is not supported");
    let revokedAtStart: Promise<boolean> | undefined;
    return signerOver(algorithm, async (digest) => {
      const dsKey = await this.signerOf(chosen.ds, chosen.state);
      revokedAtStart ??= this.o.ds.isRevoked(chosen.state.serialNumber);
      if (this.now().getTime() - signedAt.getTime() > MAX_SIGN_DELAY_MS)
        throw new IssuanceError("SIGNING_UNAVAILABLE", "the batch was delayed too long before signing; retry");
      await this.checkKeyState(chosen, signedAt, await revokedAtStart);
      const s0 = performance.now();
      try {
        const raw = await dsKey.signDigest(digest);
        metrics?.signLatency.observe((performance.now() - s0) / 1000);
        return raw;
      } catch (e) {
        metrics?.signFailures.inc({ code: (e as { code?: string }).code ?? "unknown" });
        throw e;
      }
    });
  }

  // ------------------------------------------------------------------ crash accounting

  async abandon(req: { requestId: string; actor: string }): Promise<{ abandoned: number }> {
    const rows = await this.issuances.abandonRequest(req.requestId);
    if (rows.length) await this.auditAbandoned(rows, "retry", req.actor);
    return { abandoned: rows.length };
  }

  private async auditAbandoned(rows: AbandonedIssuance[], why: string, actor = this.actor) {
    await this.audit.append({
      actor,
      action: "mdoc.issue.abandoned",
      targets: [...new Set(rows.map((r) => r.requestId))].concat(rows.map((r) => r.id)),
      outcome: "failure",
      clause: RECORD_BEFORE_SIGN.clause,
      details: { count: rows.length, why },
    });
  }

  // ------------------------------------------------------------------ revocation

  async revokeCredential(req: { id: string; reason: string; actor: string }): Promise<RevokeResult> {
    void REVOCATION_STORED;
    void STATUS_CHANGE; // the row and its status list's version change in one statement (IssuanceStore)
    if (!(await this.issuances.revoke(req.id, this.now(), req.reason))) {
      const row = await this.issuances.get(req.id);
      if (row?.state !== "issued") throw new IssuanceError("NOT_FOUND", "no such credential");
      return { revoked: [], alreadyRevoked: [req.id] };
    }
    await this.audit.append({
      actor: req.actor,
      action: "mdoc.revoke",
      targets: [req.id],
      outcome: "success",
      clause: REVOCATION_STORED.clause,
      details: { reason: req.reason },
    });
    return { revoked: [req.id], alreadyRevoked: [] };
  }

  async revokeHolder(req: { myNumber: string; reason: string; actor: string }): Promise<RevokeResult> {
    const ref = await this.holderRef(req.myNumber);
    const revoked = await this.issuances.revokeHolder(ref, this.now(), req.reason);
    const already = await this.issuances.revokedOfHolder(ref, revoked);
    await this.audit.append({
      actor: req.actor,
      action: "mdoc.revoke.holder",
      targets: revoked,
      outcome: "success",
      clause: REVOCATION_STORED.clause,
      details: { reason: req.reason, count: revoked.length },
    });
    return { revoked: [...revoked].sort(), alreadyRevoked: already.sort() };
  }

  /**
   * Suspends or resumes an issued, unrevoked mdoc: its status list entry becomes SUSPENDED or VALID
   * again (issuer.status.change). Only when the policy's lists have 2 bits (suspension enabled).
   */
  async setSuspended(req: { id: string; suspended: boolean; actor: string }): Promise<SuspendResult> {
    void STATUS_CHANGE;
    if (this.o.policy.status.bits !== 2)
      throw new IssuanceError("SUSPENSION_DISABLED", "suspension is not enabled (policy status.bits is 1)");
    const row = await this.issuances.get(req.id);
    if (row?.state !== "issued") throw new IssuanceError("NOT_FOUND", "no such credential");
    if (row.revokedAt) throw new IssuanceError("CREDENTIAL_REVOKED", "the mdoc has been revoked");
    const changed = req.suspended
      ? await this.issuances.suspend(req.id, this.now())
      : await this.issuances.resume(req.id);
    if (changed)
      await this.audit.append({
        actor: req.actor,
        action: req.suspended ? "mdoc.suspend" : "mdoc.resume",
        targets: [req.id],
        outcome: "success",
        clause: STATUS_CHANGE.clause,
        details: {},
      });
    return { id: req.id, suspended: req.suspended, changed };
  }

  /** The record of one credential (for its state and validity); NOT_FOUND when there is none. */
  async credential(req: { id: string }): Promise<CredentialRecord> {
    const row = await this.issuances.get(req.id);
    if (!row) throw new IssuanceError("NOT_FOUND", "no such credential");
    return credentialRecord(row);
  }

  // ------------------------------------------------------------------ response sealing (idempotency)

  async seal(req: { plaintext: string; aad: string }): Promise<{ sealed: string }> {
    const s = await this.o.keyStore.encrypt(this.aesKey, Buffer.from(req.plaintext, "utf8"), {
      aad: Buffer.from(req.aad, "utf8"),
    });
    return { sealed: Buffer.concat([s.iv, s.tag, s.ciphertext]).toString("base64url") };
  }

  async unseal(req: { sealed: string; aad: string }): Promise<{ plaintext: string }> {
    const b = Buffer.from(req.sealed, "base64url");
    const pt = await this.o.keyStore.decrypt(
      this.aesKey,
      { iv: b.subarray(0, 12), tag: b.subarray(12, 28), ciphertext: b.subarray(28) },
      { aad: Buffer.from(req.aad, "utf8") },
    );
    return { plaintext: pt.toString("utf8") };
  }

  // ------------------------------------------------------------------ readiness and gauges

  async readiness(): Promise<Readiness> {
    const checks: Readiness["checks"] = {};
    try {
      await this.o.db.ping();
      checks.database = { ok: true };
    } catch {
      checks.database = { ok: false, detail: "unreachable" };
    }
    try {
      await this.o.keyStore.hmac(this.hmacKey, Buffer.from("readyz"));
      checks.hsm = { ok: true };
    } catch (e) {
      checks.hsm = { ok: false, detail: (e as { code?: string }).code ?? "unreachable" };
    }
    try {
      const c = await this.chooseDs(this.now());
      checks.signer = { ok: true, detail: `DS ${c.state.serialNumber}` };
    } catch (e) {
      checks.signer = { ok: false, detail: (e as Error).message };
    }
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }

  /** Days left in the usage period of each installed DS (metrics gauge). */
  async usageDaysLeft(): Promise<Array<{ labels: Record<string, string>; value: number }>> {
    const now = this.now();
    const keys = await this.o.ds.signingKeys(now);
    return keys.map((k) => ({
      labels: { serial: k.record.serial },
      value: (usagePeriod(k.record, this.o.policy).end.getTime() - now.getTime()) / 86_400_000,
    }));
  }

  async crlDaysLeft(): Promise<number | undefined> {
    const next = await this.o.ds.crlNextUpdate?.();
    return next ? (next.getTime() - this.now().getTime()) / 86_400_000 : undefined;
  }
}

/** The holder's device key as a COSE_Key; coseKeyFromJwk checks curve, sizes and the point. */
function deviceCoseKey(d: IssueRequest["devices"][number], index: number): Map<CborValue, CborValue> {
  try {
    return coseKeyFromJwk(d.jwk as unknown as Record<string, unknown>) as Map<CborValue, CborValue>;
  } catch {
    throw new IssuanceError("DEVICE_KEY_INVALID", `device key ${index} is not a supported EC public key`, { index });
  }
}

/** DS key-state and validity refusals from the pipeline answer 503 SIGNING_UNAVAILABLE. */
function signingUnavailable(e: unknown): unknown {
  const code = (e as { code?: string }).code ?? "";
  if (code.startsWith("MDOC_DS") || code.startsWith("DS_") || code === "MSO_BEYOND_DS")
    return new IssuanceError("SIGNING_UNAVAILABLE", (e as Error).message, undefined, { cause: e });
  return e;
}

function issuedCredential(
  m: SignedMdoc,
  docType: string,
  thumbprint: string,
  validity: ValidityInfo,
): IssuedCredential {
  return {
    id: m.id,
    issuerSigned: base64url(m.issuerSigned),
    docType,
    deviceKeyThumbprint: thumbprint,
    validFrom: validity.validFrom.toISOString(),
    validUntil: validity.validUntil.toISOString(),
    ...(validity.expectedUpdate ? { expectedUpdate: validity.expectedUpdate.toISOString() } : {}),
  };
}

function credentialRecord(r: IssuanceRecord): CredentialRecord {
  return {
    id: r.id,
    clientId: r.clientId,
    state: r.state,
    profile: r.profile,
    docType: r.docType,
    dsCertificateSerial: r.dsCertSerial,
    validFrom: r.validFrom.toISOString(),
    validUntil: r.validUntil.toISOString(),
    createdAt: r.createdAt.toISOString(),
    ...(r.signedAt ? { signedAt: r.signedAt.toISOString() } : {}),
    ...(r.revokedAt ? { revokedAt: r.revokedAt.toISOString() } : {}),
    ...(r.revocationReason ? { revocationReason: r.revocationReason } : {}),
    ...(r.refreshedFrom ? { refreshedFrom: r.refreshedFrom } : {}),
    ...(r.suspendedAt ? { suspendedAt: r.suspendedAt.toISOString() } : {}),
  };
}

function restoredString(v: unknown): string {
  if (v instanceof FullDate) return v.value;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint") return v.toString();
  return String(v);
}

/** The profile an issue request names (an id, or `docType:<doctype>`, the policy's profile first). */
function resolveProfile(id: string, preferredId: string): DoctypeProfile {
  try {
    if (id.startsWith("docType:")) {
      const docType = id.slice("docType:".length);
      const preferred = getProfile(preferredId);
      if (preferred.docType === docType) return preferred;
      const p = allProfiles().find((x) => x.docType === docType);
      if (p) return p;
      throw new Error("no profile");
    }
    return getProfile(id);
  } catch {
    throw new IssuanceError("PROFILE_UNSUPPORTED", `unknown profile or docType`);
  }
}

/** Holder data checked against the profile and turned into its elements (IssuanceErrors as issue() throws them). */
function prepareHolder(profile: DoctypeProfile, holder: unknown, now: Date): Prepared {
  let elements: DerivedElement[];
  let input: Record<string, string | Uint8Array>;
  try {
    input = validateInput(profile, holder, now);
    elements = deriveElements(profile, input, now);
  } catch (e) {
    throw mapInputError(e);
  }
  const myNumber = myNumberOf(profile, input);
  return {
    profile,
    elements,
    ageChanges: elements.flatMap((e) => (e.changesAt ? [e.changesAt] : [])),
    myNumber,
  };
}

function myNumberOf(profile: DoctypeProfile, input: Record<string, unknown>): string {
  const field = Object.entries(profile.input).find(([, s]) => s.check === "my-number")?.[0];
  const v = field ? input[field] : undefined;
  if (typeof v !== "string")
    throw new IssuanceError("MY_NUMBER_INVALID", "the profile's My Number field is missing", {
      element: field ?? "individualNumber",
      rule: "missing",
    });
  return v;
}

/**
 * The checks `issue` makes on holder data, for a caller that takes the data now and issues later
 * (an OpenID4VCI offer): the same IssuanceErrors, so the wallet backend hears of bad data at
 * once, not the holder's wallet minutes later. Returns the profile id the request resolves to.
 */
export function checkHolderData(profileId: string, holder: unknown, policyProfile: string, now = new Date()): string {
  const profile = resolveProfile(profileId, policyProfile);
  prepareHolder(profile, holder, now);
  return profile.id;
}

/** MDOC_INPUT_INVALID issues to the RA's finer problem types. */
function mapInputError(e: unknown): unknown {
  if (!(e instanceof MdocError)) return e;
  const issues = (e.details?.issues ?? []) as { element: string; rule: string }[];
  const unknown = issues.find((i) => i.rule === "unknown field");
  if (unknown)
    return new IssuanceError("ELEMENT_UNKNOWN", `unknown element ${unknown.element}`, {
      element: unknown.element,
      rule: unknown.rule,
      issues,
    });
  const mn = issues.find((i) => i.element === "individualNumber");
  if (mn)
    return new IssuanceError("MY_NUMBER_INVALID", `individualNumber: ${mn.rule}`, {
      element: mn.element,
      rule: mn.rule,
      issues,
    });
  if (e.code === "MDOC_INPUT_INVALID") {
    const first = issues[0];
    return new IssuanceError("INPUT_INVALID", e.message, {
      ...(first ? { element: first.element, rule: first.rule } : {}),
      issues,
    });
  }
  return e;
}
