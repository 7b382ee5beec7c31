// Issue 8, class 11: `<name>-preview` selects the candidate slot while a rollout is under way, and
// the active slot otherwise: after a promotion it follows the new stable slot, never the replaced
// one (canary, and blue-green during its scale-down delay).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, createNamespace, deleteNamespace, eventually, getJSON, installCRD, microservice, Operator } from './harness.js';
import { current, healthyAt, otherSlot, pluginIn, record } from './rollout-harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-c-preview');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

const ports = [{ name: 'http', port: 8080 }];
const previewSlot = async (name: string) => (await getJSON('service', '-n', ns, `${name}-preview`))?.spec.selector['coxswain.dev/slot'] as string | undefined;

describe('<name>-preview after promotion', () => {
  it('selects the new stable slot once a canary completes', async () => {
    const name = 'lantern';
    const spec = (image: string) => ({ image, replicas: 2, ports, strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }] } } });
    await apply(microservice(name, spec('registry.example/lantern:1'), ns));
    const v1 = await eventually('v1 live', healthyAt(ns, name, 'registry.example/lantern:1'), 120_000);
    expect.soft(await previewSlot(name), 'no rollout: the active slot').toBe(v1.status.activeSlot);
    await apply(microservice(name, spec('registry.example/lantern:2'), ns));
    const done = await eventually('v2 live', healthyAt(ns, name, 'registry.example/lantern:2'), 120_000);
    expect(done.status.activeSlot).toBe(otherSlot(v1.status.activeSlot));
    // The Services are applied before the status that says Healthy.
    expect(await previewSlot(name)).toBe(done.status.activeSlot);
  });

  it('selects the new active slot after a blue-green switch, during the scale-down delay too', async () => {
    const name = 'beacon';
    const spec = (image: string) => ({ image, replicas: 2, ports, strategy: { type: 'BlueGreen', blueGreen: { scaleDownDelaySeconds: 20 } } });
    await apply(microservice(name, spec('registry.example/beacon:1'), ns));
    const v1 = await eventually('v1 live', healthyAt(ns, name, 'registry.example/beacon:1'), 120_000);
    const replaced = v1.status.activeSlot as string;
    await apply(microservice(name, spec('registry.example/beacon:2'), ns));
    await eventually('the preview waiting for promotion', async () => (await current(ns, name))?.status?.phase === 'Paused', 120_000);
    expect(await previewSlot(name), 'the candidate while the rollout is under way').toBe(otherSlot(replaced));

    expect((await pluginIn(ns)('promote', name)).code).toBe(0);
    await eventually('switched', async () => (await current(ns, name))?.status?.activeSlot === otherSlot(replaced), 60_000);
    const rec = record(() => previewSlot(name), 200);
    await eventually('v2 Healthy, the old slot scaled down', healthyAt(ns, name, 'registry.example/beacon:2'), 90_000);
    await rec.stop();
    expect(rec.samples.filter((s) => s === replaced), `${name}-preview on the replaced slot ${replaced}`).toEqual([]);
  });
});
