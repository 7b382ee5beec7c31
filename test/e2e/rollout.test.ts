// Progressive delivery on a real cluster: canary by replica weights, pauses and promotion, bad
// canaries aborted by themselves, blue-green with preview and undo, a restart mid-rollout, and
// kubectl scale during a canary. Actions go through the kubectl plugin, typed as a user would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply, condition, createNamespace, deleteNamespace, eventually, getJSON, installCRD, k, kubectlCoxswain, microservice, Operator, sleep,
} from './harness.js';
import { healthyAt as healthyIn, msOf, recordSplits as recordSplitsIn, slotsOf } from './rollout-harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-roll');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

/** `kubectl coxswain ...` exactly as typed, through kubectl's plugin mechanism. */
const coxswain = (...args: string[]) => kubectlCoxswain(ns, args);
const ms = (name: string) => msOf(ns, name);
const slots = (name: string) => slotsOf(ns, name);
const healthyAt = (name: string, image: string) => healthyIn(ns, name, image);
/**
 * Samples slot sizes until stopped: what a person watching `kubectl get deploy -w` would see. The
 * last sample is taken after stop, so the settled state is always in the record however short the
 * window between the last scale and the condition that stopped it.
 */
const recordSplits = (name: string) => recordSplitsIn(ns, name);

const canarySpec = (image: string, steps: unknown[], extra: Record<string, unknown> = {}) => ({
  image, replicas: 4, ports: [{ name: 'http', port: 8080 }],
  strategy: { type: 'Canary', canary: { steps, maxSurge: 1, maxUnavailable: 0 }, progressDeadlineSeconds: 20 },
  ...extra,
});

describe('canary', () => {
  it('follows the weights step by step, within the surge cap, and completes with the old slot at 0', async () => {
    const steps = [{ setWeight: 25 }, { pause: { duration: '2s' } }, { setWeight: 50 }, { pause: { duration: '2s' } }];
    await apply(microservice('cart', canarySpec('registry.example/cart:1', steps), ns));
    await eventually('first revision live', healthyAt('cart', 'registry.example/cart:1'));
    const stableSlot = (await ms('cart')).status.activeSlot;

    const rec = recordSplits('cart');
    const started = Date.now();
    await apply(microservice('cart', canarySpec('registry.example/cart:2', steps), ns));
    const done = await eventually('the canary to complete', healthyAt('cart', 'registry.example/cart:2'), 120_000);
    await rec.stop();
    const cand = stableSlot === 'blue' ? 'green' : 'blue';
    expect(done.status.activeSlot).toBe(cand);

    const splits = rec.samples.filter((s) => s[cand]?.image === 'registry.example/cart:2').map((s) => `${s[stableSlot]?.replicas ?? 0}/${s[cand]?.replicas ?? 0}`);
    // The plan at 4 replicas: 25% -> 3 stable / 1 candidate, 50% -> 2/2, then 0/4.
    for (const expected of ['3/1', '2/2', '0/4']) expect(splits, `observed splits: ${splits.join(' ')}`).toContain(expected);
    for (const s of rec.samples) {
      const total = (s.blue?.replicas ?? 0) + (s.green?.replicas ?? 0);
      expect(total).toBeLessThanOrEqual(4 + 1); // replicas + maxSurge
      // maxUnavailable 0: Ready pods never drop below 4 once the first revision was live.
      expect((s.blue?.ready ?? 0) + (s.green?.ready ?? 0)).toBeGreaterThanOrEqual(4 - 1); // -1: a sample may fall between two pod updates
    }
    const after = await slots('cart');
    expect(after[stableSlot]).toMatchObject({ replicas: 0, image: 'registry.example/cart:1' });
    console.log(`canary 25/pause 2s/50/pause 2s at 4 replicas: ${((Date.now() - started) / 1000).toFixed(1)}s from apply to completion`);
  });

  it('waits at an indefinite pause until kubectl coxswain promote', async () => {
    const steps = [{ setWeight: 50 }, { pause: {} }];
    await apply(microservice('pay', canarySpec('registry.example/pay:1', steps), ns));
    await eventually('first revision live', healthyAt('pay', 'registry.example/pay:1'));
    const refused = await coxswain('promote', 'pay');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/pay has no rollout in progress; nothing to promote/);

    await apply(microservice('pay', canarySpec('registry.example/pay:2', steps), ns));
    const paused = await eventually('paused at step 1', async () => {
      const o = await ms('pay');
      return o?.status?.phase === 'Paused' && o.status.rollout?.step === 1 ? o : undefined;
    });
    expect(paused.status.rollout).toMatchObject({ desiredWeight: 50, weight: 50 });
    await sleep(2000);
    expect((await ms('pay')).status.phase).toBe('Paused'); // still waiting: nothing moves by itself
    const shown = await coxswain('get', 'pay');
    expect(shown.stdout).toMatch(/Strategy: +Canary \(step 1\/2, weight 50%, desired 50%\)/);
    expect(shown.stdout).toMatch(/> 1 +pause until promoted/);

    const promoted = await coxswain('promote', 'pay');
    expect(promoted.stderr).toBe('');
    expect(promoted.stdout).toMatch(/pay: promoted past the pause/);
    await eventually('promoted to the new revision', healthyAt('pay', 'registry.example/pay:2'));
    expect((await ms('pay')).metadata.annotations?.['coxswain.dev/action']).toBeUndefined();
  });

  it('aborts a canary that never becomes Ready, by itself, keeping the stable slot at full size', async () => {
    const steps = [{ setWeight: 25 }, { setWeight: 100 }];
    await apply(microservice('inventory', canarySpec('registry.example/inventory:1', steps), ns));
    await eventually('first revision live', healthyAt('inventory', 'registry.example/inventory:1'));
    const stableSlot = (await ms('inventory')).status.activeSlot;

    const rec = recordSplits('inventory');
    const bad = canarySpec('registry.example/inventory:2', steps, { pod: { labels: { 'coxswain.dev/e2e-ready': 'false' } } });
    await apply(microservice('inventory', bad, ns));
    const aborted = await eventually('the canary to be aborted', async () => {
      const o = await ms('inventory');
      return condition(o, 'Stalled')?.reason === 'RolloutAborted' ? o : undefined;
    }, 60_000);
    await sleep(1500);
    await rec.stop();
    expect(condition(aborted, 'Stalled')!.message).toContain(`revision ${aborted.status.desiredRevision} was aborted`);
    expect(condition(aborted, 'Stalled')!.message).toMatch(/did not become ready within 20s/);
    expect(aborted.status.phase).toBe('Degraded');
    for (const s of rec.samples) expect(s[stableSlot]?.ready).toBe(4); // capacity never dropped
    expect((await slots('inventory'))[stableSlot === 'blue' ? 'green' : 'blue']?.replicas).toBe(0);
    // Events are created after the status write that the test saw.
    await eventually('a RolloutAborted Event', async () =>
      (await getJSON('events', '-n', ns, '--field-selector', 'involvedObject.name=inventory,reason=RolloutAborted')).items.length > 0, 15_000);

    // Git still says the bad revision: it stays aborted; a fixed spec then rolls out.
    await sleep(1000);
    expect(condition(await ms('inventory'), 'Stalled')?.reason).toBe('RolloutAborted');
    await apply(microservice('inventory', canarySpec('registry.example/inventory:3', steps), ns));
    await eventually('the fixed revision to roll out', healthyAt('inventory', 'registry.example/inventory:3'), 60_000);
  });

  it('aborts a crash-looping canary as soon as its pods fail', async () => {
    const steps = [{ setWeight: 50 }, { pause: {} }];
    await apply(microservice('search', canarySpec('registry.example/search:1', steps, { strategy: { type: 'Canary', canary: { steps }, progressDeadlineSeconds: 600 } }), ns));
    await eventually('first revision live', healthyAt('search', 'registry.example/search:1'));
    const started = Date.now();
    await apply(microservice('search', canarySpec('registry.example/search:2', steps, {
      strategy: { type: 'Canary', canary: { steps }, progressDeadlineSeconds: 600 },
      pod: { labels: { 'coxswain.dev/e2e-fail': 'true' } },
    }), ns));
    const aborted = await eventually('the crash-looping canary to be aborted', async () => {
      const o = await ms('search');
      return condition(o, 'Stalled')?.reason === 'RolloutAborted' ? o : undefined;
    }, 60_000);
    expect(condition(aborted, 'Stalled')!.message).toMatch(/failing \(CrashLoopBackOff in container search \(exit code 1\)\)/);
    expect(Date.now() - started).toBeLessThan(600_000 / 10); // long before the progress deadline
    const retried = await coxswain('retry', 'search');
    expect(retried.stdout).toMatch(/retrying the rollout of revision/);
  });

  it('keeps the weight when the total is scaled mid-canary, as an HPA would', async () => {
    const steps = [{ setWeight: 50 }, { pause: {} }];
    await apply(microservice('feed', canarySpec('registry.example/feed:1', steps), ns));
    await eventually('first revision live', healthyAt('feed', 'registry.example/feed:1'));
    await apply(microservice('feed', canarySpec('registry.example/feed:2', steps), ns));
    await eventually('paused at 50%', async () => (await ms('feed'))?.status?.phase === 'Paused');
    await k('scale', '-n', ns, 'microservice/feed', '--replicas=8');
    const split = await eventually('4/4 at 8 replicas, and status saying so', async () => {
      const s = await slots('feed');
      const o = await ms('feed'); // read after the slots: its status has seen at least what they show
      const cand = o.status.rollout?.candidateSlot;
      return s[cand]?.ready === 4 && s[o.status.activeSlot]?.ready === 4 && s[cand]?.replicas === 4 && o.status.rollout.weight === 50 ? { o, s } : undefined;
    });
    expect(split.o.status.rollout).toMatchObject({ desiredWeight: 50, weight: 50 });
    expect(split.o.status.phase).toBe('Paused');
  });

  it('resumes where it was after the operator is killed mid-rollout', async () => {
    const steps = [{ setWeight: 25 }, { pause: { duration: '4s' } }, { setWeight: 75 }, { pause: { duration: '1s' } }];
    await apply(microservice('mail', canarySpec('registry.example/mail:1', steps), ns));
    await eventually('first revision live', healthyAt('mail', 'registry.example/mail:1'));
    await apply(microservice('mail', canarySpec('registry.example/mail:2', steps), ns));
    // Step 1 and its pausedUntil are written together; a read after the kill could be past the 4s pause.
    const mid = await eventually('the timed pause at step 1', async () => {
      const o = await ms('mail');
      return o?.status?.rollout?.step === 1 ? o : undefined;
    });
    await operator.stop('SIGKILL');
    await sleep(1000);
    operator = new Operator(['--namespaces', ns]).start();
    const done = await eventually('the rollout to complete after the restart', healthyAt('mail', 'registry.example/mail:2'), 90_000);
    // It resumed at step 1 with the pause it had already started, not from step 0.
    expect(mid.status.rollout.pausedUntil).toBeDefined();
    expect(done.status.activeSlot).toBe(mid.status.rollout.candidateSlot);
  });
});

describe('pause and resume', () => {
  it('holds a rolling update at kubectl coxswain pause, and rolls it out on resume', async () => {
    const spec = (image: string) => ({ image, replicas: 2, ports: [{ name: 'http', port: 8080 }] });
    await apply(microservice('notes', spec('registry.example/notes:1'), ns));
    await eventually('first revision live', healthyAt('notes', 'registry.example/notes:1'));
    expect((await coxswain('pause', 'notes')).code).toBe(0);
    await eventually('the pause recorded', async () => (await ms('notes'))?.status?.lastAction?.action === 'pause');

    await apply(microservice('notes', spec('registry.example/notes:2'), ns));
    await eventually('Paused with the Deployment paused', async () => {
      const d = await getJSON('deployment', '-n', ns, `notes-${(await ms('notes')).status.activeSlot}`);
      return (await ms('notes'))?.status?.phase === 'Paused' && d?.spec.paused === true;
    });
    expect((await coxswain('resume', 'notes')).code).toBe(0);
    const done = await eventually('the new revision live after resume', healthyAt('notes', 'registry.example/notes:2'), 60_000);
    expect((await getJSON('deployment', '-n', ns, `notes-${done.status.activeSlot}`))?.spec.paused).toBeUndefined();
  });
});

describe('blue-green', () => {
  const bg = (image: string, extra: Record<string, unknown> = {}) => ({
    image, replicas: 3, ports: [{ name: 'http', port: 8080 }],
    // A delay long enough to look at the old slot during it, even on a loaded machine.
    strategy: { type: 'BlueGreen', blueGreen: { scaleDownDelaySeconds: 15, previewReplicas: 2 }, ...extra },
  });
  const selectorSlot = async (svc: string) => (await getJSON('service', '-n', ns, svc))?.spec.selector['coxswain.dev/slot'];

  it('previews the candidate, switches only on promotion, scales the old slot down after the delay, and undoes instantly', async () => {
    await apply(microservice('web', bg('registry.example/web:1'), ns));
    await eventually('first revision live', healthyAt('web', 'registry.example/web:1'));
    const blue = (await ms('web')).status.activeSlot;
    const green = blue === 'blue' ? 'green' : 'blue';
    expect(await selectorSlot('web')).toBe(blue);

    await apply(microservice('web', bg('registry.example/web:2'), ns));
    await eventually('the preview to be ready and waiting', async () => {
      const o = await ms('web');
      return o?.status?.phase === 'Paused' && (await slots('web'))[green]?.ready === 2;
    });
    expect(await selectorSlot('web-preview')).toBe(green);
    expect(await selectorSlot('web')).toBe(blue); // not switched before promotion
    // The EndpointSlice controller follows the Service and pods on its own time.
    await eventually('web-preview to have the 2 candidate pods as endpoints', async () => {
      const endpoints = await getJSON('endpointslices', '-n', ns, '-l', 'kubernetes.io/service-name=web-preview');
      return endpoints.items.flatMap((e: any) => e.endpoints ?? []).length === 2;
    }, 30_000);

    expect((await coxswain('promote', 'web')).code).toBe(0);
    const promoted = await eventually('the switch to the new slot', async () => {
      const o = await ms('web');
      return o?.status?.activeSlot === green && (await selectorSlot('web')) === green ? o : undefined;
    });
    expect(promoted.status.stableRevision).toBe(promoted.status.desiredRevision);
    expect((await slots('web'))[blue]?.replicas).toBe(3); // kept during scaleDownDelaySeconds
    await eventually('the old slot scaled down after the delay', async () => (await slots('web'))[blue]?.replicas === 0, 60_000);
    await eventually('Healthy', healthyAt('web', 'registry.example/web:2'));

    const undo = await coxswain('undo', 'web');
    expect(undo.stdout).toMatch(/rolled back to revision/);
    const back = await eventually('the old revision to serve again', async () => {
      const o = await ms('web');
      return o?.status?.activeSlot === blue && (await selectorSlot('web')) === blue && (await slots('web'))[blue]?.ready === 3 ? o : undefined;
    });
    expect(condition(back, 'Stalled')?.reason).toBe('RolloutAborted');
    expect(back.status.rollout.abortedRevision).toBe(promoted.status.desiredRevision);
  });
});
