// Child process of bench/dts.ts: builds a throwaway PKI, exports the published tree to DIR (for
// nginx) and serves the same tree with the DTS on 127.0.0.1; prints "READY <port>".

import { createDtsApp } from "@iaca/dts";
import { addDuration } from "@iaca/policy";
import { exportTree, MemorySource, Publisher } from "@iaca/trust";
import { buildFixturePki } from "../apps/dts/test/support/pki.ts";

const dir = process.argv[2];
if (!dir) throw new Error("usage: dts-server.ts DIR");
const pki = await buildFixturePki({ t0: addDuration(new Date(), "P10D", -1) });
const publisher = new Publisher({ source: new MemorySource(pki.set), policy: pki.policy, signer: pki.signer });
await publisher.refresh();
await exportTree(publisher.tree!, dir);
const app = createDtsApp({ publisher, pollMs: 0 });
await app.listen({ host: "127.0.0.1", port: 0 });
process.stdout.write(`READY ${(app.server.address() as { port: number }).port}\n`);
process.on("SIGTERM", () => app.close().then(() => process.exit(0)));
