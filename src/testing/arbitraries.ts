// fast-check arbitraries for valid Microservice specs and rollout plans.
import fc from 'fast-check';
import type { Microservice, MicroserviceSpecInput, Slot } from '../api/schema.js';
import type { Plan, SlotPlan } from '../rollout/types.js';
import { microservice } from './fixtures.js';

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
    }, { requiredKeys: ['port', 'protocol'] }),
  )));

const arbPeer = fc.oneof(
  fc.record({ microservice: arbName }),
  fc.record({ namespace: arbName }),
  fc.record({ microservice: arbName, namespace: arbName }),
  fc.record({ cidr: fc.constantFrom('10.0.0.0/8', '192.168.1.0/24', 'fd00::/8') }),
).chain((peer) => fc.record({ peer: fc.constant(peer), ports: fc.option(fc.array(fc.record({ port: fc.integer({ min: 1, max: 65535 }) }), { minLength: 1, maxLength: 2 }), { nil: undefined }) }))
  .map(({ peer, ports }) => (ports ? { ...peer, ports } : peer));

export const arbSpecInput: fc.Arbitrary<MicroserviceSpecInput> = fc.record({
  image: fc.tuple(arbName, fc.stringMatching(/^[0-9]\.[0-9]{1,2}\.[0-9]$/)).map(([n, v]) => `registry.example/${n}:${v}`),
  replicas: fc.integer({ min: 0, max: 10 }),
  command: fc.array(fc.string({ maxLength: 6 }), { maxLength: 2 }),
  ports: arbPorts,
  env: fc.array(fc.record({ name: arbKey, value: fc.string({ maxLength: 6 }) }), { maxLength: 3 }),
  config: fc.record({ data: dict(arbKey, fc.string({ maxLength: 8 }), 4), mountPath: fc.constantFrom('/etc/app', '/config') }, { requiredKeys: ['data'] }),
  resources: fc.record({ requests: dict(fc.constantFrom('cpu', 'memory'), arbQuantity, 2), limits: dict(fc.constantFrom('cpu', 'memory'), arbQuantity, 2) }),
  autoscaling: fc.integer({ min: 1, max: 4 }).chain((min) => fc.record({
    minReplicas: fc.constant(min),
    maxReplicas: fc.integer({ min, max: 12 }),
    targetCPUUtilizationPercentage: fc.integer({ min: 1, max: 100 }),
  }, { requiredKeys: ['minReplicas', 'maxReplicas'] })),
  service: fc.record({ type: fc.constantFrom('ClusterIP' as const, 'NodePort' as const, 'LoadBalancer' as const), annotations: dict(arbKey, arbLabelValue, 2) }, { requiredKeys: [] }),
  networkPolicy: fc.record({ enabled: fc.boolean(), allowFrom: fc.array(arbPeer, { maxLength: 3 }), allowTo: fc.array(arbPeer, { maxLength: 2 }) }, { requiredKeys: [] }),
  pod: fc.record({ labels: dict(fc.constantFrom('team', 'tier', 'app.example/part'), arbLabelValue, 2), terminationGracePeriodSeconds: fc.integer({ min: 0, max: 60 }) }, { requiredKeys: [] }),
  strategy: fc.record({
    rollingUpdate: fc.record({ maxSurge: fc.constantFrom('25%', 1, 0), maxUnavailable: fc.constantFrom(1, '10%') }),
    progressDeadlineSeconds: fc.integer({ min: 10, max: 1200 }),
  }, { requiredKeys: [] }),
  paused: fc.boolean(),
}, { requiredKeys: ['image'] });

/** A valid Microservice (defaults applied) with a generated name and spec. */
export const arbMicroservice: fc.Arbitrary<Microservice> = fc.tuple(arbName, arbSpecInput).map(([name, spec]) => microservice(spec, { name, namespace: 'ns1' }));

const arbSlotPlan = (template: SlotPlan['template']) => fc.record({ replicas: fc.integer({ min: 0, max: 10 }), template: fc.constant(template) });

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
    cur: fc.tuple(...current.map(() => arbSlotPlan('current'))),
    keep: arbSlotPlan('keep'),
  }).map(({ cur, keep }) => {
    const plan: Plan = { slots: {} };
    current.forEach((slot, i) => { plan.slots[slot] = cur[i]!; });
    if (other && keepOther) plan.slots[other] = keep;
    plan.serviceSlot = current[serviceIndex];
    plan.previewSlot = current[previewIndex];
    return plan;
  });
});
