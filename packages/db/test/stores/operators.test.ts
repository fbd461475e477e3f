import { expect, it } from "vitest";
import { describeOnBothBackends } from "./backends.ts";

describeOnBothBackends("OperatorStore", (db) => {
  const store = () => db().stores.operators;

  it("registers operators in one statement and lists them in enrolment order without touching secrets", async () => {
    expect(await store().count()).toBe(0);
    await store().add([
      { id: "bob", secretHash: "scrypt$b" },
      { id: "alice", secretHash: "scrypt$a" },
    ]);
    await store().add([{ id: "carol", secretHash: "scrypt$c" }]);
    expect(await store().count()).toBe(3);
    expect(await store().registered(["alice", "dave", "carol"])).toEqual(expect.arrayContaining(["alice", "carol"]));
    expect(await store().registered(["dave"])).toEqual([]);
    const list = await store().list();
    expect(list.map((o) => o.id)).toEqual(["alice", "bob", "carol"]); // bob and alice share a created_at
    expect(await store().get("alice")).toMatchObject({ id: "alice", secretHash: "scrypt$a", disabledAt: null });
    expect(await store().get("nobody")).toBeUndefined();
    await expect(
      store().add([
        { id: "dave", secretHash: "x" },
        { id: "alice", secretHash: "y" },
      ]),
    ).rejects.toThrow();
    expect(await store().registered(["dave"])).toEqual([]); // all or none
  });

  it("disables an operator only while enough others stay enabled", async () => {
    expect(await store().disable("carol", 2)).toEqual({ disabled: true, enabledLeft: 2 });
    expect((await store().get("carol"))?.disabledAt).toBeInstanceOf(Date);
    expect(await store().disable("bob", 2)).toEqual({ disabled: false, enabledLeft: 1 });
    expect((await store().get("bob"))?.disabledAt).toBeNull();
  });

  it("two disables at once cannot both pass the count", async () => {
    await store().add([{ id: "erin", secretHash: "e" }]);
    // alice, bob, erin enabled; keep 2: only one of two concurrent disables may pass
    const both = await Promise.all([store().disable("bob", 2), store().disable("erin", 2)]);
    expect(both.filter((r) => r.disabled)).toHaveLength(1);
    expect((await store().list()).filter((o) => !o.disabledAt)).toHaveLength(2);
  });
});
