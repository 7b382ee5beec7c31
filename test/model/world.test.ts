// The simulated cluster itself: the model test is only as honest as these controllers.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/object.js';
import { fenceposts, isTerminating, podReady, World, type PodKind } from '../support/world.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type J = any;

const labels = { app: 'web' };

function deployment(replicas: number, image: string, rollingUpdate: J, extra: J = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      strategy: { type: 'RollingUpdate', rollingUpdate },
      template: { metadata: { labels }, spec: { containers: [{ name: 'web', image, ports: [{ name: 'http', containerPort: 8080 }] }] } },
      ...extra,
    },
  };
}

const livePods = (w: World) => w.store.list('Pod').filter((p) => !isTerminating(p));
const readyPods = (w: World) => livePods(w).filter(podReady);
const imageOf = (p: KubeObject) => (p as J).spec.containers[0].image as string;

function setImage(w: World, image: string): void {
  w.editObject('Deployment', 'web', (d) => { d.spec.template.spec.containers[0].image = image; });
}

describe('the Deployment controller', () => {
  it('resolves maxSurge up and maxUnavailable down, and lets one pod go when both are 0', () => {
    expect(fenceposts('25%', '25%', 3)).toEqual({ surge: 1, unavailable: 0 });
    expect(fenceposts(0, '10%', 3)).toEqual({ surge: 0, unavailable: 1 });
    expect(fenceposts(2, 1, 10)).toEqual({ surge: 2, unavailable: 1 });
    expect(fenceposts('50%', '50%', 5)).toEqual({ surge: 3, unavailable: 2 });
  });

  for (const [surge, unavailable] of [[1, 0], [0, 1], ['25%', 0], [2, 1], ['50%', '50%']] as const) {
    it(`rolls a new template within maxSurge ${surge} and maxUnavailable ${unavailable}`, () => {
      for (let seed = 1; seed <= 5; seed++) {
        const replicas = 4;
        const { surge: s, unavailable: u } = fenceposts(surge, unavailable, replicas);
        let rolling = false;
        const w = new World({
          seed,
          onSettled: (world) => {
            if (!rolling) return;
            expect(livePods(world).length, 'pods above replicas + maxSurge').toBeLessThanOrEqual(replicas + s);
            expect(readyPods(world).length, 'Ready pods below replicas - maxUnavailable').toBeGreaterThanOrEqual(replicas - u);
          },
        });
        w.store.create(deployment(replicas, 'img:v1', { maxSurge: surge, maxUnavailable: unavailable }));
        expect(w.runUntilQuiet(600_000)).toBe(true);
        expect(readyPods(w).length).toBe(replicas);
        rolling = true;
        setImage(w, 'img:v2');
        expect(w.runUntilQuiet(600_000)).toBe(true);
        expect(readyPods(w).map(imageOf)).toEqual(Array(replicas).fill('img:v2'));
        const d: J = w.store.get('Deployment', 'web');
        expect(d.status).toMatchObject({ observedGeneration: d.metadata.generation, replicas, readyReplicas: replicas, updatedReplicas: replicas, availableReplicas: replicas });
        expect(d.status.conditions.find((c: J) => c.type === 'Progressing').reason).toBe('NewReplicaSetAvailable');
        // One ReplicaSet per template: the old one is kept at 0.
        expect(w.store.list('ReplicaSet').map((rs: J) => rs.spec.replicas).sort()).toEqual([0, replicas]);
      }
    });
  }

  it('never takes a Ready pod away while a new template cannot become Ready (maxUnavailable 0)', () => {
    const w = new World({ seed: 3 });
    w.store.create(deployment(3, 'img:v1', { maxSurge: 1, maxUnavailable: 0 }, { progressDeadlineSeconds: 60 }));
    w.runUntilQuiet(600_000);
    setImage(w, 'img:hang');
    w.advance(300_000);
    expect(readyPods(w).map(imageOf)).toEqual(['img:v1', 'img:v1', 'img:v1']);
    expect(livePods(w).filter((p) => imageOf(p) === 'img:hang')).toHaveLength(1);
    const d: J = w.store.get('Deployment', 'web');
    expect(d.status.conditions.find((c: J) => c.type === 'Progressing')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
  });

  it('times out progressDeadlineSeconds after a resume that is followed by no progress (DeploymentTimedOut counts from DeploymentResumed)', () => {
    const w = new World({ seed: 3 });
    w.store.create(deployment(1, 'img:v1', { maxSurge: 1, maxUnavailable: 0 }, { progressDeadlineSeconds: 60 }));
    w.runUntilQuiet(600_000);
    setImage(w, 'img:hang');
    w.advance(5_000);
    w.editObject('Deployment', 'web', (d) => { d.spec.paused = true; });
    w.advance(120_000);
    const progressing = () => (w.store.get('Deployment', 'web') as J).status.conditions.find((c: J) => c.type === 'Progressing');
    expect(progressing()).toMatchObject({ status: 'Unknown', reason: 'DeploymentPaused' });
    w.editObject('Deployment', 'web', (d) => { delete d.spec.paused; });
    w.advance(30_000);
    expect(progressing()).toMatchObject({ status: 'Unknown', reason: 'DeploymentResumed' });
    // Nothing else happens: the deadline alone wakes the controller.
    w.runUntilQuiet(600_000);
    expect(progressing()).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
  });

  it('scales down unready pods first', () => {
    let made = 0;
    const w = new World({ seed: 4, podKind: (): PodKind => (made++ < 2 ? 'good' : 'never') });
    w.store.create(deployment(2, 'img:v1', { maxSurge: 1, maxUnavailable: 0 }));
    w.runUntilQuiet(600_000);
    const ready = readyPods(w).map((p) => p.metadata.name).sort();
    w.editObject('Deployment', 'web', (d) => { d.spec.replicas = 5; });
    w.advance(60_000);
    expect(livePods(w)).toHaveLength(5);
    w.editObject('Deployment', 'web', (d) => { d.spec.replicas = 2; });
    w.advance(10_000);
    expect(livePods(w).map((p) => p.metadata.name).sort()).toEqual(ready);
  });

  it('scales old and new ReplicaSets proportionally when replicas change mid-rollout', () => {
    const w = new World({ seed: 5, lateness: 0 });
    w.store.create(deployment(10, 'img:v1', { maxSurge: 3, maxUnavailable: 0 }));
    w.runUntilQuiet(600_000);
    setImage(w, 'img:hang');
    w.advance(30_000);
    const sizes = () => w.store.list('ReplicaSet').map((rs: J) => [rs.spec.template.spec.containers[0].image, rs.spec.replicas]);
    expect(Object.fromEntries(sizes())).toEqual({ 'img:v1': 10, 'img:hang': 3 });
    w.editObject('Deployment', 'web', (d) => { d.spec.replicas = 20; });
    w.advance(1000);
    // 13 pods for at most 13 become 26 for at most 26 (20 + surge 3... of 20: 3), split 2:1 as before.
    const after = Object.fromEntries(sizes());
    expect(after['img:v1'] + after['img:hang']).toBe(23);
    expect(after['img:v1']).toBe(18);
  });

  it('creates no ReplicaSet for a new template while paused, and rolls once resumed', () => {
    const w = new World({ seed: 6 });
    w.store.create(deployment(2, 'img:v1', { maxSurge: 1, maxUnavailable: 0 }));
    w.runUntilQuiet(600_000);
    w.editObject('Deployment', 'web', (d) => { d.spec.paused = true; d.spec.template.spec.containers[0].image = 'img:v2'; });
    w.advance(120_000);
    expect(w.store.list('ReplicaSet')).toHaveLength(1);
    expect(livePods(w).map(imageOf)).toEqual(['img:v1', 'img:v1']);
    w.editObject('Deployment', 'web', (d) => { delete d.spec.paused; });
    w.runUntilQuiet(600_000);
    expect(readyPods(w).map(imageOf)).toEqual(['img:v2', 'img:v2']);
  });

  it('hashes again when a ReplicaSet of its name is someone else\'s (deleted and made again before the GC came)', () => {
    const w = new World({ seed: 15 });
    w.store.create(deployment(2, 'img:v1', { maxSurge: 1, maxUnavailable: 0 }));
    w.runUntilQuiet(600_000);
    w.deleteObject('Deployment', 'web');
    w.store.create(deployment(2, 'img:v1', { maxSurge: 1, maxUnavailable: 0 }));
    w.runUntilQuiet(600_000);
    const d: J = w.store.get('Deployment', 'web');
    expect(w.store.list('ReplicaSet').map((rs) => rs.metadata.ownerReferences?.[0]?.uid)).toEqual([d.metadata.uid]);
    expect(readyPods(w)).toHaveLength(2);
  });

  it('can be a second late', () => {
    const w = new World({ seed: 7, lateness: 1 });
    w.store.create(deployment(2, 'img:v1', { maxSurge: 1, maxUnavailable: 0 }));
    w.settle();
    expect(w.store.list('ReplicaSet')).toHaveLength(0);
    w.advance(1000);
    expect(w.store.list('ReplicaSet')).toHaveLength(1);
    w.runUntilQuiet(600_000);
    expect((w.store.get('Deployment', 'web') as J).status.readyReplicas).toBe(2);
  });
});

describe('pods', () => {
  it('become Ready after a while, never (hang), or crash-loop (crash); deleted ones linger as terminating', () => {
    const w = new World({ seed: 8 });
    w.store.create(deployment(2, 'img:v1', { maxSurge: 1, maxUnavailable: 0 }));
    w.runUntilQuiet(600_000);
    expect(readyPods(w)).toHaveLength(2);
    setImage(w, 'img:crash');
    w.advance(60_000);
    const crashing = livePods(w).filter((p) => imageOf(p) === 'img:crash');
    expect(crashing.length).toBeGreaterThan(0);
    for (const p of crashing) expect((p as J).status.containerStatuses[0].state.waiting.reason).toBe('CrashLoopBackOff');
    setImage(w, 'img:v1');
    w.settle();
    w.settle();
    const terminating = w.store.list('Pod').filter(isTerminating);
    expect(terminating.length).toBeGreaterThan(0);
    w.advance(10_000);
    expect(w.store.list('Pod').filter(isTerminating)).toHaveLength(0);
  });
});

describe('EndpointSlices', () => {
  function service(targetPort: number | string): KubeObject {
    return { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort }] } };
  }

  it('hold the Ready, non-terminating pods a Service selects', () => {
    const w = new World({ seed: 9, readyDelayMs: [20_000, 40_000] });
    w.store.create(service('http'));
    w.store.create(deployment(3, 'img:v1', { maxSurge: 1, maxUnavailable: 0 }));
    w.advance(5_000);
    expect(livePods(w).length).toBe(3);
    expect(w.servingPods('web')).toHaveLength(0);
    w.runUntilQuiet(600_000);
    expect(w.servingPods('web')).toHaveLength(3);
    w.editObject('Deployment', 'web', (d) => { d.spec.replicas = 1; });
    w.settle();
    w.settle();
    // Those scaled away are terminating at once, and no longer ready endpoints.
    expect(w.store.list('Pod').filter(isTerminating).length).toBe(2);
    expect(w.servingPods('web')).toHaveLength(1);
  });

  it('count a pod for a named targetPort only if it has a port of that name; a number counts any', () => {
    const w = new World({ seed: 10 });
    w.store.create(service('web'));
    w.store.create(deployment(2, 'img:v1', { maxSurge: 1, maxUnavailable: 0 }));
    w.runUntilQuiet(600_000);
    expect(readyPods(w)).toHaveLength(2);
    expect(w.servingPods('web')).toHaveLength(0);
    w.editObject('Service', 'web', (s) => { s.spec.ports[0].targetPort = 9999; });
    w.settle();
    expect(w.servingPods('web')).toHaveLength(2);
    w.editObject('Service', 'web', (s) => { s.spec.ports[0].targetPort = 'http'; });
    w.settle();
    expect(w.servingPods('web')).toHaveLength(2);
    const slice: J = w.endpointSlices('web')[0];
    expect(slice.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
  });
});

describe('the store', () => {
  it('bumps generation on a spec change only, and resourceVersion on any real change', () => {
    const w = new World({ seed: 11 });
    const d = w.store.create(deployment(0, 'img:v1', { maxSurge: 1, maxUnavailable: 0 }));
    const rv = d.metadata.resourceVersion;
    expect(w.store.update(d)).toBe(d);
    const labelled = w.store.update({ ...d, metadata: { ...d.metadata, labels: { a: 'b' } } });
    expect(labelled.metadata.generation).toBe(1);
    expect(labelled.metadata.resourceVersion).not.toBe(rv);
    const resized = w.store.update({ ...labelled, spec: { ...(labelled as J).spec, replicas: 2 } });
    expect(resized.metadata.generation).toBe(2);
    expect(Object.isFrozen((resized as J).spec.template)).toBe(true);
  });
});

describe('the operator', () => {
  const spec = { image: 'registry.example/orders:v1', replicas: 2, ports: [{ name: 'http', port: 8080 }] };

  it('reconciles on events and requeues only: at steady state, never', () => {
    const w = new World({ seed: 12 });
    w.createMicroservice(spec);
    expect(w.runUntilQuiet(600_000)).toBe(true);
    expect(w.microservice().status?.phase).toBe('Healthy');
    const n = w.reconciles.length;
    w.advance(3_600_000);
    expect(w.reconciles.length).toBe(n);
    w.editSpec((s) => ({ ...s, replicas: 3 }));
    w.runUntilQuiet(600_000);
    expect(w.reconciles.length).toBeGreaterThan(n);
    expect(w.servingPods('orders')).toHaveLength(3);
  });

  it('clears the action annotation it acted on, and reconciles everything after a restart', () => {
    const w = new World({ seed: 13 });
    w.createMicroservice({ ...spec, strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: {} }] } } });
    w.runUntilQuiet(600_000);
    w.setAction('pause:1');
    w.runUntilQuiet(60_000);
    expect(w.microservice().metadata.annotations?.['coxswain.dev/action']).toBeUndefined();
    expect(w.microservice().status?.lastAction).toMatchObject({ id: '1', action: 'pause', ok: true });
    const n = w.reconciles.length;
    w.restartOperator();
    w.settle();
    expect(w.reconciles.length).toBe(n + 1);
  });

  it('reads a cache its watches feed late, twice, and after its own writes\' answers: never going back in time', () => {
    const refused = { answers: 0, events: 0 };
    for (let seed = 1; seed <= 5; seed++) {
      const seen = new Map<string, bigint>();
      const w = new World({
        seed,
        onSettled: (x) => {
          for (const o of x.cachedAll()) {
            const key = `${o.kind}/${o.metadata.name}`;
            const rv = BigInt(o.metadata.resourceVersion ?? 0);
            expect(rv, `${key} went back in the cache`).toBeGreaterThanOrEqual(seen.get(key) ?? 0n);
            seen.set(key, rv);
          }
        },
      });
      w.createMicroservice({ ...spec, strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: { duration: '10s' } }] } } });
      w.runUntilQuiet(600_000);
      w.lagWatches(3_600_000, 3000);
      w.editSpec((s) => ({ ...s, image: 'registry.example/orders:v2', replicas: 3 }));
      w.runUntilQuiet(600_000);
      expect(w.microservice().status?.phase).toBe('Healthy');
      expect(w.servingPods('orders').map((p) => (p as J).spec.containers[0].image)).toEqual(Array(3).fill('registry.example/orders:v2'));
      refused.answers += w.stale.answers;
      refused.events += w.stale.events;
    }
    // Both happened: answers older than the watch, and events older than an answer or duplicated.
    expect(refused.answers).toBeGreaterThan(0);
    expect(refused.events).toBeGreaterThan(0);
  });

  it('can die in the middle of a reconcile, having done only some of its writes', () => {
    const w = new World({ seed: 14 });
    w.createMicroservice(spec);
    w.restartOperator(1);
    w.settle();
    expect(w.reconciles[0]?.error).toMatch(/crashed/);
    expect(w.reconciles[0]?.writes).toHaveLength(1);
    expect(w.restarts).toBe(1);
    w.runUntilQuiet(600_000);
    expect(w.microservice().status?.phase).toBe('Healthy');
  });
  it('answers the measurements the engine asks for with each revision\'s health when taken, and loses those in flight on a restart', () => {
    const metric = { name: 'error-rate', interval: '10s', max: 0.05, prometheus: { query: 'q{revision="{{revision}}"}', address: 'http://prometheus:9090' } };
    const w = new World({ seed: 15 });
    w.createMicroservice({ ...spec, analysis: { metrics: [metric] }, strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { analysis: { metrics: ['error-rate'], duration: '30s' } }] } } });
    w.runUntilQuiet(600_000);
    expect(w.taken).toHaveLength(0);
    w.editSpec((s) => ({ ...s, image: 'registry.example/orders:v2' }));
    const v2 = () => w.microservice().status?.desiredRevision;
    expect(w.advanceUntil((x) => x.taken.length > 0, 300_000)).toBe(true);
    expect(w.taken[0]).toMatchObject({ revision: v2(), run: 'step-1', seq: 1, health: 'good' });
    // A query in flight when the operator restarts is lost; status says it is due, so it is taken again.
    w.advanceUntil(() => w.reconciles.at(-1)?.status?.rollout?.analysis?.step?.metrics[0]?.nextAt !== undefined, 60_000);
    const due = Date.parse(w.microservice().status!.rollout!.analysis!.step!.metrics[0]!.nextAt!);
    w.advance(due - w.now);
    expect(w.measurementsInFlight).toBe(1);
    w.restartOperator();
    expect(w.measurementsInFlight).toBe(0);
    w.setHealth(v2()!, 'bad');
    w.runUntilQuiet(600_000);
    expect(w.taken.at(-1)).toMatchObject({ revision: v2(), seq: 2, health: 'bad' });
    expect(w.microservice().status?.rollout?.abortedRevision).toBe(v2());
    expect(w.microservice().status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ reason: 'AnalysisFailed' });
  });
});
