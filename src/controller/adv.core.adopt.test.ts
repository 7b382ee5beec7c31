// Adversarial (wt-adv): a canary revision rolled out while a takeover is not yet done. The
// takeover is held at ScalingDown while the old Deployment is revived (a GitOps sync that keeps it
// at 4: reported, not fought, for as long as it takes the user to remove it from Git); meanwhile
// CI pushes a new image. Its canary runs in the green slot, its pods Ready and serving, yet the
// takeover counted only the blue slot's pods of the desired revision: 0 of 4, so after the
// progress deadline it failed the adoption for "new pods not Ready".
import { describe, expect, it } from 'vitest';
import type { MicroserviceObject, MicroserviceSpecInput } from '../api/schema.js';
import { LABEL_REVISION } from '../api/names.js';
import type { KubeObject } from '../kube/object.js';
import { ANNOTATION_ADOPTED_BY } from '../adopt/takeover.js';
import { microservice } from '../../test/support/fixtures.js';
import { serverLike } from '../../test/support/server.js';
import { planReconcile, type World } from './core.js';

const T0 = new Date('2024-05-01T12:00:00.000Z');
const spec = (image: string): MicroserviceSpecInput => ({
  image, replicas: 4, ports: [{ name: 'http', port: 8080 }], adopt: { deployment: 'orders-chart', service: 'orders' },
  strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: {} }] }, progressDeadlineSeconds: 60 },
});
const helmService: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'orders', namespace: 'shop' }, spec: { selector: { app: 'orders' } } };
/** The old Deployment, revived to 4 by argocd-controller after Coxswain scaled it to 3. */
const revived: KubeObject = {
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'orders-chart', namespace: 'shop', annotations: { [ANNOTATION_ADOPTED_BY]: 'orders' },
    managedFields: [{ manager: 'coxswain', operation: 'Update', subresource: 'scale', time: '2024-05-01T11:59:00Z', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
      { manager: 'argocd-controller', operation: 'Apply', time: '2024-05-01T11:59:30Z', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }] } as never,
  spec: { replicas: 4 }, status: { replicas: 4, readyReplicas: 4 },
};

/** Every pod of every slot Ready at once, as the API server and a fast kubelet would have it. */
function carryOut(world: World, writes: ReturnType<typeof planReconcile>): World {
  const owned = new Map(world.owned.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
  for (const w of writes.writes) {
    if ('apply' in w && w.apply.metadata.name !== 'orders-chart') owned.set(`${w.apply.kind}/${w.apply.metadata.name}`, serverLike(w.apply));
    if ('delete' in w) owned.delete(`${w.delete.kind}/${w.delete.metadata.name}`);
    if ('resize' in w && owned.has(`Deployment/${w.resize.name}`)) {
      const dep = owned.get(`Deployment/${w.resize.name}`)!;
      owned.set(`Deployment/${w.resize.name}`, serverLike({ ...dep, spec: { ...(dep.spec as object), replicas: w.resize.replicas } }));
    }
  }
  const objects = [...owned.values()].map((o) => {
    if (o.kind !== 'Deployment') return o;
    const n = (o.spec as { replicas: number }).replicas;
    return { ...o, status: { observedGeneration: o.metadata.generation, replicas: n, readyReplicas: n, updatedReplicas: n, availableReplicas: n } };
  });
  const pods = objects.filter((o) => o.kind === 'Deployment').flatMap((dep) => {
    const s = dep.spec as { replicas: number; template: { metadata: { labels: Record<string, string> } } };
    const hash = s.template.metadata.labels[LABEL_REVISION]!;
    return Array.from({ length: s.replicas }, (_, i): KubeObject => ({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: `${dep.metadata.name}-${hash}-${i}`, namespace: 'shop', labels: { ...s.template.metadata.labels, 'pod-template-hash': hash },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${dep.metadata.name}-${hash}`, uid: `rs-${hash}`, controller: true }] },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    }));
  });
  const { status } = writes.finish([]);
  // The old Deployment resized through /scale (by coxswain); its pods go slowly (status unchanged).
  let adopted = world.adopted;
  for (const w of writes.writes) {
    if (!('resize' in w) || w.resize.name !== 'orders-chart' || !adopted?.deployment) continue;
    const d = adopted.deployment;
    adopted = { ...adopted, deployment: { ...d, spec: { replicas: w.resize.replicas },
      metadata: { ...d.metadata, managedFields: [{ manager: 'coxswain', operation: 'Update', subresource: 'scale', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }] } as never } };
  }
  return { ...world, adopted, owned: objects, pods, ms: { ...world.ms, ...(status ? { status } : {}) } };
}

describe('a canary revision while the takeover waits on a revived Deployment', () => {
  // BUG (wt-adv report, "adopt: a canary revision before the takeover is done fails it"): core.ts
  // hands takeover() newReady = the blue slot's Ready pods of the desired revision only; the
  // canary's candidate is in green, so it reads 0/4 however many pods serve.
  it('counts the Microservice\'s Ready pods in both slots, and does not fail the takeover while they serve', () => {
    const ms = microservice(spec('a:1'), {}, { adoption: { deployment: 'orders-chart', phase: 'ScalingDown', replicas: 4, scaledTo: 3, startedAt: T0.toISOString() } }) as MicroserviceObject;
    let world: World = { ms, owned: [], pods: [], now: T0, adopted: { deployment: revived, service: helmService } };
    for (let i = 0; i < 4; i++) world = carryOut(world, planReconcile(world));
    expect(world.ms.status?.stableRevision).toBeDefined();
    expect(world.ms.status?.adoption?.phase).toBe('ScalingDown');
    expect(world.ms.status?.conditions?.find((c) => c.type === 'Stalled')?.reason).toBe('AdoptedWorkloadRevived');
    // The new image: a canary into green, at its indefinite pause with 2 + 2 pods Ready.
    world = { ...world, ms: { ...microservice(spec('a:2')), status: world.ms.status } as MicroserviceObject };
    for (let i = 0; i < 6; i++) world = carryOut(world, planReconcile(world));
    expect(world.ms.status?.rollout?.step, JSON.stringify(world.ms.status?.rollout)).toBe(1);
    expect(world.ms.status?.slots?.green?.readyReplicas).toBe(2);
    expect(world.ms.status?.readyReplicas).toBeGreaterThanOrEqual(4);
    // Two minutes on (past the 60 s deadline), still paused, still serving with 4 Ready pods.
    for (let i = 0; i < 3; i++) world = carryOut({ ...world, now: new Date(T0.getTime() + 120_000) }, planReconcile({ ...world, now: new Date(T0.getTime() + 120_000) }));
    const stalled = world.ms.status?.conditions?.find((c) => c.type === 'Stalled');
    expect(world.ms.status?.adoption?.phase, world.ms.status?.adoption?.message).not.toBe('Failed');
    expect(stalled?.reason, stalled?.message).not.toBe('AdoptionFailed');
  });
});

describe('status while a takeover is under way', () => {
  // BUG (wt-adv report, "adopt: Ready=True before the takeover is done"): once the blue slot is
  // whole, status says Ready=True, Reconciling=False "up to date", phase Healthy, while the old
  // Deployment still has its pods and the Service is still the old manager's (not yet taken
  // over). `kubectl wait --for=condition=Ready` and `kubectl coxswain status` (exit 0) tell a
  // pipeline the move is done; a `helm uninstall` of the old chart then deletes the Service,
  // which is not yet Coxswain's: every request fails until the operator creates its own.
  it('says Reconciling, not Ready, until status.adoption is Done', () => {
    const old: KubeObject = { ...revived, metadata: { ...revived.metadata, managedFields: [] } as never };
    const ms = microservice({ ...spec('a:1'), strategy: { type: 'RollingUpdate' } }) as MicroserviceObject;
    let world: World = { ms, owned: [], pods: [], now: T0, adopted: { deployment: old, service: helmService } };
    for (let i = 0; i < 5; i++) world = carryOut(world, planReconcile(world));
    const s = world.ms.status!;
    expect(s.adoption?.phase).toBe('ScalingDown');
    expect((world.adopted?.deployment?.status as { replicas: number }).replicas).toBe(4);
    const cond = (t: string) => s.conditions?.find((c) => c.type === t);
    expect([cond('Ready')?.status, cond('Reconciling')?.status, s.phase], JSON.stringify(s.conditions)).toEqual(['False', 'True', 'Progressing']);
  });
});

