// Issue 8, class 6: a paused Microservice gives a new revision no pods until it is resumed, by
// spec.paused or by kubectl coxswain pause, canary or blue-green; status says Paused meanwhile,
// and once resumed the revision rolls out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, createNamespace, deleteNamespace, eventually, installCRD, microservice, Operator } from './harness.js';
import { current, healthyAt, msOf, pluginIn, record, watchPods } from './rollout-harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-c-pause');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

const ports = [{ name: 'http', port: 8080 }];
const strategies = {
  Canary: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { setWeight: 100 }] } },
  // previewReplicas 1: the promotion grows the slot, an event of its own (class 2 aside).
  BlueGreen: { type: 'BlueGreen', blueGreen: { autoPromotionSeconds: 0, scaleDownDelaySeconds: 0, previewReplicas: 1 } },
};
type How = 'spec.paused' | 'kubectl coxswain pause';

/**
 * v1 live, paused (how), then v2: no v2 pod while paused, status Paused; resumed, v2 live.
 */
async function holds(name: string, strategy: keyof typeof strategies, how: How) {
  const spec = (image: string, paused: boolean) => ({ image, replicas: 2, ports, strategy: strategies[strategy], paused });
  const image = (n: number) => `registry.example/${name}:${n}`;
  await apply(microservice(name, spec(image(1), false), ns));
  await eventually('v1 live', healthyAt(ns, name, image(1)), 120_000);
  if (how === 'spec.paused') {
    await apply(microservice(name, spec(image(1), true), ns));
    await eventually('spec.paused taken up', async () => (await current(ns, name)) !== undefined);
  } else {
    const paused = await pluginIn(ns)('pause', name);
    expect(paused.stderr).toBe('');
    expect(paused.code).toBe(0);
  }

  // Every pod of the Microservice that exists at any moment from here until the resume.
  const pods = await watchPods(ns, `app.kubernetes.io/name=${name}`);
  await apply(microservice(name, spec(image(2), how === 'spec.paused'), ns));
  const seen = await eventually('v2 taken up, Paused', async () => {
    const o = await current(ns, name);
    return o?.status?.phase === 'Paused' && o.status.desiredRevision !== o.status.stableRevision ? o : undefined;
  }, 60_000).catch(async (err: Error) => {
    const o = await msOf(ns, name);
    throw new Error(`${err.message}; phase ${o?.status?.phase}: ${o?.status?.rollout?.message}`);
  });
  const v2 = seen.status.desiredRevision as string;
  const rec = record(async () => (await msOf(ns, name))?.status?.phase as string, 200);
  // The old engine sized the first step at once; 40 samples is several reconciles' worth (each a
  // kubectl get, up to a second on a loaded 2-core machine: the wait allows for that).
  await eventually('40 samples (8 s or more) while paused', async () => rec.samples.length >= 40, 120_000);
  await rec.stop();
  expect.soft((await pods.stop()).filter((p) => p.revision === v2).map((p) => p.name), `pods of revision ${v2} while paused`).toEqual([]);
  expect.soft(rec.samples.filter((phase) => phase !== 'Paused'), 'phases while paused').toEqual([]);

  if (how === 'spec.paused') await apply(microservice(name, spec(image(2), false), ns));
  else {
    const resumed = await pluginIn(ns)('resume', name);
    expect(resumed.stderr).toBe('');
  }
  await eventually('v2 live after resume', healthyAt(ns, name, image(2)), 120_000);
}

describe('a new revision while paused', () => {
  it('gets no pods on a canary paused by spec.paused, and rolls out on resume', () => holds('pawl', 'Canary', 'spec.paused'));
  it('gets no pods on a canary paused by kubectl coxswain pause, and rolls out on resume', () => holds('detent', 'Canary', 'kubectl coxswain pause'));
  it('gets no preview on a blue-green paused by spec.paused, and rolls out on resume', () => holds('latch', 'BlueGreen', 'spec.paused'));
});
