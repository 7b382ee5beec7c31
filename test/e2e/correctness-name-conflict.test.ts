// Issue 8, class 9: a NameConflict that is resolved is noticed, without any other change and
// with no resync to fall back on; and a rollout blocked by a conflict, not by its pods, is not
// aborted by the progress deadline meanwhile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, condition, createNamespace, deleteNamespace, eventually, installCRD, k, microservice, Operator } from './harness.js';
import { healthyAt, msOf, otherSlot, record } from './rollout-harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-c-conflict');
  operator = new Operator(['--namespaces', ns, '--resync', '3600']).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

const stalledReason = async (name: string) => {
  const o = await msOf(ns, name);
  return o?.status?.observedGeneration === o?.metadata.generation ? condition(o, 'Stalled') : undefined;
};

describe('a name conflict that is resolved', () => {
  it('is noticed when the foreign Service is deleted: Ready without any other change', async () => {
    const name = 'depot';
    await k('create', 'service', 'clusterip', name, '--tcp=8080:8080', '-n', ns);
    await apply(microservice(name, { image: 'registry.example/depot:1', replicas: 1, ports: [{ name: 'http', port: 8080 }] }, ns));
    await eventually('Stalled NameConflict', async () => (await stalledReason(name))?.reason === 'NameConflict', 60_000);

    await k('delete', 'service', name, '-n', ns);
    const ready = await eventually('Ready once the Service is gone', async () => {
      const o = await msOf(ns, name);
      return condition(o, 'Ready')?.status === 'True' ? o : undefined;
    }, 60_000).catch(async (err: Error) => { throw new Error(`${err.message}; Stalled: ${JSON.stringify(await stalledReason(name))}`); });
    expect(condition(ready, 'Stalled')?.status).toBe('False');
    const svc = JSON.parse(await k('get', 'service', name, '-n', ns, '-o', 'json'));
    expect(svc.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Microservice', name });
  });

  it('does not abort a canary blocked by a conflict for longer than its progress deadline', async () => {
    const name = 'quay';
    const spec = (image: string) => ({
      image, replicas: 2, ports: [{ name: 'http', port: 8080 }],
      strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { setWeight: 100 }] }, progressDeadlineSeconds: 10 },
    });
    await apply(microservice(name, spec('registry.example/quay:1'), ns));
    const v1 = await eventually('v1 live', healthyAt(ns, name, 'registry.example/quay:1'), 120_000);
    // The candidate slot's Deployment is someone else's: the canary cannot make a single pod.
    const candidate = `${name}-${otherSlot(v1.status.activeSlot)}`;
    await k('create', 'deployment', candidate, '-n', ns, '--image=registry.example/foreign:1', '--replicas=0');

    const rec = record(async () => ({ stalled: condition(await msOf(ns, name), 'Stalled') }), 250);
    await apply(microservice(name, spec('registry.example/quay:2'), ns));
    await eventually('the conflict reported', async () => (await stalledReason(name))?.reason === 'NameConflict', 60_000)
      .catch(async (err: Error) => { throw new Error(`${err.message}; Stalled: ${JSON.stringify(await stalledReason(name))}`); });
    const from = rec.samples.length;
    // The conflict lasts 25 s or more: two and a half progress deadlines. Each sample is a kubectl
    // get, up to a second on a loaded 2-core machine (CI): 100 of them can take two minutes.
    const sampling = Date.now();
    await eventually('100 samples (25 s or more) of the conflict', async () => rec.samples.length >= from + 100, 240_000);
    console.log(`100 samples in ${((Date.now() - sampling) / 1000).toFixed(1)} s`);
    const aborted = rec.samples.filter((s) => s.stalled?.reason === 'RolloutAborted').map((s) => s.stalled!.message);
    expect.soft(aborted.slice(0, 1), 'RolloutAborted while the conflict lasted').toEqual([]);

    await k('delete', 'deployment', candidate, '-n', ns, '--wait=true');
    const done = await eventually('v2 live once the conflict is gone', healthyAt(ns, name, 'registry.example/quay:2'), 120_000)
      .catch(async (err: Error) => { throw new Error(`${err.message}; Stalled: ${JSON.stringify(await stalledReason(name))}`); });
    await rec.stop();
    expect(done.status.rollout?.abortedRevision).toBeUndefined();
  }, 360_000); // 100 samples and two rollouts: over the default 180 s on a loaded machine
});
