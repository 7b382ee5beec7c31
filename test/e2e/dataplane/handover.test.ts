// Real requests through a real Gateway (Traefik) at the handovers canary.test.ts leaves out: an
// undo after promotion, a canary by replica weights behind a route the test owns, header routes,
// and the scale-down delay after an abort (without it, requests in flight to the aborted
// candidate are lost). Real: the API server, the controllers, KWOK's pods and their
// EndpointSlices, Traefik, the operator. Played (pods.ts): the application inside the pods,
// including its termination (it answers for its grace period after KWOK deletes it, then drops
// what it still has in flight, as a SIGKILLed process does).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otherSlot } from '../../../src/api/names.js';
import type { Slot } from '../../../src/api/schema.js';
import { apply, createNamespace, deleteNamespace, eventually, installCRD, microservice, Operator, sleep } from '../harness.js';
import {
  account, act, type Answer, APP_PORT, type DataPlane, failed, failures, healthyAt, host, LoadGenerator, msOf, NETNS,
  parentRefs, SKIP_REASON, startDataPlane,
} from './dataplane.js';

if (!NETNS) console.warn(`SKIPPED test/e2e/dataplane/handover.test.ts: ${SKIP_REASON}`);

let ns: string;
let operator: Operator;
let plane: DataPlane;

beforeAll(async () => {
  if (!NETNS) return;
  await installCRD();
  ns = await createNamespace('e2e-handover');
  plane = await startDataPlane(ns);
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  if (!NETNS) return;
  await operator.stop();
  await plane.stop();
  await deleteNamespace(ns);
});

const routed = (name: string, image: string, canary: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  image, replicas: 4, ports: [{ name: 'http', port: APP_PORT, servicePort: 80 }],
  traffic: { gateway: { parentRefs, hostnames: [host(name)] } },
  strategy: { type: 'Canary', progressDeadlineSeconds: 60, canary: { maxSurge: 1, maxUnavailable: 0, ...canary } },
  ...extra,
});
const ms = (name: string) => msOf(ns, name);
/** Until `check` holds of the Microservice: the time it was first seen to. */
async function when(what: string, name: string, check: (o: any) => boolean, timeoutMs = 120_000): Promise<number> {
  await eventually(what, async () => check(await ms(name)) || undefined, timeoutMs, 200);
  return Date.now();
}
/** Starts steady traffic for `name` and waits for the gateway to answer from `slot`. */
async function load(name: string, slot: string, rps = 100, headers: Record<string, string> = {}): Promise<LoadGenerator> {
  const gen = new LoadGenerator(host(name), rps, headers).start();
  await eventually(`the gateway answering for ${name}`, async () => gen.answers.some((a) => a.slot === slot) || undefined, 30_000);
  return gen;
}
/** ms from `at` to the first answer (sent after it) from `slot`. */
const firstFrom = (answers: readonly Answer[], slot: string, at: number) => Math.min(...answers.filter((a) => a.sent >= at && a.slot === slot).map((a) => a.sent)) - at;
/** ms from `at` to the last answer (sent after it) from `slot`, not counting terminating pods. */
const lastFrom = (answers: readonly Answer[], slot: string, at: number) =>
  Math.max(...answers.filter((a) => a.sent >= at && a.slot === slot && !a.terminating).map((a) => a.sent)) - at;

describe.skipIf(!NETNS)('real requests through the handovers', () => {
  it('fails no request through an undo after a canary\'s promotion, back to the previous revision rebuilt from 0 pods', async () => {
    // A short delay after promotion, so the previous slot is empty when the undo comes: its pods
    // come back and the route moves to them as they are published Ready.
    const canary = { steps: [{ setWeight: 25 }, { pause: { duration: '2s' } }], scaleDownDelaySeconds: 2 };
    await apply(microservice('undo', routed('undo', 'registry.example/undo:1', canary), ns));
    const first = await eventually('first revision live', healthyAt(ns, 'undo', 'registry.example/undo:1'));
    const previous: Slot = first.status.activeSlot;
    const promoted = otherSlot(previous);
    const gen = await load('undo', previous);
    const started = Date.now();
    await apply(microservice('undo', routed('undo', 'registry.example/undo:2', canary), ns));
    await eventually('undo:2 live', healthyAt(ns, 'undo', 'registry.example/undo:2'), 180_000);
    await when('the previous slot empty', 'undo', (o) => o?.status?.slots?.[previous]?.replicas === 0 && !o.status.rollout?.scaleDownAt);
    await sleep(1000);
    const undoAt = Date.now();
    await act(ns, 'undo', 'undo');
    const backAt = await when('the route back on the previous slot', 'undo', (o) => o?.status?.activeSlot === previous && o.status.traffic?.acceptedWeights?.[previous] === 100);
    await when('the undone slot empty', 'undo', (o) => o?.status?.slots?.[promoted]?.replicas === 0);
    await sleep(1000);
    const answers = (await gen.stop()).filter((a) => a.sent >= started);
    console.log(account('canary undo after promotion', answers));
    console.log(`undo: first answer from the previous revision ${firstFrom(answers, previous, undoAt)} ms after the undo was asked, `
      + `route all back ${backAt - undoAt} ms, last from the undone revision ${lastFrom(answers, promoted, undoAt)} ms`);
    expect(answers.filter(failed), failures(answers)).toEqual([]);
    expect(answers.some((a) => a.sent > undoAt && a.slot === promoted), 'the promoted revision served until its replacement was up').toBe(true);
    expect(answers.filter((a) => a.sent > answers.at(-1)!.sent - 1000).every((a) => a.slot === previous)).toBe(true);
  });

  it('fails no request through a canary by replica weights, through an HTTPRoute the test owns to the Microservice\'s Service', async () => {
    const spec = (image: string) => ({
      image, replicas: 4, ports: [{ name: 'http', port: APP_PORT, servicePort: 80 }],
      strategy: { type: 'Canary', progressDeadlineSeconds: 60, canary: { steps: [{ setWeight: 25 }, { pause: { duration: '3s' } }, { setWeight: 50 }, { pause: { duration: '3s' } }], maxSurge: 1, maxUnavailable: 0 } },
    });
    await apply(microservice('plain', spec('registry.example/plain:1'), ns));
    const first = await eventually('first revision live', healthyAt(ns, 'plain', 'registry.example/plain:1', false));
    // The test's own route (as a team keeps one in Git): every request for the host to `plain`,
    // the Service that selects both slots, so traffic follows the pods.
    const route = {
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'plain-by-hand', namespace: ns },
      spec: { parentRefs, hostnames: [host('plain')], rules: [{ backendRefs: [{ name: 'plain', port: 80 }] }] },
    };
    const applied = await apply(route);
    expect(applied.code, applied.stderr).toBe(0);
    const stable: Slot = first.status.activeSlot;
    const cand = otherSlot(stable);
    const gen = await load('plain', stable);
    const started = Date.now();
    await apply(microservice('plain', spec('registry.example/plain:2'), ns));
    await eventually('plain:2 live', healthyAt(ns, 'plain', 'registry.example/plain:2', false), 180_000);
    await when('the old slot empty', 'plain', (o) => o?.status?.slots?.[stable]?.replicas === 0);
    await sleep(2000);
    const answers = (await gen.stop()).filter((a) => a.sent >= started);
    console.log(account('canary by replica weights, through the gateway to <name>', answers));
    const both = answers.filter((a) => a.revision !== undefined);
    console.log(`replica weights: ${both.filter((a) => a.slot === cand).length} of ${both.length} answers from the candidate during the rollout`);
    expect(answers.filter(failed), failures(answers)).toEqual([]);
    expect(answers.some((a) => a.slot === cand) && answers.some((a) => a.slot === stable), 'both revisions served during the rollout').toBe(true);
    expect(answers.filter((a) => a.sent > answers.at(-1)!.sent - 1000).every((a) => a.slot === cand)).toBe(true);
  });

  it('sends every request with the header to the candidate at weight 0 and every other to the stable slot, failing none through promotion', async () => {
    const beta = { name: 'beta', match: [{ header: 'X-Canary', value: 'true' }] };
    const canary = { steps: [{ setHeaderRoute: beta }, { pause: {} }] };
    await apply(microservice('hdr', routed('hdr', 'registry.example/hdr:1', canary), ns));
    const first = await eventually('first revision live', healthyAt(ns, 'hdr', 'registry.example/hdr:1'));
    const stable: Slot = first.status.activeSlot;
    const cand = otherSlot(stable);
    const plain = await load('hdr', stable, 60);
    // Until the header route is there, requests with the header go to the stable slot as well.
    const tagged = await load('hdr', stable, 60, { 'X-Canary': 'true' });
    const started = Date.now();
    await apply(microservice('hdr', routed('hdr', 'registry.example/hdr:2', canary), ns));
    const routedAt = await when('the header route accepted, paused', 'hdr', (o) => o?.status?.phase === 'Paused' && o.status.traffic?.accepted === 'True'
      && (o.status.traffic.acceptedHeaderRoutes ?? []).includes('beta'), 120_000);
    await sleep(5000);
    const promoteAt = Date.now();
    await act(ns, 'hdr', 'promote');
    await eventually('hdr:2 live', healthyAt(ns, 'hdr', 'registry.example/hdr:2'), 120_000);
    await sleep(2000);
    const withHeader = (await tagged.stop()).filter((a) => a.sent >= started);
    const without = (await plain.stop()).filter((a) => a.sent >= started);
    console.log(account('header route: requests with X-Canary: true', withHeader));
    console.log(account('header route: requests without it', without));
    // From a second after the route with the header rule was accepted (Traefik applies a change
    // within ~100 ms) until the promotion: the rule and the weight, exactly.
    const window = (answers: Answer[]) => answers.filter((a) => a.sent >= routedAt + 1000 && a.sent < promoteAt);
    console.log(`header route: first request with the header answered by the candidate ${firstFrom(withHeader, cand, started)} ms after the new revision was applied`);
    expect(window(withHeader).length).toBeGreaterThan(150);
    expect(window(withHeader).filter((a) => a.slot !== cand), 'every request with the header to the candidate').toEqual([]);
    expect(window(without).length).toBeGreaterThan(150);
    expect(window(without).filter((a) => a.slot !== stable), 'every other to the stable slot (weight 0)').toEqual([]);
    expect([...withHeader, ...without].filter(failed), failures([...withHeader, ...without])).toEqual([]);
    expect(without.filter((a) => a.sent > without.at(-1)!.sent - 1000).every((a) => a.slot === cand)).toBe(true);
  });

  /**
   * A canary at 25% whose candidate answers in 3 s (APP_LATENCY_MS) and is killed as soon as it
   * is deleted (grace 0), aborted. Returns the answers and how long the candidate's pods outlived
   * the route's move back.
   */
  async function abortSlowCandidate(name: string, scaleDownDelaySeconds: number): Promise<{ answers: Answer[]; keptMs: number; lost: Answer[] }> {
    const canary = { steps: [{ setWeight: 25 }, { pause: {} }], scaleDownDelaySeconds };
    const spec = (image: string, latency: number) => routed(name, image, canary, {
      env: [{ name: 'APP_LATENCY_MS', value: String(latency) }], pod: { terminationGracePeriodSeconds: 0 },
    });
    await apply(microservice(name, spec(`registry.example/${name}:1`, 0), ns));
    const first = await eventually('first revision live', healthyAt(ns, name, `registry.example/${name}:1`));
    const stable: Slot = first.status.activeSlot;
    const cand = otherSlot(stable);
    const gen = await load(name, stable, 60);
    const started = Date.now();
    await apply(microservice(name, spec(`registry.example/${name}:2`, 3000), ns));
    await when('paused at 25%', name, (o) => o?.status?.phase === 'Paused' && o.status.rollout?.weight === 25);
    await sleep(4000); // requests to the slow candidate in flight all along
    const abortAt = Date.now();
    await act(ns, name, 'abort');
    const backAt = await when('the route back accepted', name, (o) => o?.status?.traffic?.acceptedWeights?.[cand] === 0);
    const goneAt = await when('the candidate scaled to 0', name, (o) => o?.status?.slots?.[cand]?.replicas === 0, 60_000);
    await sleep(4000); // past the slowest answer
    const answers = (await gen.stop()).filter((a) => a.sent >= started);
    const lost = answers.filter((a) => failed(a) && a.sent >= abortAt - 4000);
    console.log(account(`canary abort at 25%, a 3 s candidate, scaleDownDelaySeconds ${scaleDownDelaySeconds}`, answers));
    console.log(`abort (delay ${scaleDownDelaySeconds} s): route back ${backAt - abortAt} ms after the abort, the candidate's pods gone ${goneAt - backAt} ms after that`);
    expect(answers.some((a) => a.slot === cand && !failed(a)), 'the candidate served at 25%').toBe(true);
    return { answers, keptMs: goneAt - backAt, lost };
  }

  it('after an abort, keeps the candidate\'s pods for the scale-down delay: its requests in flight finish; with no delay they are lost', async () => {
    // Without a delay the pods go once the route back is accepted, with requests still in flight
    // to them: this is what the delay is for, and it shows the measurement can fail.
    const none = await abortSlowCandidate('slow0', 0);
    expect(none.lost.length, `requests lost with scaleDownDelaySeconds 0: ${failures(none.lost)}`).toBeGreaterThan(0);
    // The same with 5 s: none is lost.
    const kept = await abortSlowCandidate('slow5', 5);
    expect(kept.answers.filter(failed), failures(kept.answers)).toEqual([]);
    // (Both times are seen by polling status every 200 ms or more: a second's slack.)
    expect(kept.keptMs, 'the candidate kept its pods for the delay after the route moved back').toBeGreaterThanOrEqual(4000);
  });
});
