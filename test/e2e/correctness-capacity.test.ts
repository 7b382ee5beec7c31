// Issue 8, class 5: capacity is kept on every path, not only on abort. With 4 replicas and
// maxUnavailable 0, the Ready pods behind `<name>` never drop below 4, sampled continuously,
// while a canary waiting at its pause is reverted to the stable image, switched to another
// strategy, or has its weight lowered. And a blue-green switched to Canary during its scale-down
// delay never sends traffic to the replaced revision again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, createNamespace, deleteNamespace, eventually, installCRD, microservice, Operator } from './harness.js';
import { current, healthyAt, pluginIn, servingPods, slotsOf, story, watchServing } from './rollout-harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-c-capacity');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

const ports = [{ name: 'http', port: 8080 }];
const canary = (steps: unknown[]) => ({ type: 'Canary', canary: { steps, maxSurge: 1, maxUnavailable: 0 }, progressDeadlineSeconds: 600 });
const steps = [{ setWeight: 50 }, { pause: {} }];

type Change = {
  key: string;
  /** What is done mid-canary: a spec applied (or, for the control case, an action). */
  act: (name: string) => Promise<unknown>;
  /** The state that ends the observation. */
  settled: (name: string) => () => Promise<unknown>;
};

const change = (name: string, spec: Record<string, unknown>) => apply(microservice(name, spec, ns));

const changes: Array<[string, Change]> = [
  // The control: the path every release takes, which the engine got right already.
  ['promotion to 100%', {
    key: 'promote',
    act: (name) => pluginIn(ns)('promote', name),
    settled: (name) => healthyAt(ns, name, `registry.example/${name}:2`),
  }],
  ['the image reverted to the stable one', {
    key: 'revert',
    act: (name) => change(name, { image: `registry.example/${name}:1`, replicas: 4, ports, strategy: canary(steps) }),
    settled: (name) => healthyAt(ns, name, `registry.example/${name}:1`),
  }],
  ['a switch to RollingUpdate', {
    key: 'rolling',
    act: (name) => change(name, { image: `registry.example/${name}:2`, replicas: 4, ports, strategy: { type: 'RollingUpdate', progressDeadlineSeconds: 600 } }),
    settled: (name) => healthyAt(ns, name, `registry.example/${name}:2`),
  }],
  ['a switch to BlueGreen', {
    key: 'bluegreen',
    act: (name) => change(name, {
      image: `registry.example/${name}:2`, replicas: 4, ports,
      // previewReplicas 2: the promotion grows the slot, an event of its own (class 2 aside).
      strategy: { type: 'BlueGreen', blueGreen: { autoPromotionSeconds: 1, scaleDownDelaySeconds: 1, previewReplicas: 2 }, progressDeadlineSeconds: 600 },
    }),
    settled: (name) => healthyAt(ns, name, `registry.example/${name}:2`),
  }],
  ['steps edited to a lower weight', {
    key: 'weight',
    act: (name) => change(name, { image: `registry.example/${name}:2`, replicas: 4, ports, strategy: canary([{ setWeight: 25 }, { pause: {} }]) }),
    settled: (name) => async () => {
      const o = await current(ns, name);
      const s = await slotsOf(ns, name);
      const cand = o?.status?.rollout?.candidateSlot;
      return o?.status?.phase === 'Paused' && cand && s[cand]?.replicas === 1 && s[cand]?.ready === 1 && s[o.status.activeSlot]?.ready === 3;
    },
  }],
];

describe('4 replicas, maxUnavailable 0, a canary waiting at 2/2', () => {
  it.each(changes)('keeps 4 Ready pods behind <name> through %s', async (_what, change) => {
    const name = `cap-${change.key}`;
    await apply(microservice(name, { image: `registry.example/${name}:1`, replicas: 4, ports, strategy: canary(steps) }, ns));
    await eventually('v1 live', healthyAt(ns, name, `registry.example/${name}:1`), 120_000);
    await apply(microservice(name, { image: `registry.example/${name}:2`, replicas: 4, ports, strategy: canary(steps) }, ns));
    await eventually('paused at 2/2 with 4 pods serving', async () => {
      const o = await current(ns, name);
      return o?.status?.phase === 'Paused' && o.status.rollout?.step === 1 && (await servingPods(ns, name))?.pods.length === 4;
    }, 120_000);

    // Every change of the pods and the Service, not samples: a dip between two polls is seen too.
    const watch = await watchServing(ns, name);
    await change.act(name);
    await eventually('the change to settle', change.settled(name), 120_000);
    const timeline = await watch.stop();
    expect(timeline.length, 'the watch saw the pods change').toBeGreaterThan(2);
    const min = Math.min(...timeline.map((t) => t.pods.length));
    expect(min, `Ready pods behind ${name} at each of ${timeline.length} changes: ${story(timeline)}`).toBeGreaterThanOrEqual(4);
  });
});

describe('a blue-green switched to Canary during its scale-down delay', () => {
  it('never serves the replaced revision again', async () => {
    const name = 'harbor';
    const bg = (image: string) => ({ image, replicas: 2, ports, strategy: { type: 'BlueGreen', blueGreen: { scaleDownDelaySeconds: 90 } } });
    await apply(microservice(name, bg('registry.example/harbor:1'), ns));
    const v1 = await eventually('v1 live', healthyAt(ns, name, 'registry.example/harbor:1'), 120_000);
    const replaced = v1.status.stableRevision as string;
    await apply(microservice(name, bg('registry.example/harbor:2'), ns));
    await eventually('the preview ready', async () => (await current(ns, name))?.status?.phase === 'Paused', 120_000);
    expect((await pluginIn(ns)('promote', name)).code).toBe(0);
    await eventually('promoted: v2 stable, <name> on its slot only, the old slot still up', async () => {
      const o = await current(ns, name);
      const serving = await servingPods(ns, name);
      const s = await slotsOf(ns, name);
      return o?.status?.stableRevision !== replaced && serving?.pods.length === 2 && serving.pods.every((p) => p.revision === o.status.stableRevision)
        && s[v1.status.activeSlot]?.replicas === 2;
    }, 120_000);

    const watch = await watchServing(ns, name);
    await apply(microservice(name, { image: 'registry.example/harbor:2', replicas: 2, ports, strategy: canary(steps) }, ns));
    await eventually('the switch to Canary taken up', async () => (await current(ns, name)) !== undefined, 60_000);
    // The Services are applied before the status that says the switch was seen; the watches catch up
    // with both before the timeline is read. Well inside the 90 s delay: the replaced slot has its pods.
    const timeline = await watch.stop();
    const replacedServing = timeline.filter((t) => t.pods.some((p) => p.revision === replaced));
    expect(replacedServing.map((t) => `rv ${t.rv}: ${t.pods.filter((p) => p.revision === replaced).map((p) => p.name).join(',')}`),
      `pods of the replaced revision ${replaced} behind ${name}`).toEqual([]);
  });
});
