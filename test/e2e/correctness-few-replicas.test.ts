// Issue 8, class 7: too few replicas for a weight. One replica at setWeight 10: the stable slot
// keeps its pod, the candidate gets one, status shows the weight actually served (50%), its
// message points at spec.traffic.gateway, and a Warning Event WeightNotExact says so too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, createNamespace, deleteNamespace, eventually, getJSON, installCRD, microservice, Operator } from './harness.js';
import { current, healthyAt, record, slotsOf } from './rollout-harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-c-few');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

const spec = (image: string) => ({
  image, replicas: 1, ports: [{ name: 'http', port: 8080 }],
  strategy: { type: 'Canary', canary: { steps: [{ setWeight: 10 }, { pause: {} }] }, progressDeadlineSeconds: 600 },
});

describe('one replica at setWeight 10', () => {
  it('keeps the stable pod, gives the candidate one, and says the weight served is 50%', async () => {
    const name = 'solo';
    await apply(microservice(name, spec('registry.example/solo:1'), ns));
    const v1 = await eventually('v1 live', healthyAt(ns, name, 'registry.example/solo:1'), 120_000);
    const stableSlot = v1.status.activeSlot as string;

    const rec = record(() => slotsOf(ns, name));
    await apply(microservice(name, spec('registry.example/solo:2'), ns));
    const paused = await eventually('at the pause, the candidate Ready', async () => {
      const o = await current(ns, name);
      const cand = o?.status?.rollout?.candidateSlot;
      return o?.status?.phase === 'Paused' && o.status.rollout?.step === 1 && (await slotsOf(ns, name))[cand]?.ready === 1 ? o : undefined;
    }, 120_000);
    await rec.stop();
    const cand = paused.status.rollout.candidateSlot as string;

    expect.soft(rec.samples.filter((s) => (s[stableSlot]?.ready ?? 0) < 1).map((s) => `${s[stableSlot]?.replicas}/${s[cand]?.replicas ?? 0}`),
      'samples with no Ready stable pod (stable/candidate replicas)').toEqual([]);
    const now = await slotsOf(ns, name);
    expect.soft({ stable: now[stableSlot]?.replicas, candidate: now[cand]?.replicas }).toEqual({ stable: 1, candidate: 1 });
    expect.soft(paused.status.rollout.weight, 'status.rollout.weight: the weight served').toBe(50);
    expect.soft(paused.status.rollout.desiredWeight).toBe(10);
    expect.soft(paused.status.rollout.message, 'status.rollout.message').toMatch(/spec\.traffic\.gateway/);
    // Events are created after the status write that the test saw.
    await eventually('a Warning Event WeightNotExact', async () =>
      (await getJSON('events', '-n', ns, '--field-selector', `involvedObject.name=${name},reason=WeightNotExact,type=Warning`)).items.length > 0, 15_000);
  });
});
