// The committed OpenAPI document (docs/openapi/ra.json) is what the RA's route schemas generate:
// an API change cannot land without its diff in review.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { OPENAPI_FILE, raOpenApi } from "../scripts/openapi.ts";

describe("RA OpenAPI document", () => {
  it("docs/openapi/ra.json matches the route schemas (regenerate with node scripts/openapi.ts)", async () => {
    const generated = JSON.parse(await raOpenApi());
    expect(generated).toEqual(JSON.parse(readFileSync(OPENAPI_FILE, "utf8")));
    expect(Object.keys(generated.paths).sort()).toEqual([
      "/v1/credential-offers",
      "/v1/credential-offers/refresh",
      "/v1/credentials",
      "/v1/credentials/refresh",
      "/v1/credentials/{id}",
      "/v1/credentials/{id}/resume",
      "/v1/credentials/{id}/revoke",
      "/v1/credentials/{id}/suspend",
      "/v1/holders/revoke",
      "/v1/nonce",
    ]);
  }, 60_000);
});
