// The reconcile core with spec.adopt, once the Service is taken over: a Service another field
// manager rewrote is put back or held back as src/adopt/rewrites.ts decides, and the status says so.
import { describe, expect, it } from 'vitest';
import type { MicroserviceObject, MicroserviceStatus } from '../api/schema.js';
import type { KubeObject } from '../kube/object.js';
import { microservice, UID } from '../../test/support/fixtures.js';
import { planReconcile } from './core.js';

const NOW = new Date('2026-01-01T00:10:00Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString();
const spec = { image: 'registry.example/orders:2', replicas: 2, ports: [{ name: 'http', port: 8080 }], adopt: { deployment: 'orders-chart', service: 'orders' } };

const oldDeployment: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'orders-chart', namespace: 'shop', annotations: { 'coxswain.dev/adopted-by': 'orders' } },
  spec: { replicas: 0 }, status: {} };
/** The taken-over Service (owned) as an Argo CD sync leaves it: the chart's selector, written after Coxswain's. */
const rewritten: KubeObject = {
  apiVersion: 'v1', kind: 'Service',
  metadata: { name: 'orders', namespace: 'shop', ownerReferences: [{ apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', name: 'orders', uid: UID, controller: true }],
    managedFields: [{ manager: 'coxswain', operation: 'Apply', time: ago(20) }, { manager: 'argocd-controller', operation: 'Apply', time: ago(19) }] } as never,
  spec: { selector: { app: 'orders' }, ports: [{ name: 'http', port: 8080, targetPort: 'http' }] },
};

function plan(serviceRewrites?: NonNullable<MicroserviceStatus['adoption']>['serviceRewrites'], live: KubeObject = rewritten) {
  const status: MicroserviceStatus = { adoption: { deployment: 'orders-chart', phase: 'Done', replicas: 2, scaledTo: 0, startedAt: ago(600), ...(serviceRewrites ? { serviceRewrites } : {}) } };
  const ms = microservice(spec, {}, status) as MicroserviceObject;
  const p = planReconcile({ ms, owned: [], pods: [], now: NOW, adopted: { deployment: oldDeployment, service: live } });
  const service = p.writes.find((w) => 'apply' in w && w.apply.kind === 'Service' && w.apply.metadata.name === 'orders');
  return { service, finished: p.finish([]) };
}

describe('a taken-over Service rewritten by another field manager', () => {
  it('is put back at once the first time, taken over again by the apply, and recorded', () => {
    const { service, finished } = plan();
    expect(service).toMatchObject({ takeOver: true });
    expect(finished.status?.adoption?.serviceRewrites).toEqual({ manager: 'argocd-controller', count: 1, lastPutBack: NOW.toISOString() });
    expect(finished.status?.conditions?.find((c) => c.type === 'Stalled')?.reason).not.toBe('AdoptedServiceRewritten');
  });

  it('is held back while the wait runs: no write to it, Stalled naming the manager, and a pass due when the wait ends', () => {
    const { service, finished } = plan({ manager: 'argocd-controller', count: 1, lastPutBack: ago(10) });
    expect(service).toBeUndefined();
    const stalled = finished.status?.conditions?.find((c) => c.type === 'Stalled');
    expect([stalled?.status, stalled?.reason]).toEqual(['True', 'AdoptedServiceRewritten']);
    expect(stalled?.message).toContain('rewritten by argocd-controller');
    expect(finished.requeueAfterMs).toBeLessThanOrEqual(20_000);
    // The rest of the Microservice is written as usual: its pods keep serving.
    expect(finished.status?.adoption?.phase).toBe('Done');
  });

  it('is held back the same when the other manager took the owner reference off (a kubectl replace)', () => {
    const { ownerReferences: _, ...metadata } = rewritten.metadata;
    const { service, finished } = plan({ manager: 'kubectl-replace', count: 2, lastPutBack: ago(10) }, { ...rewritten, metadata });
    expect(service).toBeUndefined();
    expect([finished.status?.adoption?.phase, finished.status?.conditions?.find((c) => c.type === 'Stalled')?.reason]).toEqual(['TakingOverService', 'AdoptedServiceRewritten']);
    // Its wait over, it is taken over again by the one apply.
    expect(plan({ manager: 'kubectl-replace', count: 2, lastPutBack: ago(61) }, { ...rewritten, metadata }).service).toMatchObject({ takeOver: true });
  });
});
