// The dependency direction of docs/architecture.md, enforced in `npm test`
// (test/architecture/dependencies.test.ts). Layers, lowest first; a layer imports only lower ones:
//   policy → hsm, db → pki → mdoc → trust, issuance → lifecycle, verifier → apps (ra, issuer, dts) → cli
const layer = (names) => `^packages/(${names.join("|")})/`;
const PACKAGE_LAYERS = [["policy"], ["hsm", "db"], ["pki"], ["mdoc"], ["trust", "issuance"], ["lifecycle", "verifier"]];
const upward = PACKAGE_LAYERS.slice(0, -1).map((names, i) => ({
  name: `layer-${names.join("-")}`,
  comment: `${names.join(", ")} must not import a higher layer (${PACKAGE_LAYERS.slice(i + 1)
    .flat()
    .join(", ")})`,
  severity: "error",
  from: { path: layer(names) },
  to: { path: layer(PACKAGE_LAYERS.slice(i + 1).flat()) },
}));

module.exports = {
  forbidden: [
    {
      name: "package-imports-app",
      comment: "packages never import apps: what a job needs from an app belongs in a package",
      severity: "error",
      from: { path: "^packages/" },
      to: { path: "^apps/" },
    },
    {
      name: "app-imports-app",
      comment: "apps never import each other; only apps/cli, the composition root, wires apps together",
      severity: "error",
      from: { path: "^apps/(ra|issuer|dts)/" },
      to: { path: "^apps/", pathNot: "^apps/$1/" },
    },
    {
      name: "cli-imports-app-internals",
      comment: "apps/cli uses other apps through their package entry point (src/index.ts) only",
      severity: "error",
      from: { path: "^apps/cli/" },
      to: { path: "^apps/(ra|issuer|dts)/src/", pathNot: "^apps/(ra|issuer|dts)/src/index\\.ts$" },
    },
    {
      name: "outside-imports-app-src",
      comment: "tests, benches and scripts import an app through its package entry points, not its src/ files",
      severity: "error",
      from: { path: "^(test|bench|scripts)/" },
      to: {
        path: "^apps/[^/]+/src/",
        pathNot: "^apps/[^/]+/src/index\\.ts$|^apps/cli/src/(main\\.ts|serve/index\\.ts)$",
      },
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|generated)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "default"] },
  },
};
