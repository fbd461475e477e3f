import type { Policy } from "@iaca/policy";
import { PATHS } from "./paths.ts";
import type { TreeList, TrustIndexCertificate } from "./tree.ts";

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

interface TrustDoc {
  provider: string;
  updated: string;
  certificates: TrustIndexCertificate[];
  trustList: { path: string; issueId: number; date: string; nextUpdate: string | null } | null;
}

const KIND_LABEL: Record<string, string> = {
  iaca: "IACA root",
  link: "Link certificate",
  "trust-list-signer": "Trust-list signer",
  "status-list-signer": "Status-list signer",
  ds: "Document Signer",
};

/** The landing page: everything published, for a person. Plain HTML, no scripts. */
export function renderIndexHtml(args: { policy: Policy; trust: TrustDoc; lists: TreeList[] }): string {
  const { trust } = args;
  const rows = trust.certificates
    .map(
      (c) => `      <tr class="${esc(c.status)}">
        <td>${esc(KIND_LABEL[c.kind] ?? c.kind)}</td>
        <td>${esc(c.status)}</td>
        <td>${esc(c.subject)}</td>
        <td><code>${esc(c.serialNumber)}</code></td>
        <td>${esc(c.notBefore.slice(0, 10))} – ${esc(c.notAfter.slice(0, 10))}</td>
        <td><a href="${esc(c.urls.der)}">DER</a> <a href="${esc(c.urls.pem)}">PEM</a></td>
        <td><code title="SHA-256">${esc(c.sha256)}</code></td>
      </tr>`,
    )
    .join("\n");
  const name = (l: TreeList) =>
    `${l.kind === "crl" ? "CRL (Document Signer certificates)" : "ARL (CA certificates)"}, root key ${l.gen}`;
  const list = (l: TreeList) =>
    l.info
      ? `<li><a href="${esc(l.path)}">${name(l)}</a> number ${esc(l.info.number?.toString() ?? "-")}, thisUpdate ${esc(l.info.thisUpdate.toISOString())}, nextUpdate ${esc(l.info.nextUpdate?.toISOString() ?? "-")}${l.freshness.state === "expired" ? " <strong>(nextUpdate has passed: not current)</strong>" : l.freshness.state === "warning" ? " (a newer list is due)" : ""}</li>`
      : `<li>${name(l)}: not yet published</li>`;
  const lists = args.lists.length ? args.lists.map(list).join("\n    ") : "<li>CRL and ARL: not yet published</li>";
  const tl = trust.trustList
    ? `<li><a href="${esc(trust.trustList.path)}">Signed trust list</a> (VICAL-style COSE_Sign1, issue ${trust.trustList.issueId}, ${esc(trust.trustList.date)}, nextUpdate ${esc(trust.trustList.nextUpdate ?? "-")})</li>`
    : "<li>Signed trust list: not yet published</li>";
  return `<!doctype html>
<html lang="ja">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${esc(trust.provider)} — mdoc trust publication (DTS)</title>
  <style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}code{font-size:.8rem;word-break:break-all}tr.revoked{color:#a00}tr.retired{color:#777}</style>
</head>
<body>
  <h1>${esc(trust.provider)}: mdoc trust publication</h1>
  <p>IACA, link and Document Signer certificates, CRL/ARL and the signed trust list for mdoc verifiers
  (ISO/IEC 18013-5). Machine-readable index: <a href="${PATHS.trustJson}">${PATHS.trustJson}</a>
  (<a href="${PATHS.trustSchema}">JSON Schema</a>); file digests: <a href="${PATHS.manifest}">${PATHS.manifest}</a>.</p>
  <p>Updated ${esc(trust.updated)}.</p>
  <h2>Revocation and trust list</h2>
  <ul>
    ${lists}
    ${tl}
  </ul>
  <h2>Certificates</h2>
  <table>
    <thead><tr><th>Kind</th><th>Status</th><th>Subject</th><th>Serial</th><th>Validity</th><th>Download</th><th>SHA-256</th></tr></thead>
    <tbody>
${rows}
    </tbody>
  </table>
</body>
</html>
`;
}
