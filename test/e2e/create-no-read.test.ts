// Issue 20, target 6: a new Microservice's objects are created without a read first (a
// create-only server-side apply, src/kube/resources.ts `applyNew`), and still a same-named object
// Coxswain does not own is never written: on the real API server, each such object is left exactly
// as it was (resourceVersion and managedFields) and the Microservice is Stalled NameConflict.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderFile } from '../../src/cli/render.js';
import { apply, auditMark, condition, createNamespace, deleteNamespace, eventually, getJSON, hasAuditLog, installCRD, k, microservice, Operator, operatorRequests } from './harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-create');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

const IMAGE = 'registry.example/app:1';
const WITH_CONFIG = { image: IMAGE, config: { data: { A: '1' } } };
const stalled = async (name: string) => {
  const o = await getJSON('microservice', '-n', ns, name);
  return o?.status?.observedGeneration === o?.metadata.generation ? condition(o, 'Stalled') : undefined;
};
/** What a write by anyone would change: its resourceVersion, its managers, its owners and labels. */
const fingerprint = (o: any) => ({ resourceVersion: o.metadata.resourceVersion, managedFields: o.metadata.managedFields, ownerReferences: o.metadata.ownerReferences, labels: o.metadata.labels });

describe('a new Microservice', () => {
  it('creates its objects without reading them first', async () => {
    const mark = auditMark();
    await apply(microservice('fresh', { image: IMAGE, ports: [{ name: 'http', port: 8080 }] }, ns));
    await eventually('Ready', async () => condition(await getJSON('microservice', '-n', ns, 'fresh'), 'Ready')?.status === 'True', 90_000);
    if (!hasAuditLog) return; // another cluster than the local one: no audit log to read
    const children = operatorRequests(mark, ns).filter((e) => e.objectRef?.resource !== 'microservices' && e.objectRef?.resource !== 'events' && e.objectRef?.resource !== 'pods');
    expect(children.filter((e) => e.verb === 'get').map((e) => `${e.objectRef?.resource}/${e.objectRef?.name}`)).toEqual([]);
    expect(children.filter((e) => e.verb === 'patch').length).toBeGreaterThanOrEqual(4);
  });
});

describe('an object of the same name that Coxswain does not own', () => {
  // One Microservice per kind, each finding one foreign object in the way of its first revision.
  const cases = [
    { name: 'taken-svc', spec: { image: IMAGE, ports: [{ name: 'http', port: 8080 }] }, kind: 'Service', object: (n: string) => n },
    { name: 'taken-dep', spec: { image: IMAGE }, kind: 'Deployment', object: (n: string) => `${n}-blue` },
    { name: 'taken-hpa', spec: { image: IMAGE, autoscaling: { minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 70 } }, kind: 'HorizontalPodAutoscaler', object: (n: string) => n },
    { name: 'taken-cm', spec: WITH_CONFIG, kind: 'ConfigMap', object: (n: string) => configMapOf(n, WITH_CONFIG) },
  ];
  const foreign = (kind: string, name: string) => ({
    Service: { apiVersion: 'v1', kind, metadata: { name, namespace: ns, labels: { team: 'other' } }, spec: { ports: [{ port: 1234 }], selector: { app: 'other' } } },
    Deployment: { apiVersion: 'apps/v1', kind, metadata: { name, namespace: ns, labels: { team: 'other' } }, spec: { replicas: 0, selector: { matchLabels: { app: 'other' } }, template: { metadata: { labels: { app: 'other' } }, spec: { containers: [{ name: 'c', image: 'registry.example/other:1' }] } } } },
    HorizontalPodAutoscaler: { apiVersion: 'autoscaling/v2', kind, metadata: { name, namespace: ns, labels: { team: 'other' } }, spec: { maxReplicas: 2, scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'other' } } },
    ConfigMap: { apiVersion: 'v1', kind, metadata: { name, namespace: ns, labels: { team: 'other' } }, data: { theirs: 'yes' } },
  }[kind]);

  it('is left exactly as it was, and the Microservice is Stalled NameConflict naming it', async () => {
    const resource = (kind: string) => ({ Service: 'service', Deployment: 'deployment', HorizontalPodAutoscaler: 'hpa', ConfigMap: 'configmap' }[kind]!);
    for (const c of cases) await apply(foreign(c.kind, c.object(c.name))!, '--server-side', '--field-manager=someone-else');
    // The controllers' own status writes (the Deployment's, the HPA's) come first: wait them out.
    await eventually('the foreign Deployment observed', async () => (await getJSON('deployment', '-n', ns, 'taken-dep-blue'))?.status?.observedGeneration === 1, 30_000);
    await eventually('the foreign HPA observed', async () => ((await getJSON('hpa', '-n', ns, 'taken-hpa'))?.status?.conditions?.length ?? 0) > 0, 60_000);
    const before = new Map<string, unknown>();
    for (const c of cases) before.set(c.name, fingerprint(await getJSON(resource(c.kind), '-n', ns, c.object(c.name))));

    for (const c of cases) await apply(microservice(c.name, c.spec, ns));
    for (const c of cases) {
      const s = await eventually(`${c.name} Stalled NameConflict`, async () => ((await stalled(c.name))?.reason === 'NameConflict' ? stalled(c.name) : undefined), 60_000);
      expect(s!.message).toContain(`${c.kind} ${ns}/${c.object(c.name)} exists and is not owned by this Microservice`);
    }
    // The passes after the first (the pods' events, the status write) try again: still untouched.
    await new Promise((r) => setTimeout(r, 3_000));
    for (const c of cases) {
      expect({ [c.kind]: fingerprint(await getJSON(resource(c.kind), '-n', ns, c.object(c.name))) }).toEqual({ [c.kind]: before.get(c.name) });
    }
  });
});

describe('its own object that the caches do not hold', () => {
  it('is applied again once the create is refused (its labels stripped: the informers no longer see it)', async () => {
    const svc = (await getJSON('service', '-n', ns, 'fresh'))!;
    const mark = auditMark();
    await k('label', 'service', 'fresh', '-n', ns, 'app.kubernetes.io/managed-by-');
    const back = await eventually('the label put back', async () => {
      const s = await getJSON('service', '-n', ns, 'fresh');
      return s?.metadata.labels?.['app.kubernetes.io/managed-by'] === 'coxswain' ? s : undefined;
    }, 60_000);
    expect(back.metadata.uid).toBe(svc.metadata.uid);
    if (hasAuditLog) {
      // The create refused (409), the Service read, found to be its own, applied.
      const onIt = await eventually('the requests in the audit log', async () => {
        const seen = operatorRequests(mark, ns).filter((e) => e.objectRef?.resource === 'services' && e.objectRef?.name === 'fresh');
        return seen.length >= 3 ? seen : undefined;
      }, 10_000);
      expect(onIt.map((e) => `${e.verb} ${e.responseStatus?.code}`)).toEqual(['patch 409', 'get 200', 'patch 200']);
    }
    expect(condition(await getJSON('microservice', '-n', ns, 'fresh'), 'Stalled')?.status).toBe('False');
  });
});

/** The name of the revision's ConfigMap, `<name>-config-<hash>`, as the operator renders it. */
function configMapOf(name: string, spec: Record<string, unknown>): string {
  const r = renderFile(JSON.stringify(microservice(name, spec, ns)));
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.objects.find((o) => o.kind === 'ConfigMap')!.metadata.name;
}
