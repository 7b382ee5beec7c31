// The pure reconcile core on a tiny world of API-server-shaped objects: the kept revisions, the
// stable slot rebuilt from its own, the history limit, bare actions, and when it comes back.
import { describe, expect, it } from 'vitest';
import type { MicroserviceObject, MicroserviceSpecInput } from '../api/schema.js';
import { ANNOTATION_ACTION, LABEL_REVISION } from '../api/names.js';
import type { KubeObject } from '../kube/object.js';
import { revisionOf } from '../render/index.js';
import { renderControllerRevision, revisionOfSpec } from '../render/revision.js';
import { microservice } from '../../test/support/fixtures.js';
import { serverLike } from '../../test/support/server.js';
import { planReconcile, type ReconcilePlan, type World } from './core.js';
import type { MeasurementResult } from '../rollout/analysisTypes.js';
import type { TemplateLookup } from '../rollout/analysisRefs.js';

const T0 = new Date('2024-05-01T12:00:00.000Z');
const base = (image: string): MicroserviceSpecInput => ({
  image, replicas: 2, ports: [{ name: 'http', port: 8080 }],
  strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: {} }] } },
});

/** Ready pods for a Deployment, labelled as its ReplicaSet's would be. */
function podsOf(dep: KubeObject): KubeObject[] {
  const spec = dep.spec as { replicas: number; template: { metadata: { labels: Record<string, string> } } };
  return Array.from({ length: spec.replicas }, (_, i) => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: `${dep.metadata.name}-${i}`, namespace: 'shop', labels: spec.template.metadata.labels },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  }));
}

/** A Deployment the controller has rolled out completely. */
function rolledOut(o: KubeObject): KubeObject {
  if (o.kind !== 'Deployment') return o;
  const n = (o.spec as { replicas: number }).replicas;
  return { ...o, status: { observedGeneration: o.metadata.generation, replicas: n, readyReplicas: n, updatedReplicas: n, availableReplicas: n } };
}

/** Carries out a plan's writes as the API server would, every pod Ready at once; the status written. */
function carryOut(world: World, plan: ReconcilePlan): World {
  const owned = new Map(world.owned.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
  for (const w of plan.writes) {
    if ('apply' in w) owned.set(`${w.apply.kind}/${w.apply.metadata.name}`, rolledOut(serverLike(w.apply)));
    if ('delete' in w) owned.delete(`${w.delete.kind}/${w.delete.metadata.name}`);
    if ('resize' in w) {
      const dep = owned.get(`Deployment/${w.resize.name}`)!;
      owned.set(`Deployment/${w.resize.name}`, rolledOut(serverLike({ ...dep, spec: { ...(dep.spec as object), replicas: w.resize.replicas } })));
    }
  }
  const { status } = plan.finish([]);
  const objects = [...owned.values()];
  return { ...world, owned: objects, pods: objects.filter((o) => o.kind === 'Deployment').flatMap(podsOf), ms: { ...world.ms, ...(status ? { status } : {}) } };
}

function settled(spec: MicroserviceSpecInput): World {
  const ms = microservice(spec) as MicroserviceObject;
  let world: World = { ms, owned: [], pods: [], now: T0 };
  for (let i = 0; i < 4; i++) world = carryOut(world, planReconcile(world));
  return world;
}

const revisions = (w: World) => w.owned.filter((o) => o.kind === 'ControllerRevision');
const deployment = (w: World, slot: string) => w.owned.find((o) => o.metadata.name === `orders-${slot}`);
const templateRevision = (dep: KubeObject | undefined) => (dep?.spec as { template: { metadata: { labels: Record<string, string> } } } | undefined)?.template.metadata.labels[LABEL_REVISION];

describe('planReconcile', () => {
  it('keeps the first revision as ControllerRevision 1 before any slot runs it, and then writes nothing', () => {
    const ms = microservice(base('a:1')) as MicroserviceObject;
    const plan = planReconcile({ ms, owned: [], pods: [], now: T0 });
    const kinds = plan.writes.map((w) => ('apply' in w ? w.apply.kind : ''));
    expect(kinds.indexOf('ControllerRevision')).toBeLessThan(kinds.indexOf('Deployment'));
    const world = settled(base('a:1'));
    expect(revisions(world).map((r) => [r.metadata.name, r.revision])).toEqual([[`orders-${revisionOf(microservice(base('a:1')))}`, 1]]);
    const steady = planReconcile(world);
    expect(steady.writes).toEqual([]);
    expect(steady.finish([])).toEqual({ events: [], stalled: false });
  });

  it('rebuilds a deleted stable slot from its kept revision mid-rollout, not from the spec', () => {
    let world = settled(base('a:1'));
    const stable = world.ms.status!.stableRevision!;
    world = { ...world, ms: { ...microservice(base('a:2')), status: world.ms.status } as MicroserviceObject };
    world = carryOut(world, planReconcile(world));
    expect(revisions(world)).toHaveLength(2);
    world = { ...world, owned: world.owned.filter((o) => o.metadata.name !== 'orders-blue') };
    const plan = planReconcile(world);
    const blue = plan.writes.flatMap((w) => ('apply' in w && w.apply.metadata.name === 'orders-blue' ? [w.apply] : []))[0];
    expect(templateRevision(blue)).toBe(stable);
  });

  it('goes back to a kept revision on undo=<revision> and stays there, its slot rebuilt from it', () => {
    const quick = (image: string) => ({ ...base(image), strategy: { type: 'Canary' as const, canary: { steps: [{ setWeight: 50 }] } } });
    let world = settled(quick('a:1'));
    const first = world.ms.status!.stableRevision!;
    for (const image of ['a:2', 'a:3']) {
      world = { ...world, ms: { ...microservice(quick(image)), status: world.ms.status } as MicroserviceObject };
      for (let i = 0; i < 6; i++) world = carryOut(world, planReconcile(world));
    }
    world = { ...world, ms: { ...world.ms, metadata: { ...world.ms.metadata, annotations: { [ANNOTATION_ACTION]: `undo=${first}:u1` } } } };
    for (let i = 0; i < 4; i++) {
      world = carryOut(world, planReconcile(world));
      world = { ...world, ms: { ...world.ms, metadata: { ...world.ms.metadata, annotations: {} } } };
    }
    expect(world.ms.status?.stableRevision).toBe(first);
    expect(templateRevision(deployment(world, world.ms.status!.activeSlot!))).toBe(first);
  });

  it('stalls an invalid spec, writing nothing, and warns once', () => {
    const bad = { ...microservice(base('a:1')), spec: { image: 'a:1', replicas: -1 } } as MicroserviceObject;
    const first = planReconcile({ ms: bad, owned: [], pods: [], now: T0 });
    expect(first.writes).toEqual([]);
    const { status, events, stalled } = first.finish([]);
    expect([status?.conditions?.find((c) => c.type === 'Stalled')?.reason, stalled]).toEqual(['InvalidSpec', true]);
    expect(events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'InvalidSpec' })]);
    expect(planReconcile({ ms: { ...bad, status }, owned: [], pods: [], now: T0 }).finish([])).toEqual({ events: [], stalled: true });
  });

  it('drops the oldest revisions beyond revisionHistoryLimit, never one in use', () => {
    const world = settled({ ...base('a:1'), revisionHistoryLimit: 2 });
    const ms = microservice({ ...base('a:1'), revisionHistoryLimit: 2 });
    const old = [1, 2, 3].map((n) => serverLike(renderControllerRevision(ms, { ...revisionOfSpec(microservice(base(`a:old${n}`))) }, n)));
    const plan = planReconcile({ ...world, owned: [...world.owned, ...old] });
    const deleted = plan.writes.flatMap((w) => ('delete' in w ? [w.delete.metadata.name] : []));
    // Four kept (three old, one in use), two allowed: the two oldest go.
    expect(deleted).toEqual([old[0]!.metadata.name, old[1]!.metadata.name]);
  });

  it('comes back after a pass that changed status, and after a problem, and not at rest', () => {
    const world = settled(base('a:1'));
    const next = { ...world, ms: { ...microservice(base('a:2')), status: world.ms.status } as MicroserviceObject };
    expect(planReconcile(next).finish([]).requeueAfterMs).toBe(1000);
    const blocked = planReconcile(next).finish([{ reason: 'NameConflict', message: 'taken' }]);
    expect(blocked.stalled).toBe(true);
    expect(blocked.status?.rollout?.unreadySince).toBeUndefined(); // the deadline does not run while blocked
    const conflict = [{ reason: 'NameConflict', message: 'taken' }];
    const stalled = { ...world, ms: { ...world.ms, status: planReconcile(world).finish(conflict).status } };
    expect(planReconcile(stalled).finish(conflict)).toMatchObject({ status: undefined, requeueAfterMs: 15_000 }); // nothing new to say: look again later
    expect(planReconcile(world).finish([]).requeueAfterMs).toBeUndefined();
  });

  it('counts pods with the spec\'s minReadySeconds, sets it on the slot, and comes back when the next pod becomes available', () => {
    const world = settled(base('registry.example/orders:1'));
    const readySince = (p: KubeObject, seconds: number): KubeObject => ({
      ...p, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(T0.getTime() + seconds * 1000).toISOString() }] },
    });
    const ms = { ...world.ms, spec: { ...(world.ms.spec as object), minReadySeconds: 5 } };
    const plan = planReconcile({ ...world, ms, pods: world.pods.map((p, i) => readySince(p, i === 0 ? -10 : -4.5)) });
    expect(plan.writes.flatMap((w) => ('apply' in w && w.apply.kind === 'Deployment' ? [(w.apply.spec as { minReadySeconds?: number }).minReadySeconds] : []))).toEqual([5]);
    const finished = plan.finish([]);
    expect(finished.status?.slots?.blue?.readyReplicas).toBe(1);
    expect(finished.requeueAfterMs).toBe(500);
  });

  it('gives a bare action an id instead of running it, so it runs once however often it is set', () => {
    const world = settled(base('a:1'));
    const ms = { ...world.ms, metadata: { ...world.ms.metadata, resourceVersion: '42', annotations: { [ANNOTATION_ACTION]: 'pause' } } };
    const plan = planReconcile({ ...world, ms });
    expect(plan.nameAction).toEqual({ from: 'pause', to: 'pause:rv42' });
    expect(plan.clearAction).toBeUndefined();
    expect(plan.finish([]).status?.lastAction).toBeUndefined();
    const named = { ...ms, metadata: { ...ms.metadata, annotations: { [ANNOTATION_ACTION]: 'pause:rv42' } } };
    const run = planReconcile({ ...world, ms: named });
    expect(run.clearAction).toBe('pause:rv42');
    expect(run.finish([]).status?.lastAction).toMatchObject({ id: 'rv42', action: 'pause', ok: true });
  });
});

// ---- analysis: the measurements handed to the shell, the results folded in, the templates resolved

const errorRateMetric = { name: 'error-rate', interval: '10s', prometheus: { query: 'rate(e{revision="{{revision}}"}[1m])' }, max: 0.05 };
const analysisSpec = (image: string, analysis: Record<string, unknown> = { metrics: [errorRateMetric] }): MicroserviceSpecInput => ({
  image, replicas: 2, ports: [{ name: 'http', port: 8080 }], analysis,
  strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { analysis: { metrics: ['error-rate'] } }] } },
});

/** The first revision live, then a second one applied and reconciled until it asks for a measurement. */
function atAnalysis(s2: MicroserviceSpecInput, templates?: TemplateLookup): { world: World; plan: ReconcilePlan } {
  let world: World = { ms: microservice(analysisSpec('registry.example/orders:1', s2.analysis as never)) as MicroserviceObject, owned: [], pods: [], now: T0, ...(templates ? { templates } : {}) };
  for (let i = 0; i < 4; i++) world = carryOut(world, planReconcile(world));
  world = { ...world, ms: { ...world.ms, spec: s2 } };
  for (let i = 0; i < 8; i++) {
    const plan = planReconcile(world);
    if (plan.measurements.length > 0) return { world, plan };
    world = { ...carryOut(world, plan), measurements: [] };
  }
  return { world, plan: planReconcile(world) };
}

describe('planReconcile with analysis', () => {
  it('hands the shell the measurement due, and folds its result into status on a later pass', () => {
    const { world, plan } = atAnalysis(analysisSpec('registry.example/orders:2'));
    expect(plan.measurements).toHaveLength(1);
    const req = plan.measurements[0]!;
    expect(req).toMatchObject({ run: 'step-1', seq: 1, metric: { name: 'error-rate' } });
    const next = { ...carryOut(world, plan), measurements: [] };
    const result: MeasurementResult = { key: req.key, run: req.run, runStartedAt: req.runStartedAt, revision: req.revision, metric: 'error-rate', seq: 1, at: T0.toISOString(), candidate: { values: [0.01] } };
    const folded = planReconcile({ ...next, measurements: [result] });
    expect(folded.measured).toEqual([{ metric: 'error-rate', phase: 'Passed', value: '0.01' }]);
    const status = folded.finish([]).status!;
    expect(status.rollout?.analysis?.step?.phase).toBe('Passed');
  });

  it('a ClusterAnalysisTemplate not found is Stalled, AnalysisTemplateNotFound, and the step asks nothing', () => {
    const templates: TemplateLookup = { synced: true, clusterWide: true, get: () => undefined };
    const refs = { templateRefs: [{ name: 'http', kind: 'ClusterAnalysisTemplate' }] };
    const { world, plan } = atAnalysis(analysisSpec('registry.example/orders:2', refs), templates);
    expect(plan.measurements).toEqual([]);
    const stalled = (plan.finish([]).status ?? world.ms.status)!.conditions!.find((c) => c.type === 'Stalled')!;
    expect(stalled).toMatchObject({ status: 'True', reason: 'AnalysisTemplateNotFound', message: 'spec.analysis.templateRefs[0]: ClusterAnalysisTemplate http not found' });
  });

  it('takes the metric from the template once it is there', () => {
    const templates: TemplateLookup = { synced: true, clusterWide: true, get: (ref) => (ref.name === 'http' ? { spec: { metrics: [errorRateMetric] } } : undefined) };
    const { world, plan } = atAnalysis(analysisSpec('registry.example/orders:2', { templateRefs: [{ name: 'http', kind: 'ClusterAnalysisTemplate' }] }), templates);
    expect(plan.measurements.map((m) => m.metric.name)).toEqual(['error-rate']);
    expect((plan.finish([]).status ?? world.ms.status)?.conditions?.find((c) => c.type === 'Stalled')?.status ?? 'False').toBe('False');
  });
});
