// Real requests through a real Gateway (Traefik) during real rollouts: the split the route's weight
// promises, measured, and no request failed. Real: the API server, the controllers, KWOK's pods and
// their EndpointSlices, Traefik, the operator. Played (pods.ts): the application inside the pods,
// which KWOK does not run, including its termination for the pod's grace period after KWOK deletes
// it at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../../src/kube/client.js';
import { apply, createNamespace, deleteNamespace, eventually, installCRD, KUBECONFIG, microservice, Operator, sleep } from '../harness.js';
import {
  account, act as actOn, APP_PORT, type DataPlane, failed, failures, healthyAt as healthyIn, host, LoadGenerator, msOf, NETNS, parentRefs, routeSamples as sampleRoute,
  SKIP_REASON, spans, startDataPlane,
} from './dataplane.js';

if (!NETNS) console.warn(`SKIPPED test/e2e/dataplane/canary.test.ts: ${SKIP_REASON}`);

let ns: string;
let operator: Operator;
let plane: DataPlane;
let client: KubeClient;

beforeAll(async () => {
  if (!NETNS) return;
  await installCRD();
  ns = await createNamespace('e2e-dataplane');
  plane = await startDataPlane(ns);
  operator = new Operator(['--namespaces', ns]).start();
  client = await KubeClient.fromEnvironment(KUBECONFIG, undefined, 'coxswain-e2e-sampler');
});
afterAll(async () => {
  if (!NETNS) return;
  await operator.stop();
  await plane.stop();
  client.close();
  await deleteNamespace(ns);
});

const spec = (name: string, image: string, strategy: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  image, replicas: 4, ports: [{ name: 'http', port: APP_PORT, servicePort: 80 }],
  traffic: { gateway: { parentRefs, hostnames: [host(name)] } },
  strategy: { progressDeadlineSeconds: 60, ...strategy },
  ...extra,
});
const ms = (name: string) => msOf(ns, name);
const other = (slot: string) => (slot === 'blue' ? 'green' : 'blue');
const healthyAt = (name: string, image: string) => healthyIn(ns, name, image);
const act = (name: string, action: string) => actOn(ns, name, action);
const routeSamples = (name: string) => sampleRoute(client, ns, name);

// How close the measured split must be to the route's weight: 4 standard deviations of a binomial
// share over the window's n requests, sqrt(w(1-w)/n), plus one request. A gateway choosing each
// backend at random meets this 99.99% of the time; Traefik's weighted round robin is deterministic
// and lands far closer (the deviations are printed).
const tolerance = (w: number, n: number) => 4 * Math.sqrt((w * (1 - w)) / n) + 1 / n;
/** Answers sent this soon after the route changed may have met the weight before (Traefik applies a change within ~100 ms). */
const SETTLE_MS = 1000;

describe.skipIf(!NETNS)('real requests through a canary with a route', () => {
  it('splits traffic as the route says at 5, 25 and 50%, and fails no request through to completion', async () => {
    const steps = [{ setWeight: 5 }, { pause: { duration: '6s' } }, { setWeight: 25 }, { pause: { duration: '6s' } }, { setWeight: 50 }, { pause: { duration: '6s' } }];
    const strategy = { type: 'Canary', canary: { steps, maxSurge: 1, maxUnavailable: 0 } };
    await apply(microservice('cart', spec('cart', 'registry.example/cart:1', strategy), ns));
    const first = await eventually('first revision live', healthyAt('cart', 'registry.example/cart:1'));
    const stable = first.status.activeSlot;
    const cand = other(stable);

    const load = new LoadGenerator(host('cart')).start();
    await eventually('the gateway answering for cart', async () => load.answers.some((a) => a.slot === stable) || undefined, 30_000);
    const started = Date.now();
    const route = routeSamples('cart');
    await apply(microservice('cart', spec('cart', 'registry.example/cart:2', strategy), ns));
    const done = await eventually('the canary to complete', healthyAt('cart', 'registry.example/cart:2'), 180_000);
    await sleep(2000); // traffic on after the last step: the old pods' termination is part of it
    await route.stop();
    const answers = (await load.stop()).filter((a) => a.sent >= started);
    console.log(account('canary 5/25/50/100', answers));

    expect(done.status.activeSlot).toBe(cand);
    expect(answers.length, 'at least 50 requests a second').toBeGreaterThan(50 * ((answers.at(-1)!.sent - started) / 1000) * 0.9);
    expect(answers.filter(failed), failures(answers)).toEqual([]);

    const measured: string[] = [];
    for (const [from, to, weight] of spans(route.samples, cand)) {
      if (weight === 0 || weight === 100 || to - from < 3000) continue;
      const window = answers.filter((a) => a.sent >= from + SETTLE_MS && a.sent < to);
      const share = window.filter((a) => a.slot === cand).length / window.length;
      const tol = tolerance(weight / 100, window.length);
      measured.push(`${weight}%: ${(100 * share).toFixed(1)}% of ${window.length} (±${(100 * tol).toFixed(1)})`);
      expect(Math.abs(share - weight / 100), `measured ${share} at weight ${weight} over ${window.length} requests`).toBeLessThanOrEqual(tol);
    }
    console.log(`canary split: ${measured.join(', ')}`);
    expect(measured.map((m) => m.split('%')[0])).toEqual(['5', '25', '50']);
    // After promotion every answer comes from the new revision.
    const last = answers.filter((a) => a.sent > answers.at(-1)!.sent - 1000);
    expect(last.every((a) => a.slot === cand)).toBe(true);
  });

  it('fails no request through an abort at 25%: the route goes back to the stable slot before the candidate\'s pods go', async () => {
    const strategy = { type: 'Canary', canary: { steps: [{ setWeight: 25 }, { pause: {} }], maxSurge: 1, maxUnavailable: 0 } };
    await apply(microservice('shop', spec('shop', 'registry.example/shop:1', strategy), ns));
    const first = await eventually('first revision live', healthyAt('shop', 'registry.example/shop:1'));
    const stable = first.status.activeSlot;
    const cand = other(stable);
    const load = new LoadGenerator(host('shop')).start();
    await eventually('the gateway answering for shop', async () => load.answers.some((a) => a.slot === stable) || undefined, 30_000);
    const started = Date.now();
    await apply(microservice('shop', spec('shop', 'registry.example/shop:2', strategy), ns));
    await eventually('paused at 25%', async () => {
      const o = await ms('shop');
      return o?.status?.phase === 'Paused' && o.status.rollout?.weight === 25 || undefined;
    }, 120_000);
    await sleep(3000);
    const abortAt = Date.now();
    await act('shop', 'abort');
    await eventually('the candidate gone, the stable slot serving all', async () => {
      const o = await ms('shop');
      return o?.status?.rollout?.abortedRevision && o.status.slots?.[cand]?.replicas === 0 && o.status.traffic?.acceptedWeights?.[cand] === 0 || undefined;
    }, 120_000);
    await sleep(2000);
    const answers = (await load.stop()).filter((a) => a.sent >= started);
    console.log(account('canary abort at 25%', answers));
    const lastOnCandidate = Math.max(...answers.filter((a) => a.slot === cand && !a.terminating).map((a) => a.sent));
    console.log(`abort: last request to the candidate ${lastOnCandidate - abortAt} ms after the abort was asked`);
    expect(answers.filter((a) => a.slot === cand).length, 'the candidate served at 25%').toBeGreaterThan(0);
    expect(answers.filter(failed), failures(answers)).toEqual([]);
    // After the abort every answer comes from the stable slot.
    expect(answers.filter((a) => a.sent > answers.at(-1)!.sent - 1000).every((a) => a.slot === stable)).toBe(true);
  });

  it('fails no request through a blue-green switch and the switch back (undo)', async () => {
    const strategy = { type: 'BlueGreen', blueGreen: { scaleDownDelaySeconds: 60 } };
    await apply(microservice('web', spec('web', 'registry.example/web:1', strategy), ns));
    const first = await eventually('first revision live', healthyAt('web', 'registry.example/web:1'));
    const blue = first.status.activeSlot;
    const green = other(blue);
    const load = new LoadGenerator(host('web')).start();
    await eventually('the gateway answering for web', async () => load.answers.some((a) => a.slot === blue) || undefined, 30_000);
    const started = Date.now();
    await apply(microservice('web', spec('web', 'registry.example/web:2', strategy), ns));
    await eventually('the preview whole', async () => {
      const o = await ms('web');
      return o?.status?.slots?.[green]?.readyReplicas === 4 && o.status.phase === 'Paused' || undefined;
    }, 120_000);
    const promoteAt = Date.now();
    await act('web', 'promote');
    await eventually('switched', healthyAt('web', 'registry.example/web:2'), 120_000);
    await sleep(3000);
    const undoAt = Date.now();
    await act('web', 'undo');
    await eventually('switched back', async () => {
      const o = await ms('web');
      return o?.status?.activeSlot === blue && o.status.traffic?.acceptedWeights?.[blue] === 100 || undefined;
    }, 120_000);
    await sleep(3000);
    const answers = (await load.stop()).filter((a) => a.sent >= started);
    console.log(account('blue-green switch and back', answers));
    const firstTo = (slot: string, after: number) => Math.min(...answers.filter((a) => a.sent >= after && a.slot === slot).map((a) => a.sent)) - after;
    const lastTo = (slot: string, after: number, before: number) => Math.max(...answers.filter((a) => a.sent >= after && a.sent < before && a.slot === slot && !a.terminating).map((a) => a.sent)) - after;
    console.log(`blue-green: promote -> first answer from the new slot ${firstTo(green, promoteAt)} ms, last from the old ${lastTo(blue, promoteAt, undoAt)} ms; `
      + `undo -> first answer from the old slot ${firstTo(blue, undoAt)} ms`);
    expect(answers.filter(failed), failures(answers)).toEqual([]);
    expect(answers.some((a) => a.sent > promoteAt && a.sent < undoAt && a.slot === green)).toBe(true);
    expect(answers.filter((a) => a.sent > answers.at(-1)!.sent - 1000).every((a) => a.slot === blue)).toBe(true);
  });

  it('fails no request when a new revision arrives in the middle of a canary, and ends on it', async () => {
    const strategy = { type: 'Canary', canary: { steps: [{ setWeight: 25 }, { pause: { duration: '3s' } }, { setWeight: 50 }, { pause: { duration: '3s' } }], maxSurge: 1, maxUnavailable: 0 } };
    await apply(microservice('pay', spec('pay', 'registry.example/pay:1', strategy), ns));
    const first = await eventually('first revision live', healthyAt('pay', 'registry.example/pay:1'));
    const load = new LoadGenerator(host('pay')).start();
    await eventually('the gateway answering for pay', async () => load.answers.some((a) => a.slot === first.status.activeSlot) || undefined, 30_000);
    const started = Date.now();
    await apply(microservice('pay', spec('pay', 'registry.example/pay:2', strategy), ns));
    await eventually('revision 2 at 25%', async () => (await ms('pay'))?.status?.rollout?.weight === 25 || undefined, 120_000);
    await sleep(1500); // revision 2 takes its 25% for a moment
    await apply(microservice('pay', spec('pay', 'registry.example/pay:3', strategy), ns));
    const done = await eventually('revision 3 live', healthyAt('pay', 'registry.example/pay:3'), 180_000);
    await sleep(2000);
    const answers = (await load.stop()).filter((a) => a.sent >= started);
    console.log(account('canary with a new revision at 25%', answers));
    expect(answers.filter(failed), failures(answers)).toEqual([]);
    const revisions = new Set(answers.map((a) => a.revision));
    expect(revisions.size, `revisions that answered: ${[...revisions].join(', ')}`).toBe(3);
    expect(answers.filter((a) => a.sent > answers.at(-1)!.sent - 1000).every((a) => a.revision === done.status.stableRevision)).toBe(true);
  });

  it('fails no request when the operator is killed at 25% and a new one carries the canary to completion', async () => {
    const strategy = { type: 'Canary', canary: { steps: [{ setWeight: 25 }, { pause: { duration: '5s' } }, { setWeight: 50 }, { pause: { duration: '2s' } }], maxSurge: 1, maxUnavailable: 0 } };
    await apply(microservice('auth', spec('auth', 'registry.example/auth:1', strategy), ns));
    const first = await eventually('first revision live', healthyAt('auth', 'registry.example/auth:1'));
    const load = new LoadGenerator(host('auth')).start();
    await eventually('the gateway answering for auth', async () => load.answers.some((a) => a.slot === first.status.activeSlot) || undefined, 30_000);
    const started = Date.now();
    await apply(microservice('auth', spec('auth', 'registry.example/auth:2', strategy), ns));
    await eventually('at 25%', async () => (await ms('auth'))?.status?.rollout?.weight === 25 || undefined, 120_000);
    await operator.stop('SIGKILL');
    await sleep(2000); // traffic goes on with no operator at all
    operator = new Operator(['--namespaces', ns]).start();
    await eventually('auth:2 live', healthyAt('auth', 'registry.example/auth:2'), 180_000);
    await sleep(2000);
    const answers = (await load.stop()).filter((a) => a.sent >= started);
    console.log(account('canary with the operator killed at 25%', answers));
    expect(answers.filter(failed), failures(answers)).toEqual([]);
    expect(answers.filter((a) => a.sent > answers.at(-1)!.sent - 1000).every((a) => a.slot === other(first.status.activeSlot))).toBe(true);
  });
});
