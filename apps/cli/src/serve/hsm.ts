import { ClusterKeyStore, type HsmRole, hsmConfigFromEnv, KeyStore, roleConfig } from "@iaca/hsm";
import type { IssuerKeyStore } from "@iaca/issuance";
import { type AuditSink, IacaError } from "@iaca/policy";

/** One token of a role, from the environment ($IACA_HSM_*). */
export async function openRole(role: HsmRole, audit: AuditSink, actor: string): Promise<KeyStore> {
  const node = roleConfig(hsmConfigFromEnv(process.env, { roles: [role] }), role).nodes[0]!;
  return KeyStore.open({ module: node.module, token: node.token, pin: node.pin, audit, actor, name: node.name });
}

/**
 * The DS HSM: one token, or, when `IACA_HSM_DS_NODES` names several, a cluster the issuer signs
 * through (an unavailable node is skipped; hsm.cluster.failover). Key administration (the demo
 * ceremony, secret keys, rotation, the trust-list signer) uses the first node; a production
 * cluster clones keys to every node by the HSM vendor's own mechanism.
 */
export async function openDs(
  audit: AuditSink,
): Promise<{ admin: KeyStore; signing: IssuerKeyStore; close(): Promise<void> }> {
  const config = hsmConfigFromEnv(process.env, { roles: ["ds"] });
  const nodes = roleConfig(config, "ds").nodes;
  if (nodes.length > 1) {
    const cluster = await ClusterKeyStore.forRole(config, "ds", audit);
    // administration on the first node that opens: the service starts whenever the cluster can sign
    for (const n of nodes) {
      const admin = await cluster.node(n.name).catch(() => undefined);
      if (admin) return { admin, signing: cluster, close: () => cluster.close() };
    }
    await cluster.close();
    throw new IacaError("HSM_UNAVAILABLE", "no DS HSM node could be opened");
  }
  const ks = await openRole("ds", audit, "svc:issuer");
  return { admin: ks, signing: ks, close: () => ks.close() };
}
