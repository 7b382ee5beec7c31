// Adversarial (wt-adv): a new revision applied in the middle of the canary's scale-down delay
// after a promotion, behind an HTTPRoute. The slot let go keeps its Ready pods for
// scaleDownDelaySeconds so that requests gateway replicas still send it finish (src/rollout/
// scaleDown.ts); it is also the new revision's candidate slot, which was cleared at once. Fixed on
// this branch (src/rollout/moves.ts, unit test src/rollout/adv.scaleDown.test.ts); this checks it on
// the real cluster: before the fix it failed ("blue at ..., 14.229s before the delay's end:
// {"blue":{"replicas":1,"ready":0,"image":"registry.example/late:3",...}}"). The Gateway controller is the suite's stand-in (test/e2e/gateway.ts: it writes
// route status only): what is checked is the slot's pods, not requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, createNamespace, deleteNamespace, eventually, installCRD, microservice, Operator } from './harness.js';
import { GatewayController, installGatewayAPI } from './gateway.js';
import { healthyAt, msOf, record, slotsOf } from './rollout-harness.js';

let ns: string;
let operator: Operator;
let gateway: GatewayController;

beforeAll(async () => {
  await installCRD();
  await installGatewayAPI();
  ns = await createNamespace('e2e-adv-scaledown');
  gateway = await new GatewayController(ns).start();
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await gateway.stop();
  await deleteNamespace(ns);
});

const DELAY = 15;
const spec = (image: string) => ({
  image, replicas: 2, ports: [{ name: 'http', port: 8080, servicePort: 80 }],
  traffic: { gateway: { parentRefs: [{ name: 'public', namespace: 'gateways' }], hostnames: ['late.example.com'] } },
  strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }], scaleDownDelaySeconds: DELAY } },
});

describe('a new revision during the scale-down delay after a promotion', () => {
  it('keeps the previous slot\'s Ready pods until the delay has run, then rolls the new revision out there', async () => {
    const name = 'late';
    expect((await apply(microservice(name, spec('registry.example/late:1'), ns))).stderr).toBe('');
    const first = await eventually('v1 healthy', healthyAt(ns, name, 'registry.example/late:1'), 120_000);
    const old = first.status.activeSlot as string;
    expect((await apply(microservice(name, spec('registry.example/late:2'), ns))).stderr).toBe('');
    const promoted = await eventually('v2 promoted, in its scale-down delay', async () => {
      const o = await msOf(ns, name);
      return o?.status?.activeSlot !== old && o?.status?.rollout?.scaleDownAt && o;
    }, 120_000, 200);
    const scaleDownAt = Date.parse(promoted.status.rollout.scaleDownAt);
    // Each sample timed when its read has come back: the state it shows is from no later than
    // that. (Timed when the read began, a kubectl get slowed past the second's slack on a loaded
    // machine could show the scale-down at the delay's end as if it came before.)
    const splits = record(async () => {
      const value = await slotsOf(ns, name);
      return { at: Date.now(), value };
    }, 200);
    expect((await apply(microservice(name, spec('registry.example/late:3'), ns))).stderr).toBe('');
    await eventually('v3 healthy', healthyAt(ns, name, 'registry.example/late:3'), 120_000);
    await splits.stop();
    const samples = splits.samples;
    // Until the delay's end (a second's slack for the clocks), the old slot kept its 2 Ready pods of v1.
    const before = samples.filter((s) => s.at < scaleDownAt - 1000);
    expect(before.length).toBeGreaterThan(0);
    const dipped = before.find((s) => (s.value[old]?.ready ?? 0) < 2 || s.value[old]?.image !== 'registry.example/late:1');
    expect(dipped, `${old} at ${dipped && new Date(dipped.at).toISOString()}, ${(scaleDownAt - (dipped?.at ?? 0)) / 1000}s before the delay's end: ${JSON.stringify(dipped?.value)}`).toBeUndefined();
  });
});
