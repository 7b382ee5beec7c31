// Issue 8, class 2: no progress waits for an unrelated event. The operator runs with a resync of
// an hour, so only its own requeues can carry a rollout through the steps in which nothing changes
// in the cluster: a blue-green whose full-size preview is Ready promotes by itself after
// autoPromotionSeconds, switches, scales the old slot down after its delay, and is Healthy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, createNamespace, deleteNamespace, eventually, getJSON, installCRD, microservice, Operator } from './harness.js';
import { healthyAt, msOf, otherSlot, slotsOf } from './rollout-harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-c-requeue');
  operator = new Operator(['--namespaces', ns, '--resync', '3600']).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

const spec = (image: string) => ({
  image, replicas: 2, ports: [{ name: 'http', port: 8080 }],
  // No previewReplicas: the preview is full size, so promotion changes no slot's size.
  strategy: { type: 'BlueGreen', blueGreen: { autoPromotionSeconds: 2, scaleDownDelaySeconds: 3 } },
});

describe('with no resync to fall back on', () => {
  it('a blue-green with autoPromotionSeconds promotes, switches and completes by itself within about 30 s', async () => {
    const name = 'kiosk';
    await apply(microservice(name, spec('registry.example/kiosk:1'), ns));
    const first = await eventually('v1 live', healthyAt(ns, name, 'registry.example/kiosk:1'), 120_000);
    const old = first.status.activeSlot as string;

    const started = Date.now();
    await apply(microservice(name, spec('registry.example/kiosk:2'), ns));
    // 2 pods to start and be Ready, 2 s to promotion, the switch, 3 s of scale-down delay: ~30 s
    // is generous on a loaded machine, and far below the hour a missing requeue would wait.
    const done = await eventually('v2 Healthy with the old slot scaled down', async () => {
      const o = await healthyAt(ns, name, 'registry.example/kiosk:2')();
      return o && (await slotsOf(ns, name))[old]?.replicas === 0 ? o : undefined;
    }, 45_000).catch(async (err: Error) => {
      const o = await msOf(ns, name);
      throw new Error(`${err.message}\nstatus then: phase ${o?.status?.phase}, rollout ${JSON.stringify(o?.status?.rollout)}`);
    });
    const took = (Date.now() - started) / 1000;
    console.log(`blue-green with autoPromotionSeconds 2 and scaleDownDelaySeconds 3: ${took.toFixed(1)}s from apply to completion`);
    expect(took).toBeLessThan(40);
    expect(done.status.activeSlot).toBe(otherSlot(old));
    expect((await getJSON('service', '-n', ns, name))?.spec.selector['coxswain.dev/slot']).toBe(otherSlot(old));
  });
});
