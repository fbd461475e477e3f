// OpenID4VCI offers: redeemed once, in time, with the right tx_code; the sealed data cleared by
// issuance, burning and expiry; DPoP proof ids remembered once.
import type { NewOffer } from "@iaca/db";
import { expect, it } from "vitest";
import { describeOnBothBackends } from "./backends.ts";

const t = (s: number) => new Date(Date.UTC(2030, 0, 1) + s * 1000);
const hex = (c: string) => c.repeat(64);

const offer = (id: string, o: Partial<NewOffer> = {}): NewOffer => ({
  id,
  clientId: "wallet-a",
  kind: "issue",
  profile: "interop",
  codeSha256: hex(id.slice(-1)),
  txCodeSha256: null,
  sealed: new Uint8Array([1, 2, 3]),
  holderKeyThumbprint: null,
  expiresAt: t(600),
  ...o,
});
const token = (c: string, expiresAt = t(900)) => ({ sha256: hex(c), jkt: `jkt-${c}`, expiresAt });

describeOnBothBackends("OfferStore", (db) => {
  const store = () => db().stores.offers;

  it("redeems a code once and finds the offer by its token; issuance clears the sealed data", async () => {
    await store().add(offer("offer-1"));
    const r = await store().redeem({
      codeSha256: hex("1"),
      txCodeSha256: null,
      maxTxCodeFailures: 5,
      token: token("a"),
      now: t(1),
    });
    expect(r.kind).toBe("redeemed");
    expect(
      await store().redeem({
        codeSha256: hex("1"),
        txCodeSha256: null,
        maxTxCodeFailures: 5,
        token: token("b"),
        now: t(2),
      }),
    ).toEqual({
      kind: "used",
    });
    expect(
      await store().redeem({
        codeSha256: hex("9"),
        txCodeSha256: null,
        maxTxCodeFailures: 5,
        token: token("c"),
        now: t(2),
      }),
    ).toEqual({
      kind: "unknown",
    });
    const found = await store().byToken(hex("a"));
    expect(found).toMatchObject({ id: "offer-1", tokenJkt: "jkt-a", sealed: new Uint8Array([1, 2, 3]) });
    expect(await store().issued("offer-1", "req-1", "notif-1", t(3))).toBe(true);
    expect(await store().issued("offer-1", "req-1", "notif-1", t(3))).toBe(false);
    expect(await store().byToken(hex("a"))).toMatchObject({
      sealed: null,
      ended: "issued",
      requestId: "req-1",
      notificationId: "notif-1",
    });
    expect(await store().notified("notif-1", hex("a"), "credential_accepted")).toBe(true);
    expect(await store().notified("notif-1", hex("b"), "credential_accepted")).toBe(false);
  });

  it("a wrong tx_code counts; the last allowed one burns the offer", async () => {
    await store().add(offer("offer-2", { txCodeSha256: hex("x") }));
    const attempt = (tx: string | null) =>
      store().redeem({ codeSha256: hex("2"), txCodeSha256: tx, maxTxCodeFailures: 2, token: token("d"), now: t(1) });
    expect(await attempt(null)).toEqual({ kind: "tx-code-wrong", burnt: false });
    expect(await attempt(hex("y"))).toEqual({ kind: "tx-code-wrong", burnt: true });
    expect(await attempt(hex("x"))).toEqual({ kind: "used" });
  });

  it("an expired offer is refused and cleared at once; expire() clears the rest and forgets old rows", async () => {
    await store().add(offer("offer-3", { expiresAt: t(10) }));
    await store().add(offer("offer-4", { expiresAt: t(10) }));
    await store().add(offer("offer-5", { expiresAt: t(10) }));
    expect(
      await store().redeem({
        codeSha256: hex("3"),
        txCodeSha256: null,
        maxTxCodeFailures: 5,
        token: token("e"),
        now: t(11),
      }),
    ).toEqual({
      kind: "expired",
    });
    // offer-5 redeemed in time: its data waits until the token expires
    await store().redeem({
      codeSha256: hex("5"),
      txCodeSha256: null,
      maxTxCodeFailures: 5,
      token: token("f", t(20)),
      now: t(5),
    });
    expect(await store().expire(t(12), t(0))).toBe(1); // offer-4
    expect((await store().byToken(hex("f")))?.sealed).not.toBeNull();
    expect(await store().expire(t(21), t(0))).toBe(1); // offer-5
    expect(await store().byToken(hex("f"))).toMatchObject({ sealed: null, ended: "expired" });
    await store().expire(t(22), t(100_000));
    expect(await store().byToken(hex("f"))).toBeUndefined();
  });

  it("a DPoP proof id is accepted once", async () => {
    expect(await store().firstUse(hex("j"), t(100))).toBe(true);
    expect(await store().firstUse(hex("j"), t(100))).toBe(false);
    await store().expire(t(101), t(0));
    expect(await store().firstUse(hex("j"), t(200))).toBe(true);
  });
});
