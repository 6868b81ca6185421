import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments, parse } from 'yaml';
import { loadConfig } from '../src/infra/config/app-config.js';
import { parseWorkerQueues } from '../src/infra/queues/queues.js';
import { ROOT } from './support/processes.js';

type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: unknown };
interface Validating {
  validate(): void;
}

/** The model class of each kind used, from kubernetes-models (its JSON schemas, checked offline). */
const MODELS: Record<string, new (data: never) => Validating> = {
  'apps/v1 Deployment': Deployment,
  'autoscaling/v2 HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'batch/v1 Job': Job,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'v1 ConfigMap': ConfigMap,
  'v1 Secret': Secret,
  'v1 Service': Service,
};

const K8S = path.join(ROOT, 'deploy/k8s');

function manifests(): Manifest[] {
  return readdirSync(K8S)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      parseAllDocuments(readFileSync(path.join(K8S, f), 'utf8')).map(
        (d) => d.toJS({ maxAliasCount: 100 }) as Manifest | null,
      ),
    )
    .filter((m): m is Manifest => m !== null);
}

type Container = { env?: { name: string; value: string }[]; envFrom?: unknown[] };

/**
 * The Kubernetes manifests and the `scale` profile of docker-compose.yml,
 * checked offline: every object against the Kubernetes API's schema, every
 * process's environment through the app's own config validation.
 */
describe('deployment manifests', () => {
  it('every Kubernetes object is valid against its API schema', () => {
    const all = manifests();
    expect(all.length).toBeGreaterThan(8);
    for (const m of all) {
      const Model = MODELS[`${m.apiVersion} ${m.kind}`];
      expect(Model).toBeDefined();
      expect(() => new Model!(m as never).validate()).not.toThrow();
    }
  });

  it('has an API and each worker kind with probes, a disruption budget each, autoscaling on CPU', () => {
    const all = manifests();
    const deployments = all.filter((m) => m.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([
      'flash-sale-api',
      'flash-sale-worker-admin',
      'flash-sale-worker-events',
      'flash-sale-worker-orders',
    ]);
    const budgets = all.filter((m) => m.kind === 'PodDisruptionBudget').map((m) => m.metadata.name);
    const scaled = all.filter((m) => m.kind === 'HorizontalPodAutoscaler').map((m) => m.metadata.name);
    for (const d of deployments) {
      const spec = d.spec as { template: { spec: { containers: (Container & Record<string, unknown>)[] } } };
      const [container] = spec.template.spec.containers;
      expect(container).toHaveProperty('readinessProbe');
      expect(container).toHaveProperty('livenessProbe');
      expect(budgets).toContain(d.metadata.name);
    }
    expect(scaled).toEqual(expect.arrayContaining(['flash-sale-api', 'flash-sale-worker-orders']));
  });

  it("each process's environment (ConfigMap, Secret, its own env) passes the app's config validation", () => {
    const all = manifests();
    const config = all.find((m) => m.kind === 'ConfigMap')!.data as Record<string, string>;
    const secret = all.find((m) => m.kind === 'Secret')!.stringData as Record<string, string>;
    for (const d of all.filter((m) => m.kind === 'Deployment')) {
      const spec = d.spec as { template: { spec: { containers: Container[] } } };
      const own = Object.fromEntries((spec.template.spec.containers[0]!.env ?? []).map((e) => [e.name, e.value]));
      const env = { ...config, ...secret, ...own };
      expect(() => loadConfig(env)).not.toThrow();
      if (own.WORKER_QUEUES) expect(() => parseWorkerQueues(own.WORKER_QUEUES!)).not.toThrow();
    }
  });

  it('the compose profile `scale`: a cluster of 6 nodes, 3 API copies behind nginx, 3 workers covering every queue', () => {
    const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { profiles?: string[]; environment?: Record<string, string>; command?: string[] }>;
    };
    const scale = Object.entries(compose.services).filter(([, s]) => s.profiles?.includes('scale'));
    const names = scale.map(([n]) => n);
    expect(names.filter((n) => n.startsWith('redis-node-'))).toHaveLength(6);
    expect(names.filter((n) => /^api-\d$/.test(n))).toHaveLength(3);
    expect(names).toContain('lb');
    const workers = scale.filter(([n]) => n.startsWith('worker-'));
    expect(workers).toHaveLength(3);
    const consumed = workers.flatMap(([, s]) => parseWorkerQueues(s.environment!.WORKER_QUEUES!));
    expect(new Set(consumed)).toEqual(new Set(parseWorkerQueues('all')));
    // As compose interpolates with nothing set: ${NAME:-default} is the default.
    const interpolated = (env: Record<string, string>): Record<string, string> =>
      Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace(/\$\{\w+:-([^}]*)\}/g, '$1')]));
    for (const [, s] of scale.filter(([n]) => /^(api|worker)-/.test(n))) {
      expect(() => loadConfig(interpolated(s.environment!))).not.toThrow();
    }
    const nginx = readFileSync(path.join(ROOT, 'deploy/nginx.conf'), 'utf8');
    for (const api of ['api-1', 'api-2', 'api-3']) expect(nginx).toContain(`server ${api}:3000`);
  });
});
