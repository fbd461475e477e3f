// The RA's OpenAPI 3.1 document, generated from the route schemas (the same document the server
// serves at /docs/json) and committed as docs/openapi/ra.json so that an API change shows in
// review. `node scripts/openapi.ts` rewrites it; `--check` exits 1 when it is out of date
// (test/openapi.test.ts does the same in npm test).
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { openDatabase } from "@iaca/db";
import type { IssuerApi } from "@iaca/issuance";
import { loadPolicy } from "@iaca/policy";
import { buildRa } from "@iaca/ra";

export const OPENAPI_FILE = resolve(import.meta.dirname, "../docs/openapi/ra.json");

/** No route runs while the document is generated, so the issuer is never called. */
const noIssuer = new Proxy({} as IssuerApi, {
  get: () => () => Promise.reject(new Error("no issuer while generating the OpenAPI document")),
});

export async function raOpenApi(): Promise<string> {
  const db = await openDatabase({ url: "", dataDir: "memory://", migrate: true });
  try {
    const app = await buildRa({ db, issuer: noIssuer, policy: loadPolicy(), logger: false, proofWorkers: 0 });
    await app.ready();
    const doc = `${JSON.stringify(app.swagger(), null, 2)}\n`;
    await app.close();
    return doc;
  } finally {
    await db.close();
  }
}

if (import.meta.main) {
  const doc = await raOpenApi();
  if (process.argv.includes("--check")) {
    const current = readFileSync(OPENAPI_FILE, "utf8");
    if (current !== doc) {
      process.stderr.write("docs/openapi/ra.json is out of date: run node scripts/openapi.ts\n");
      process.exitCode = 1;
    }
  } else writeFileSync(OPENAPI_FILE, doc);
}
