// Proof signature worker (see proof-workers.ts): checks a request's proof signatures off the
// event loop. Plain JS: loaded by node:worker_threads as is.
import { parentPort } from "node:worker_threads";
import { checkSignatures } from "./proof-signature.mjs";

parentPort.on("message", ({ id, items }) => parentPort.postMessage({ id, ok: checkSignatures(items) }));
