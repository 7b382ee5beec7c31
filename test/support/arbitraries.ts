// fast-check arbitraries for valid Microservice specs and rollout plans.
import fc from 'fast-check';
import type { Microservice, MicroserviceSpecInput, Slot } from '../../src/api/schema.js';
import type { ObservedSlot, Plan, SlotPlan } from '../../src/rollout/types.js';
import { microservice, SPEC } from './fixtures.js';

export const arbName = fc.stringMatching(/^[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,6})?$/);
const arbKey = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/);
const arbLabelValue = fc.stringMatching(/^[a-z0-9]{1,8}$/);
const dict = <T>(key: fc.Arbitrary<string>, value: fc.Arbitrary<T>, maxKeys: number) =>
  fc.dictionary(key, value, { maxKeys, noNullPrototype: true });

/** Quantities in the forms people write; several of them are rewritten by the API server. */
export const arbQuantity = fc.oneof(
  fc.constantFrom('100m', '0.5', '250m', '1', '2', '1.5', '1000m'),
  fc.integer({ min: 0, max: 8 }),
  fc.constantFrom('128Mi', '1Gi', '1024Mi', '512M', '1e3'),
);

const arbPorts = fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { maxLength: 3 }).chain((ports) =>
  fc.tuple(...ports.map((port, i) =>
    fc.record({
      name: ports.length > 1 ? fc.constant(`p${i}`) : fc.constantFrom(undefined, 'http'),
      port: fc.constant(port),
      servicePort: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
      protocol: fc.constantFrom('TCP' as const, 'UDP' as const),
    }, { requiredKeys: ports.length > 1 ? ['name', 'port', 'protocol'] : ['port', 'protocol'] }),
  )))
  // The Service keys its ports by servicePort (port when unset) and protocol: no two may share them.
  .filter((ps) => new Set(ps.map((p) => `${p.servicePort ?? p.port}/${p.protocol}`)).size === ps.length);

const arbPeer = fc.oneof(
  fc.record({ microservice: arbName }),
  fc.record({ namespace: arbName }),
  fc.record({ microservice: arbName, namespace: arbName }),
  fc.record({ cidr: fc.constantFrom('10.0.0.0/8', '192.168.1.0/24', 'fd00::/8') }),
).chain((peer) => fc.record({ peer: fc.constant(peer), ports: fc.option(fc.array(fc.record({ port: fc.integer({ min: 1, max: 65535 }) }), { minLength: 1, maxLength: 2 }), { nil: undefined }) }))
  .map(({ peer, ports }) => (ports ? { ...peer, ports } : peer));

/** Containers named so that no generated Microservice name (arbName: at most one dash) can clash with them. */
const arbContainers = (names: string[]) => fc.subarray(names).map((ns) => ns.map((name) => ({ name, image: `registry.example/${name}:1` })));
const arbBudget = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 100 }).map((p) => `${p}%`));

export const arbSpecInput: fc.Arbitrary<MicroserviceSpecInput> = fc.record({
  image: fc.tuple(arbName, fc.stringMatching(/^[0-9]\.[0-9]{1,2}\.[0-9]$/)).map(([n, v]) => `registry.example/${n}:${v}`),
  replicas: fc.integer({ min: 0, max: 10 }),
  command: fc.array(fc.string({ maxLength: 6 }), { maxLength: 2 }),
  ports: arbPorts,
  env: fc.uniqueArray(fc.record({ name: arbKey, value: fc.string({ maxLength: 6 }) }), { maxLength: 3, selector: (e) => e.name }),
  config: fc.record({ data: dict(arbKey, fc.string({ maxLength: 8 }), 4), mountPath: fc.constantFrom('/etc/app', '/config') }, { requiredKeys: ['data'] }),
  resources: fc.record({ requests: dict(fc.constantFrom('cpu', 'memory'), arbQuantity, 2), limits: dict(fc.constantFrom('cpu', 'memory'), arbQuantity, 2) }),
  autoscaling: fc.integer({ min: 1, max: 4 }).chain((min) => fc.record({
    minReplicas: fc.constant(min),
    maxReplicas: fc.integer({ min, max: 12 }),
    targetCPUUtilizationPercentage: fc.integer({ min: 1, max: 100 }),
    metrics: fc.constant([{ type: 'Pods' as const, pods: { metric: { name: 'rps' }, target: { type: 'AverageValue', averageValue: '10' } } }]),
  }, { requiredKeys: ['minReplicas', 'maxReplicas'] })),
  service: fc.record({ type: fc.constantFrom('ClusterIP' as const, 'NodePort' as const, 'LoadBalancer' as const), annotations: dict(arbKey, arbLabelValue, 2) }, { requiredKeys: [] }),
  networkPolicy: fc.record({ enabled: fc.boolean(), allowFrom: fc.array(arbPeer, { maxLength: 3 }), allowTo: fc.array(arbPeer, { maxLength: 2 }) }, { requiredKeys: [] }),
  pod: fc.record({
    labels: dict(fc.constantFrom('team', 'tier', 'app.example/part'), arbLabelValue, 2),
    terminationGracePeriodSeconds: fc.integer({ min: 0, max: 60 }),
    topologySpreadConstraints: fc.subarray(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']).map((keys) => keys.map((topologyKey) => ({ maxSkew: 1, topologyKey, whenUnsatisfiable: 'ScheduleAnyway' as const }))),
    priorityClassName: fc.constantFrom('high', 'batch'),
    enableServiceLinks: fc.boolean(),
    automountServiceAccountToken: fc.boolean(),
  }, { requiredKeys: [] }),
  lifecycle: fc.constant({ preStop: { sleep: { seconds: 5 } } }),
  imagePullPolicy: fc.constantFrom('Always' as const, 'IfNotPresent' as const, 'Never' as const),
  workingDir: fc.constantFrom('/app', '/srv'),
  initContainers: arbContainers(['x-migrate-0', 'x-warm-0']),
  sidecars: arbContainers(['x-proxy-0', 'x-logs-0']),
  minReadySeconds: fc.integer({ min: 0, max: 9 }),
  disruption: fc.oneof(arbBudget.map((maxUnavailable) => ({ maxUnavailable })), arbBudget.map((minAvailable) => ({ minAvailable }))),
  strategy: fc.record({
    rollingUpdate: fc.record({ maxSurge: fc.constantFrom('25%', 1, 0), maxUnavailable: fc.constantFrom(1, '10%') }),
    progressDeadlineSeconds: fc.integer({ min: 10, max: 1200 }),
  }, { requiredKeys: [] }),
  paused: fc.boolean(),
}, { requiredKeys: ['image'] });

/** A valid Microservice (defaults applied) with a generated name and spec. */
export const arbMicroservice: fc.Arbitrary<Microservice> = fc.tuple(arbName, arbSpecInput).map(([name, spec]) => microservice(spec, { name, namespace: 'ns1' }));

const arbSlotPlan = (current: boolean): fc.Arbitrary<SlotPlan> =>
  fc.record({ replicas: fc.integer({ min: 0, max: 10 }) }).map((p) => (current ? { ...p, revision: SPEC } : p));

/**
 * A plan in which at least one slot gets the current template, and the Services select only
 * such slots (the candidate behind `<name>-preview` always runs the current spec).
 */
export const arbPlan: fc.Arbitrary<Plan> = fc.record({
  current: fc.subarray<Slot>(['blue', 'green'], { minLength: 1 }),
  keepOther: fc.boolean(),
  serviceIndex: fc.nat(2),
  previewIndex: fc.nat(2),
}).chain(({ current, keepOther, serviceIndex, previewIndex }) => {
  const other = (['blue', 'green'] as const).find((s) => !current.includes(s));
  return fc.record({
    cur: fc.tuple(...current.map(() => arbSlotPlan(true))),
    keep: arbSlotPlan(false),
  }).map(({ cur, keep }) => {
    const plan: Plan = { slots: {}, servingRevision: SPEC, previewRevision: SPEC, weight: 0 };
    current.forEach((slot, i) => { plan.slots[slot] = cur[i]!; });
    if (other && keepOther) plan.slots[other] = keep;
    plan.serviceSlot = current[serviceIndex];
    plan.previewSlot = current[previewIndex];
    return plan;
  });
});

// ---- Rollouts ----

type CanaryStepInput = { setWeight: number } | { pause: { duration?: string } };

/** A count or a percentage, as maxSurge and maxUnavailable take them. */
export const arbIntOrPercent = fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 100 }).map((p) => `${p}%`));
const isZero = (v: number | string) => v === 0 || v === '0%';

/**
 * Canary steps as the CRD admits them: setWeight values that never decrease, with timed pauses
 * (at most a minute) and, when `indefinite`, pauses that wait for promotion, anywhere between.
 * `firstWeight` makes the first step a setWeight of at least that much.
 */
export function arbCanarySteps(opts: { indefinite: boolean; firstWeight?: number }): fc.Arbitrary<CanaryStepInput[]> {
  const timed = fc.integer({ min: 1, max: 60 }).map((s) => ({ pause: { duration: s % 7 === 0 ? `${s}s500ms` : `${s}s` } }));
  const pause = opts.indefinite ? fc.oneof(timed, fc.constant({ pause: {} })) : timed;
  const step = fc.oneof(fc.integer({ min: 0, max: 100 }).map((w) => ({ setWeight: w })), pause);
  const first = opts.firstWeight === undefined ? step : fc.integer({ min: opts.firstWeight, max: 100 }).map((w) => ({ setWeight: w }));
  return fc.tuple(first, fc.array(step, { maxLength: 5 })).map(([head, tail]) => {
    const steps = [head, ...tail];
    // Sorted, and none below the floor, so the first setWeight keeps it.
    const weights = steps.flatMap((s) => ('setWeight' in s ? [Math.max(s.setWeight, opts.firstWeight ?? 0)] : [])).sort((a, b) => a - b);
    return steps.map((s) => ('setWeight' in s ? { setWeight: weights.shift()! } : s));
  });
}

export interface RolloutSpecOptions {
  type?: 'Canary' | 'BlueGreen';
  /** Pauses that wait for a person (canary `pause: {}`, blue-green without autoPromotionSeconds). */
  indefinite?: boolean;
  minReplicas?: number;
  /** Canary: the first step is a setWeight of at least this much. */
  firstWeight?: number;
  abortOnFailure?: boolean;
  progressDeadlineSeconds?: fc.Arbitrary<number>;
}

/** A Canary or BlueGreen spec with replicas 0..20, as the CRD admits it. */
export function arbRolloutSpec(opts: RolloutSpecOptions = {}): fc.Arbitrary<MicroserviceSpecInput> {
  const indefinite = opts.indefinite ?? true;
  const common = {
    replicas: fc.integer({ min: opts.minReplicas ?? 0, max: 20 }),
    progressDeadlineSeconds: opts.progressDeadlineSeconds ?? fc.integer({ min: 10, max: 1200 }),
    abortOnFailure: opts.abortOnFailure === undefined ? fc.boolean() : fc.constant(opts.abortOnFailure),
  };
  const canary = fc.record({
    ...common,
    steps: arbCanarySteps({ indefinite, firstWeight: opts.firstWeight }),
    limits: fc.tuple(arbIntOrPercent, arbIntOrPercent).filter(([s, u]) => !(isZero(s) && isZero(u))),
  }).map(({ replicas, progressDeadlineSeconds, abortOnFailure, steps, limits: [maxSurge, maxUnavailable] }): MicroserviceSpecInput => ({
    image: 'registry.example/orders:2', replicas,
    strategy: { type: 'Canary', canary: { steps, maxSurge, maxUnavailable }, progressDeadlineSeconds, abortOnFailure },
  }));
  const blueGreen = fc.record({
    ...common,
    autoPromotionSeconds: indefinite ? fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }) : fc.integer({ min: 0, max: 60 }),
    scaleDownDelaySeconds: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
    previewReplicas: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
  }).map(({ replicas, progressDeadlineSeconds, abortOnFailure, ...blueGreen }): MicroserviceSpecInput => ({
    image: 'registry.example/orders:2', replicas,
    strategy: { type: 'BlueGreen', blueGreen, progressDeadlineSeconds, abortOnFailure },
  }));
  if (opts.type === 'Canary') return canary;
  if (opts.type === 'BlueGreen') return blueGreen;
  return fc.oneof(canary, blueGreen);
}

/** One slot's Deployment as observed, in any state a cluster can show (Ready <= existing pods). */
export function arbObservedSlot(revisions: readonly string[]): fc.Arbitrary<ObservedSlot> {
  return fc.record({
    revision: fc.constantFrom(...revisions),
    replicas: fc.integer({ min: 0, max: 25 }),
    currentReplicas: fc.integer({ min: 0, max: 25 }),
    readyShare: fc.double({ min: 0, max: 1, noNaN: true }),
    settled: fc.boolean(),
    deadlineExceeded: fc.boolean(),
    failingPods: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 })),
  }).map(({ readyShare, ...o }) => {
    const ready = Math.floor(o.currentReplicas * readyShare);
    return { ...o, readyReplicas: ready, servingReplicas: ready, updatedReplicas: o.currentReplicas, availableReplicas: ready, ...(o.failingPods > 0 ? { failure: 'CrashLoopBackOff' } : {}) };
  });
}
