// The takeover's decisions: capacity counted across the old Deployment and the blue slot, the
// Service and HPA taken over in an order that never leaves two HPAs on the old pods, a failure put
// back, and a revived Deployment reported with its field manager rather than fought.
import { describe, expect, it } from 'vitest';
import type { MicroserviceStatus } from '../api/schema.js';
import type { KubeObject } from '../kube/object.js';
import { microservice, UID } from '../../test/support/fixtures.js';
import { ANNOTATION_ADOPTED_BY, replicasManager, takeover, type Adopted } from './takeover.js';

const NOW = new Date('2026-01-01T00:10:00Z');
const REV = 'r1';
const spec = { image: 'registry.example/orders:2', replicas: 4, ports: [{ name: 'http', port: 8080 }], adopt: { deployment: 'orders', service: 'orders', hpa: 'orders' },
  autoscaling: { minReplicas: 4, maxReplicas: 8 } };

function oldDeployment(replicas: number, pods = replicas, manager = 'coxswain', annotated = true): KubeObject {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'orders', namespace: 'shop', ...(annotated ? { annotations: { [ANNOTATION_ADOPTED_BY]: 'orders' } } : {}),
      managedFields: [{ manager: 'helm', operation: 'Update', time: '2026-01-01T00:00:00Z', fieldsV1: { 'f:spec': { 'f:replicas': {}, 'f:template': {} } } },
        { manager, operation: 'Update', subresource: 'scale', time: '2026-01-01T00:05:00Z', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }] } as never,
    spec: { replicas }, status: { replicas: pods, readyReplicas: pods },
  };
}
const helmService: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'orders', namespace: 'shop' }, spec: { selector: { app: 'orders' } } };
const hpaOn = (kind: string, name: string, hpaName = 'orders'): KubeObject => ({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler',
  metadata: { name: hpaName, namespace: 'shop', uid: 'h1' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind, name } } });

const adoption = (over: Partial<NonNullable<MicroserviceStatus['adoption']>>): MicroserviceStatus => ({
  adoption: { deployment: 'orders', phase: 'ScalingDown', revision: REV, replicas: 4, startedAt: '2026-01-01T00:08:00Z', ...over },
});
const run = (adopted: Adopted, newReady: number, status?: MicroserviceStatus, specOver = {}) =>
  takeover({ ms: microservice({ ...spec, ...specOver }, {}, status), adopted, newReady, total: 4, desiredRevision: REV, now: NOW });

describe('the takeover', () => {
  it('keeps every old pod until a new one is Ready, and the Service until the old Deployment has none', () => {
    const t = run({ deployment: oldDeployment(4, 4, 'helm', false), service: helmService, hpa: hpaOn('Deployment', 'orders') }, 0);
    expect(t.writes).toEqual([{ apply: expect.objectContaining({ metadata: { name: 'orders', namespace: 'shop', annotations: { [ANNOTATION_ADOPTED_BY]: 'orders' } } }), create: false }]);
    expect(t.withhold).toEqual(new Set(['Service/orders']));
    // The HPA named like the Microservice is retargeted by Coxswain's own apply: one HPA throughout.
    expect(t.takeOver).toEqual(new Set(['Service/orders', 'HorizontalPodAutoscaler/orders']));
    expect(t.status).toMatchObject({ phase: 'ScalingDown', replicas: 4, scaledTo: 4, startedAt: NOW.toISOString() });
  });

  it.each([[1, 3], [3, 1], [4, 0]])('with %i new pods Ready, scales the old Deployment to %i through /scale', (ready, want) => {
    const t = run({ deployment: oldDeployment(4), service: helmService }, ready, adoption({ scaledTo: 4 }));
    expect(t.writes).toEqual([{ resize: { name: 'orders', replicas: want } }]);
    expect(t.withhold.has('Service/orders')).toBe(true);
  });

  it('never scales the old Deployment up, nor below what the Ready new pods make up', () => {
    const t = run({ deployment: oldDeployment(2), service: helmService }, 1, adoption({ scaledTo: 2 }));
    expect(t.writes).toEqual([]);
    expect(t.status.scaledTo).toBe(2);
  });

  it('takes the Service over once the old pods are gone, and is done once it is Coxswain\'s', () => {
    expect(run({ deployment: oldDeployment(0, 1), service: helmService }, 4, adoption({ scaledTo: 0 })).withhold.has('Service/orders')).toBe(true);
    const taking = run({ deployment: oldDeployment(0, 0), service: helmService }, 4, adoption({ scaledTo: 0 }));
    expect([taking.withhold.size, taking.status.phase]).toEqual([0, 'TakingOverService']);
    const ours = { ...helmService, metadata: { ...helmService.metadata, ownerReferences: [{ apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', name: 'orders', uid: UID, controller: true }] } };
    const done = run({ deployment: oldDeployment(0, 0), service: ours }, 4, adoption({ scaledTo: 0 }));
    expect([done.writes, done.status.phase, done.problem]).toEqual([[], 'Done', undefined]);
  });

  it('deletes an HPA of another name on the old Deployment first, and leaves one on the Microservice alone', () => {
    const other = hpaOn('Deployment', 'orders', 'orders-hpa');
    expect(run({ deployment: oldDeployment(4), service: helmService, hpa: other }, 0, adoption({ scaledTo: 4 }), { adopt: { deployment: 'orders', service: 'orders', hpa: 'orders-hpa' } }).writes)
      .toEqual([{ delete: other }]);
    expect(run({ deployment: oldDeployment(4), service: helmService, hpa: hpaOn('Microservice', 'orders') }, 0, adoption({ scaledTo: 4 })).writes).toEqual([]);
  });

  it('puts the old Deployment back and says AdoptionFailed when the new pods are not Ready in time', () => {
    const late = adoption({ scaledTo: 3, startedAt: '2026-01-01T00:00:00Z' });
    const t = run({ deployment: oldDeployment(3), service: helmService }, 1, late, { strategy: { progressDeadlineSeconds: 300 } });
    expect(t.writes).toEqual([{ resize: { name: 'orders', replicas: 4 } }]);
    expect(t.problem?.reason).toBe('AdoptionFailed');
    expect(t.problem?.message).toContain('(1/4)');
    expect(t.withhold.has('Service/orders')).toBe(true);
    // Failed stays failed for this revision, without writing again once it is back.
    const again = run({ deployment: oldDeployment(4), service: helmService }, 1, { adoption: { ...t.status } });
    expect([again.writes, again.problem?.reason]).toEqual([[], 'AdoptionFailed']);
  });

  it('reports a Deployment scaled back up by another manager, naming it, and writes nothing to it', () => {
    const t = run({ deployment: oldDeployment(4, 4, 'argocd-controller'), service: helmService }, 2, adoption({ scaledTo: 2 }));
    expect(t.writes).toEqual([]);
    expect(t.problem).toMatchObject({ reason: 'AdoptedWorkloadRevived' });
    expect(t.problem?.message).toContain('by argocd-controller');
    const after = run({ deployment: oldDeployment(3, 3, 'argocd-controller'), service: helmService }, 4, adoption({ phase: 'Done', scaledTo: 0 }));
    expect([after.writes, after.status.phase, after.problem?.reason]).toEqual([[], 'Done', 'AdoptedWorkloadRevived']);
  });

  it('carries on once the revived Deployment is back at 0 or gone', () => {
    const back = run({ deployment: oldDeployment(0, 0, 'argocd-controller'), service: helmService }, 4, adoption({ phase: 'Done', scaledTo: 0 }));
    expect(back.problem).toBeUndefined();
    // Its pods still going away: Done all the same, the Service left alone until they are gone.
    const going = run({ deployment: oldDeployment(0, 2, 'argocd-controller'), service: helmService }, 4, adoption({ phase: 'Done', scaledTo: 0 }));
    expect([going.problem, going.status.phase, going.withhold.has('Service/orders')]).toEqual([undefined, 'Done', true]);
    const gone = run({ service: helmService }, 4, adoption({ phase: 'Done', scaledTo: 0 }));
    expect([gone.problem, gone.status.phase]).toEqual([undefined, 'Done']);
  });

  it('takes the Service over when the old Deployment is deleted mid-way (revived, then removed as the guide says)', () => {
    const gone = run({ service: helmService }, 2, adoption({ scaledTo: 2 }));
    expect([gone.writes, gone.withhold.size, gone.problem, gone.status.phase, gone.status.scaledTo]).toEqual([[], 0, undefined, 'TakingOverService', 0]);
    expect(gone.status.message).toBe('deployment/orders is gone; taking over service/orders');
  });

  it('says so when the Deployment named does not exist, and takes no Service over', () => {
    const t = run({ service: helmService }, 0);
    expect(t.problem?.reason).toBe('AdoptionFailed');
    expect(t.withhold.has('Service/orders')).toBe(true);
  });
});

describe('replicasManager', () => {
  it('is the manager that last set spec.replicas, the /scale subresource included', () => {
    expect(replicasManager(oldDeployment(4, 4, 'kubectl-edit'))).toBe('kubectl-edit');
  });

  it('takes an entry without a time (a /scale write\'s) as the latest, and names none when no entry holds spec.replicas', () => {
    const d = oldDeployment(4, 4, 'argocd-controller');
    const fields = (d.metadata as any).managedFields;
    delete fields[1].time;
    expect(replicasManager(d)).toBe('argocd-controller');
    expect(replicasManager({ ...d, metadata: { ...d.metadata, managedFields: [] } as never })).toBeUndefined();
  });
});
