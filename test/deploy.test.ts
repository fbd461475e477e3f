// deploy/k8s validates (issue 15 item 3): every document against the Kubernetes API schemas
// (kubernetes-models) or the CloudNativePG CRD schemas (@kubernetes-models/cloudnative-pg), and the
// properties the operators rely on: probes on /healthz and /readyz, resource requests, PDBs, and
// NetworkPolicies that let only the RA reach the issuer and only the issuer reach the HSM.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Cluster, ScheduledBackup } from "@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { CronJob } from "kubernetes-models/batch/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Namespace, PersistentVolumeClaim, Service } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

const DIR = resolve(import.meta.dirname, "../deploy/k8s");
type Doc = { apiVersion: string; kind: string; metadata: { name: string }; spec?: Record<string, unknown> };
const docs: Doc[] = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort()
  .flatMap((f) => parseAllDocuments(readFileSync(join(DIR, f), "utf8")).map((d) => d.toJSON() as Doc));

const MODELS: Record<string, new (d: never) => { validate(): void }> = {
  "v1/Namespace": Namespace,
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "apps/v1/Deployment": Deployment,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "batch/v1/CronJob": CronJob,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "postgresql.cnpg.io/v1/Cluster": Cluster,
  "postgresql.cnpg.io/v1/ScheduledBackup": ScheduledBackup,
};

const of = (kind: string) => docs.filter((d) => d.kind === kind);
const named = (kind: string, name: string) => of(kind).find((d) => d.metadata.name === name)!;

describe("deploy/k8s", () => {
  it("every document validates against its API schema", () => {
    expect(docs.length).toBeGreaterThan(15);
    for (const d of docs) {
      const Model = MODELS[`${d.apiVersion}/${d.kind}`];
      expect(Model, `${d.apiVersion}/${d.kind} has no schema here`).toBeDefined();
      expect(() => new Model!(d as never).validate(), `${d.kind}/${d.metadata.name}`).not.toThrow();
    }
  });

  it("every Deployment probes /healthz and /readyz, requests resources, runs as non-root and has a PDB", () => {
    const pdbs = of("PodDisruptionBudget").map((p) => p.metadata.name);
    for (const d of of("Deployment")) {
      const pod = (d.spec as { template: { spec: { containers: unknown[] } } }).template.spec;
      for (const c of pod.containers as {
        readinessProbe: { httpGet: { path: string } };
        livenessProbe: { httpGet: { path: string } };
        resources: { requests: { cpu: string; memory: string } };
        securityContext: { runAsNonRoot: boolean };
      }[]) {
        expect(c.readinessProbe.httpGet.path, d.metadata.name).toBe("/readyz");
        expect(c.livenessProbe.httpGet.path, d.metadata.name).toBe("/healthz");
        expect(c.resources.requests.cpu && c.resources.requests.memory, d.metadata.name).toBeTruthy();
        expect(c.securityContext.runAsNonRoot, d.metadata.name).toBe(true);
      }
      expect(pdbs, d.metadata.name).toContain(d.metadata.name);
    }
  });

  it("network policies: default deny; only the RA reaches the issuer; only the issuer reaches the HSM", () => {
    const deny = named("NetworkPolicy", "default-deny").spec as { podSelector: object; policyTypes: string[] };
    expect(deny.podSelector).toEqual({});
    expect(deny.policyTypes.sort()).toEqual(["Egress", "Ingress"]);
    const issuer = named("NetworkPolicy", "issuer").spec as {
      ingress: { from: { podSelector?: { matchLabels: Record<string, string> } }[]; ports: { port: number }[] }[];
    };
    const podSources = issuer.ingress.flatMap((r) =>
      r.from.map((f) => f.podSelector?.matchLabels?.["app.kubernetes.io/name"]),
    );
    expect(podSources.filter(Boolean)).toEqual(["iaca-ra"]);
    const ipEgress = of("NetworkPolicy")
      .filter((p) => JSON.stringify(p.spec).includes("1792"))
      .map((p) => p.metadata.name);
    expect(ipEgress).toEqual(["issuer"]);
    // HSM credentials only in the issuer's pods
    for (const d of of("Deployment"))
      expect(JSON.stringify(d).includes("iaca-hsm"), d.metadata.name).toBe(d.metadata.name === "iaca-issuer");
  });
});
