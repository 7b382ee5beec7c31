// The pure reconcile core on a tiny world of API-server-shaped objects: the kept revisions, the
// stable slot rebuilt from its own, the history limit, bare actions, and when it comes back.
import { describe, expect, it } from 'vitest';
import type { MicroserviceObject, MicroserviceSpecInput } from '../api/schema.js';
import { ANNOTATION_ACTION, ANNOTATION_EJECT, LABEL_REVISION, LABEL_ROLE } from '../api/names.js';
import type { KubeObject } from '../kube/object.js';
import { revisionOf } from '../render/index.js';
import { renderControllerRevision, revisionOfSpec } from '../render/revision.js';
import { microservice } from '../../test/support/fixtures.js';
import { serverLike } from '../../test/support/server.js';
import { planReconcile, type ReconcilePlan, revisionWrites, type World } from './core.js';
import type { MeasurementResult } from '../analysis/types.js';
import type { TemplateLookup } from '../analysis/refs.js';

const T0 = new Date('2024-05-01T12:00:00.000Z');
const base = (image: string): MicroserviceSpecInput => ({
  image, replicas: 2, ports: [{ name: 'http', port: 8080 }],
  strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: {} }] } },
});

/** Ready pods for a Deployment, labelled as its ReplicaSet's would be. */
function podsOf(dep: KubeObject): KubeObject[] {
  const spec = dep.spec as { replicas: number; template: { metadata: { labels: Record<string, string> } } };
  const hash = spec.template.metadata.labels[LABEL_REVISION];
  return Array.from({ length: spec.replicas }, (_, i) => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name: `${dep.metadata.name}-${i}`, namespace: 'shop', labels: { ...spec.template.metadata.labels, 'pod-template-hash': hash! },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${dep.metadata.name}-${hash}`, uid: `rs-${hash}`, controller: true }],
    },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  }));
}

/** A Deployment the controller has rolled out completely. */
function rolledOut(o: KubeObject): KubeObject {
  if (o.kind !== 'Deployment') return o;
  const n = (o.spec as { replicas: number }).replicas;
  return { ...o, status: { observedGeneration: o.metadata.generation, replicas: n, readyReplicas: n, updatedReplicas: n, availableReplicas: n } };
}

/** A pod's name and revision: a pod the ReplicaSet would keep from one pass to the next, its role label with it. */
const podKey = (p: KubeObject) => `${p.metadata.name}/${p.metadata.labels?.[LABEL_REVISION]}`;

/** Carries out a plan's writes as the API server would, every pod Ready at once; the status written, the role labels patched. */
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
  const { status, relabels } = plan.finish([]);
  const objects = [...owned.values()];
  const roles = new Map(world.pods.map((p) => [podKey(p), p.metadata.labels?.[LABEL_ROLE]]));
  for (const { pod, role } of relabels) roles.set(podKey(pod), role ?? undefined);
  const pods = objects.filter((o) => o.kind === 'Deployment').flatMap(podsOf).map((p) => {
    const role = roles.get(podKey(p));
    return role ? { ...p, metadata: { ...p.metadata, labels: { ...p.metadata.labels, [LABEL_ROLE]: role } } } : p;
  });
  return { ...world, owned: objects, pods, ms: { ...world.ms, ...(status ? { status } : {}) } };
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
    expect(steady.finish([])).toEqual({ events: [], stalled: false, relabels: [] });
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
    expect(planReconcile({ ms: { ...bad, status }, owned: [], pods: [], now: T0 }).finish([])).toEqual({ events: [], stalled: true, relabels: [] });
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

// ---- a revision whose own objects the API server refused: no pods, no promotion, and why

/** What the API server said to a ConfigMap over its size limit, as refusalOf words it. */
const tooLarge = (o: KubeObject) => ({ reason: 'ApplyFailed', message: `spec.config.data: Too long: may not be more than 1048576 bytes (the API server refused ${o.kind} ${o.metadata.name})` });

/**
 * One reconcile as the shell runs it: the revision's own objects first, those `refuses` picks
 * refused; the plan given what they ran into; then its writes, every pod Ready at once.
 */
function shellPass(world: World, refuses: (o: KubeObject) => boolean): { world: World; plan: ReconcilePlan; own: KubeObject[] } {
  const own = revisionWrites(world).flatMap((w) => ('apply' in w ? [w.apply] : []));
  const refused = own.filter(refuses).map(tooLarge);
  const plan = planReconcile({ ...world, refused });
  const accepted = own.filter((o) => !refuses(o)).map((apply) => ({ apply, create: true }));
  return { world: carryOut(world, { ...plan, writes: [...accepted, ...plan.writes] }), plan, own };
}

const configured = (image: string, config: string, strategy?: MicroserviceSpecInput['strategy']): MicroserviceSpecInput => ({
  ...base(image), config: { data: { BLOB: config } }, ...(strategy ? { strategy } : {}),
});
const isHuge = (o: KubeObject) => o.kind === 'ConfigMap' && (o.data as Record<string, string>).BLOB === 'huge';
const withAction = (w: World, action: string): World => ({ ...w, ms: { ...w.ms, metadata: { ...w.ms.metadata, annotations: { [ANNOTATION_ACTION]: action } } } });
const slotWrites = (plan: ReconcilePlan) => plan.writes.filter((w) => ('apply' in w && w.apply.kind === 'Deployment') || 'resize' in w);

describe('planReconcile: a revision whose own objects were refused', () => {
  it('writes the revision\'s ControllerRevision and ConfigMap first, and leaves them to the shell once it has', () => {
    const world = settled(configured('a:1', 'small'));
    const next = { ...world, ms: { ...microservice(configured('a:2', 'other')), status: world.ms.status } as MicroserviceObject };
    const own = revisionWrites(next).map((w) => ('apply' in w ? `${w.apply.kind}` : ''));
    expect(own).toEqual(['ControllerRevision', 'ConfigMap']);
    const alone = planReconcile(next).writes.map((w) => ('apply' in w ? w.apply.kind : 'resize' in w ? 'resize' : 'delete'));
    expect(alone.slice(0, 2)).toEqual(['ControllerRevision', 'ConfigMap']);
    const after = planReconcile({ ...next, refused: [] }).writes;
    expect(after.some((w) => 'apply' in w && (w.apply.kind === 'ConfigMap' || w.apply.kind === 'ControllerRevision'))).toBe(false);
    expect(revisionWrites(world)).toEqual([]); // all in place: nothing to write first
  });

  it.each<[string, MicroserviceSpecInput['strategy']]>([
    ['canary', undefined],
    ['blue-green', { type: 'BlueGreen', blueGreen: { autoPromotionSeconds: 0 } }],
  ])('gives a %s candidate whose ConfigMap was refused no pods, keeps the stable slot whole, and says why', (_what, strategy) => {
    let world = settled(configured('a:1', 'small', strategy));
    const stable = world.ms.status!.stableRevision!;
    world = { ...world, ms: { ...microservice(configured('a:1', 'huge', strategy)), status: world.ms.status } as MicroserviceObject };
    const candidate = revisionOf(microservice(configured('a:1', 'huge', strategy)));
    for (let i = 0; i < 4; i++) {
      const pass = shellPass(world, isHuge);
      expect(pass.own.map((o) => o.kind)).toContain('ConfigMap');
      // No write runs the candidate, or sizes the candidate slot up.
      for (const w of slotWrites(pass.plan)) {
        if ('apply' in w) expect(templateRevision(w.apply)).not.toBe(candidate);
        else if ('resize' in w) expect(w.resize.replicas).toBe(0);
      }
      world = pass.world;
    }
    expect(deployment(world, 'green')).toBeUndefined();
    expect(templateRevision(deployment(world, 'blue'))).toBe(stable);
    expect((deployment(world, 'blue')!.spec as { replicas: number }).replicas).toBe(2);
    const status = world.ms.status!;
    expect(status).toMatchObject({ stableRevision: stable, desiredRevision: candidate, phase: 'Degraded' });
    const stalled = status.conditions!.find((c) => c.type === 'Stalled')!;
    expect(stalled).toMatchObject({ status: 'True', reason: 'ApplyFailed' });
    expect(stalled.message).toMatch(/^spec\.config\.data: Too long: may not be more than 1048576 bytes \(the API server refused ConfigMap orders-config-[0-9a-f]+\)$/);
    expect(status.rollout?.message).toBe(`revision ${candidate} gets no pods: ${stalled.message}`);
  });

  it.each(['promote', 'promote-full'])('refuses %s of it, with the reason', (action) => {
    let world = settled(configured('a:1', 'small', { type: 'Canary', canary: { steps: [{ pause: {} }, { setWeight: 50 }] } }));
    world = { ...world, ms: { ...microservice(configured('a:1', 'huge', { type: 'Canary', canary: { steps: [{ pause: {} }, { setWeight: 50 }] } })), status: world.ms.status } as MicroserviceObject };
    for (let i = 0; i < 2; i++) world = shellPass(world, isHuge).world;
    const { world: after } = shellPass(withAction(world, `${action}:p1`), isHuge);
    const last = after.ms.status!.lastAction!;
    expect(last).toMatchObject({ action, ok: false });
    expect(last.message).toMatch(/gets no pods: spec\.config\.data: Too long: .*\(the API server refused ConfigMap orders-config-[0-9a-f]+\); nothing to promote$/);
    let later = after;
    for (let i = 0; i < 3; i++) later = shellPass(later, isHuge).world;
    expect(later.ms.status!.stableRevision).toBe(world.ms.status!.stableRevision);
    expect(deployment(later, 'green')).toBeUndefined();
  });

  it('goes on once the API server takes them: the candidate then gets its pods', () => {
    let world = settled(configured('a:1', 'small'));
    world = { ...world, ms: { ...microservice(configured('a:1', 'huge')), status: world.ms.status } as MicroserviceObject };
    for (let i = 0; i < 2; i++) world = shellPass(world, isHuge).world;
    for (let i = 0; i < 3; i++) world = shellPass(world, () => false).world;
    expect(templateRevision(deployment(world, 'green'))).toBe(revisionOf(microservice(configured('a:1', 'huge'))));
    expect(world.ms.status!.conditions!.find((c) => c.type === 'Stalled')!.status).toBe('False');
  });

  it('creates no Deployment for a first revision refused so, and keeps a RollingUpdate\'s slot on what it runs', () => {
    const first = { ms: microservice(configured('a:1', 'huge')) as MicroserviceObject, owned: [], pods: [], now: T0 } as World;
    let w = first;
    for (let i = 0; i < 3; i++) w = shellPass(w, isHuge).world;
    expect(w.owned.filter((o) => o.kind === 'Deployment')).toEqual([]);
    expect(w.ms.status!.conditions!.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'ApplyFailed' });

    const rolling = { type: 'RollingUpdate' as const };
    let world = settled(configured('a:1', 'small', rolling));
    const stable = world.ms.status!.stableRevision!;
    world = { ...world, ms: { ...microservice(configured('a:2', 'huge', rolling)), status: world.ms.status } as MicroserviceObject };
    for (let i = 0; i < 3; i++) {
      const pass = shellPass(world, isHuge);
      for (const w2 of slotWrites(pass.plan)) if ('apply' in w2) expect(templateRevision(w2.apply)).toBe(stable);
      world = pass.world;
    }
    expect(templateRevision(deployment(world, 'blue'))).toBe(stable);
    expect(world.ms.status).toMatchObject({ stableRevision: stable, phase: 'Degraded' });
  });

  it('treats a refused ControllerRevision as it does a refused ConfigMap', () => {
    let world = settled(configured('a:1', 'small'));
    world = { ...world, ms: { ...microservice(configured('a:2', 'small')), status: world.ms.status } as MicroserviceObject };
    for (let i = 0; i < 3; i++) world = shellPass(world, (o) => o.kind === 'ControllerRevision').world;
    expect(deployment(world, 'green')).toBeUndefined();
    expect(world.ms.status!.rollout?.message).toMatch(/gets no pods: .*refused ControllerRevision orders-/);
  });
});

describe('planReconcile: pod roles', () => {
  /** Each pod's slot, revision-of-image and role, sorted. */
  const roles = (w: World, images: Record<string, string>) => {
    const byRevision = new Map(Object.entries(images).map(([image, rev]) => [rev, image]));
    return w.pods.map((p) => `${p.metadata.name}:${byRevision.get(p.metadata.labels?.[LABEL_REVISION] ?? '')}:${p.metadata.labels?.[LABEL_ROLE] ?? '-'}`).sort();
  };
  const spec = (image: string, strategy: MicroserviceSpecInput['strategy']): MicroserviceSpecInput => ({ ...base(image), strategy });
  const next = (w: World, s: MicroserviceSpecInput) => ({ ...w, ms: { ...microservice(s), status: w.ms.status } as MicroserviceObject });
  const act = (w: World, action: string) => ({ ...w, ms: { ...w.ms, metadata: { ...w.ms.metadata, annotations: { [ANNOTATION_ACTION]: action } } } });
  /** n passes, an action cleared after the first (as the shell clears it). */
  const passes = (w: World, n: number) => {
    for (let i = 0; i < n; i++) {
      w = carryOut(w, planReconcile(w));
      w = { ...w, ms: { ...w.ms, metadata: { ...w.ms.metadata, annotations: {} } } };
    }
    return w;
  };

  it('canary: the candidate\'s pods are canary at the pause, and stable once promoted, with nothing left to patch', () => {
    const canary = (image: string) => spec(image, { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: {} }] } });
    const revs = { 'a:1': revisionOf(microservice(canary('a:1'))), 'a:2': revisionOf(microservice(canary('a:2'))) };
    let world = settled(canary('a:1'));
    expect(roles(world, revs)).toEqual(['orders-blue-0:a:1:stable', 'orders-blue-1:a:1:stable']);
    world = passes(next(world, canary('a:2')), 4);
    expect(world.ms.status?.rollout?.step).toBe(1);
    expect(roles(world, revs)).toEqual(['orders-blue-0:a:1:stable', 'orders-green-0:a:2:canary']);
    world = passes(act(world, 'promote:p1'), 6);
    expect(world.ms.status?.stableRevision).toBe(revs['a:2']);
    expect(roles(world, revs)).toEqual(['orders-green-0:a:2:stable', 'orders-green-1:a:2:stable']);
    expect(planReconcile(world).finish([]).relabels).toEqual([]);
  });

  it('blue-green: the candidate\'s pods are preview until the switch, then stable', () => {
    const bg = (image: string) => spec(image, { type: 'BlueGreen', blueGreen: { previewReplicas: 1 } });
    const revs = { 'a:1': revisionOf(microservice(bg('a:1'))), 'a:2': revisionOf(microservice(bg('a:2'))) };
    let world = passes(next(settled(bg('a:1')), bg('a:2')), 4);
    expect(roles(world, revs)).toEqual(['orders-blue-0:a:1:stable', 'orders-blue-1:a:1:stable', 'orders-green-0:a:2:preview']);
    world = passes(act(world, 'promote:p1'), 6);
    expect(world.ms.status?.stableRevision).toBe(revs['a:2']);
    expect(roles(world, revs).filter((r) => r.includes('a:2'))).toEqual(['orders-green-0:a:2:stable', 'orders-green-1:a:2:stable']);
    // The previous revision's pods, if its slot still waits out the scale-down delay, have no role.
    expect(roles(world, revs).filter((r) => r.includes('a:1')).every((r) => r.endsWith(':-'))).toBe(true);
  });
});

describe('planReconcile: the PodMonitor of spec.monitoring', () => {
  const monitored = { ...base('a:1'), monitoring: { port: 'http' } };
  const podMonitorWrites = (p: ReconcilePlan) => p.writes.filter((w) => 'apply' in w && w.apply.kind === 'PodMonitor');

  it('is applied where PodMonitors are served (and offline, as coxswain render shows it)', () => {
    const ms = microservice(monitored) as MicroserviceObject;
    for (const podMonitors of [true, undefined]) {
      const plan = planReconcile({ ms, owned: [], pods: [], now: T0, ...(podMonitors ? { podMonitors } : {}) });
      expect(podMonitorWrites(plan)).toHaveLength(1);
      expect(plan.finish([]).status?.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('False');
    }
  });

  it('where they are not: everything else is applied, and the Microservice is Stalled with PodMonitorMissing, its deadline still running', () => {
    const ms = microservice(monitored) as MicroserviceObject;
    const plan = planReconcile({ ms, owned: [], pods: [], now: T0, podMonitors: false });
    expect(podMonitorWrites(plan)).toEqual([]);
    expect(plan.writes.some((w) => 'apply' in w && w.apply.kind === 'Deployment')).toBe(true);
    const { status, stalled } = plan.finish([]);
    expect(stalled).toBe(true);
    expect(status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'PodMonitorMissing' });
    expect(status?.conditions?.find((c) => c.type === 'Stalled')?.message).toMatch(/spec\.monitoring needs the Prometheus Operator: PodMonitors \(monitoring\.coreos\.com\/v1\) are not served/);
    // A Microservice without spec.monitoring does not care.
    expect(planReconcile({ ms: microservice(base('a:1')) as MicroserviceObject, owned: [], pods: [], now: T0, podMonitors: false }).finish([]).stalled).toBe(false);
  });
});

describe('planReconcile: a Microservice being ejected (kubectl coxswain eject)', () => {
  it('writes nothing for it, not even its Service taken back or a new revision, and says Stalled/Ejecting once', () => {
    const world = settled(base('a:1'));
    const service = world.owned.find((o) => o.kind === 'Service' && o.metadata.name === 'orders')!;
    // As the plugin leaves it mid-way: the Service handed over (no owner, plain selector), a new image asked for.
    const handed = { ...service, metadata: { ...service.metadata, ownerReferences: [] }, spec: { ...(service.spec as object), selector: { 'app.kubernetes.io/name': 'orders' } } };
    const ejecting = {
      ...world,
      owned: world.owned.map((o) => (o === service ? handed : o)),
      ms: { ...microservice(base('a:2')), metadata: { ...microservice(base('a:2')).metadata, annotations: { [ANNOTATION_EJECT]: 'orders-plain' } }, status: world.ms.status } as MicroserviceObject,
    };
    expect(planReconcile({ ...world, owned: ejecting.owned }).writes.length).toBeGreaterThan(0); // without the annotation, it would take the Service back
    const plan = planReconcile(ejecting);
    expect(plan.writes).toEqual([]);
    // Nor the new revision's own objects, which the shell writes ahead of the plan.
    expect(revisionWrites({ ...ejecting, ms: { ...ejecting.ms, metadata: { ...ejecting.ms.metadata, annotations: {} } } }).length).toBeGreaterThan(0);
    expect(revisionWrites(ejecting)).toEqual([]);
    const { status, stalled } = plan.finish([]);
    expect(stalled).toBe(true);
    expect(status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'Ejecting' });
    expect(status?.conditions?.find((c) => c.type === 'Stalled')?.message).toContain('deployment/orders-plain');
    // Said once: the next pass, with that status, writes no status either.
    expect(planReconcile({ ...ejecting, ms: { ...ejecting.ms, status } }).finish([]).status).toBeUndefined();
  });
});

describe('planReconcile: counts alone are written at most once a second', () => {
  // A canary at its pause; then its stable slot's Deployment counts one pod more (one being
  // replaced): only the counts change.
  const world = (() => {
    let w = settled(base('a:1'));
    w = { ...w, ms: { ...microservice(base('a:2')), status: w.ms.status } as MicroserviceObject };
    for (let i = 0; i < 6; i++) w = carryOut(w, planReconcile(w));
    return w;
  })();
  const counted: World = { ...world, owned: world.owned.map((o) => (o.kind === 'Deployment' && o.metadata.name === 'orders-blue' ? { ...o, status: { ...(o.status as object), replicas: 2 } } : o)) };

  it('writes them at once after a quiet while, and when nothing was written since the operator started', () => {
    const first = planReconcile(counted).finish([]);
    expect(world.ms.status?.phase).toBe('Paused');
    expect(first.status?.slots?.blue?.replicas).toBe(2);
    expect(world.ms.status?.slots?.blue?.replicas).toBe(1);
    expect(planReconcile({ ...counted, statusWrittenAt: new Date(T0.getTime() - 1500) }).finish([]).status?.slots?.blue?.replicas).toBe(2);
  });

  it('holds them within a second of the last status write, and comes back when the second is up', () => {
    const held = planReconcile({ ...counted, statusWrittenAt: new Date(T0.getTime() - 300) }).finish([]);
    expect(held.status).toBeUndefined();
    expect(held.events).toEqual([]);
    expect(held.requeueAfterMs).toBe(700);
  });

  it('does not hold a change that is more than counts (a new revision mid-rollout), nor its events', () => {
    const rolling: World = { ...counted, ms: { ...microservice(base('a:3')), status: world.ms.status } as MicroserviceObject, statusWrittenAt: new Date(T0.getTime() - 100) };
    const plan = planReconcile(rolling);
    const finished = plan.finish([]);
    expect(finished.status?.desiredRevision).not.toBe(world.ms.status?.desiredRevision);
    expect(finished.events.map((e) => e.reason)).toContain('RolloutStarted');
  });
});
