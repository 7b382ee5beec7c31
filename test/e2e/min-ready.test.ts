// minReadySeconds on a real cluster: a canary step does not advance, and a blue-green does not
// switch, before the candidate's pods have been Ready that long, measured from the pods' own Ready
// conditions against the time the operator recorded the move; and no later than a requeue's worth,
// so progress never waits for an unrelated event.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, createNamespace, deleteNamespace, eventually, getJSON, installCRD, microservice, Operator } from './harness.js';
import { healthyAt, msOf } from './rollout-harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-min-ready');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

const MIN_READY = 5;

/** When the pods of `revision` turned Ready (the latest of them), from their Ready conditions. */
async function readyAt(name: string, revision: string): Promise<number[]> {
  const pods = (await getJSON('pods', '-n', ns, '-l', `app.kubernetes.io/name=${name},coxswain.dev/revision=${revision}`)).items;
  return pods.map((p: any) => Date.parse(p.status.conditions.find((c: any) => c.type === 'Ready' && c.status === 'True')?.lastTransitionTime)).filter((t: number) => !Number.isNaN(t));
}

describe(`minReadySeconds ${MIN_READY}`, () => {
  it('holds a canary step until the candidate\'s pod has been Ready that long', async () => {
    const spec = (image: string) => ({
      image, replicas: 2, minReadySeconds: MIN_READY,
      strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: {} }], maxSurge: 1, maxUnavailable: 0 }, progressDeadlineSeconds: 120 },
    });
    await apply(microservice('menu', spec('registry.example/menu:1'), ns));
    await eventually('v1 live', healthyAt(ns, 'menu', 'registry.example/menu:1'), 120_000);
    const dep = await getJSON('deployment', '-n', ns, 'menu-blue');
    expect(dep.spec.minReadySeconds).toBe(MIN_READY);

    await apply(microservice('menu', spec('registry.example/menu:2'), ns));
    const paused = await eventually('step 1 reached', async () => {
      const o = await msOf(ns, 'menu');
      return o?.status?.rollout?.step === 1 ? o : undefined;
    }, 120_000);
    // The step advanced at stepStartedAt (the operator's clock); the candidate's pod turned Ready at
    // its condition's lastTransitionTime (whole seconds, rounded down).
    const advanced = Date.parse(paused.status.rollout.stepStartedAt);
    const [ready] = await readyAt('menu', paused.status.desiredRevision);
    expect(ready).toBeDefined();
    const waited = advanced - ready!;
    console.log(`canary step advanced ${waited} ms after the candidate's pod turned Ready (minReadySeconds ${MIN_READY})`);
    expect(waited).toBeGreaterThanOrEqual(MIN_READY * 1000);
    expect(waited).toBeLessThan((MIN_READY + 5) * 1000); // a requeue, not a resync
    expect(paused.status.rollout.message).toMatch(/1\/1 candidate pods available \(Ready 5s\)|waiting for promotion/);
  });

  it('holds a blue-green switch until every candidate pod has been Ready that long', async () => {
    const spec = (image: string) => ({
      image, replicas: 2, minReadySeconds: MIN_READY,
      strategy: { type: 'BlueGreen', blueGreen: { autoPromotionSeconds: 0, scaleDownDelaySeconds: 30 }, progressDeadlineSeconds: 120 },
    });
    await apply(microservice('board', spec('registry.example/board:1'), ns));
    await eventually('v1 live', healthyAt(ns, 'board', 'registry.example/board:1'), 120_000);
    await apply(microservice('board', spec('registry.example/board:2'), ns));
    const switched = await eventually('switched', async () => {
      const o = await msOf(ns, 'board');
      return o?.status?.stableRevision === o?.status?.desiredRevision && o?.status?.rollout?.scaleDownAt ? o : undefined;
    }, 120_000);
    // The switch happened scaleDownDelaySeconds before scaleDownAt.
    const at = Date.parse(switched.status.rollout.scaleDownAt) - 30_000;
    const ready = Math.max(...await readyAt('board', switched.status.desiredRevision));
    const waited = at - ready;
    console.log(`blue-green switched ${waited} ms after the last candidate pod turned Ready (minReadySeconds ${MIN_READY})`);
    expect(waited).toBeGreaterThanOrEqual(MIN_READY * 1000);
    expect(waited).toBeLessThan((MIN_READY + 5) * 1000);
  });
});
