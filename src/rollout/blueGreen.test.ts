// Blue-green: preview, promotion, the switch, the scale-down delay, undo.
import { describe, expect, it } from 'vitest';
import type { MicroserviceStatus } from '../api/schema.js';
import { reconcileOnce } from '../../test/support/cluster.js';
import { microservice, readySlot } from '../../test/support/fixtures.js';
import { type RolloutStatus } from './engine.js';
import type { ObservedSlots } from './types.js';
import type { KubeObject } from '../kube/object.js';
import { observeSlot, slimPod } from './observe.js';
import { OLD, NEW, NEWER, T0, at, iso, unready, crashing, spec, blueGreenSpec, rolling, steadyOn, sizes, run } from '../../test/support/engine.js';

describe('blue-green', () => {
  const bgRolling = (rollout: RolloutStatus = {}): MicroserviceStatus => rolling({ steps: 1, ...rollout });

  it('brings the candidate up at previewReplicas behind the preview Service, serving from the active slot', () => {
    const d = run({ spec: blueGreenSpec(), status: steadyOn(OLD), observed: { blue: readySlot(OLD, 3) }, now: at(2) });
    expect(sizes(d)).toEqual({ blue: '3 keep', green: '1 current' });
    expect([d.plan.serviceSlot, d.plan.previewSlot]).toEqual(['blue', 'green']);
    expect(d.rollout).toMatchObject({ candidateSlot: 'green', step: 0, steps: 1, stepStartedAt: iso(2), desiredWeight: 0 });
    expect(d.inProgress).toBe(true);
  });

  it.each<[number | undefined, string]>([[undefined, '3 current'], [2, '2 current'], [9, '3 current']])('with previewReplicas %s, plans the candidate at %s', (previewReplicas, expected) => {
    const d = run({ spec: blueGreenSpec({ previewReplicas }), status: steadyOn(OLD), observed: { blue: readySlot(OLD, 3) } });
    expect(sizes(d).green).toBe(expected);
  });

  it('schedules the promotion autoPromotionSeconds after the preview is Ready', () => {
    const d = run({ spec: blueGreenSpec(), status: bgRolling(), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 1) }, now: at(20) });
    expect(d.rollout).toMatchObject({ step: 0, pausedUntil: iso(80) });
    expect(d.requeueAfterMs).toBe(60_000);
    expect(d.plan.serviceSlot).toBe('blue');
  });

  it('does not schedule it before the preview is Ready', () => {
    const d = run({ spec: blueGreenSpec(), status: bgRolling(), observed: { blue: readySlot(OLD, 3), green: unready(NEW, 1) }, now: at(20) });
    expect(d.rollout?.pausedUntil).toBeUndefined();
    // The only wake-up asked for is the progress deadline (600 s from the step's start), not a promotion.
    expect(d.requeueAfterMs).toBe(600_000 - 20_000 + 1000);
  });

  it.each<[number, number, string]>([[79, 0, '1 current'], [80, 1, '3 current'], [500, 1, '3 current']])('at %s s, is at step %s with the candidate at %s', (seconds, step, candidate) => {
    const d = run({ spec: blueGreenSpec(), status: bgRolling({ pausedUntil: iso(80) }), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 1) }, now: at(seconds) });
    expect(d.rollout?.step).toBe(step);
    expect(sizes(d)).toEqual({ blue: '3 keep', green: candidate });
    expect(d.plan.serviceSlot).toBe('blue');
    expect(d.rollout?.desiredWeight).toBe(step === 1 ? 100 : 0);
  });

  it('without autoPromotionSeconds, waits for promote however long it takes', () => {
    for (const now of [at(0), at(86_400)]) {
      const d = run({ spec: blueGreenSpec({ previewReplicas: 1 }), status: bgRolling(), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 1) }, now });
      expect(d.waiting).toBe('preview ready at orders-preview; waiting for promotion: kubectl coxswain promote orders');
      expect([d.rollout?.step, d.rollout?.pausedUntil, d.requeueAfterMs]).toEqual([0, undefined, undefined]);
    }
  });

  it('promotes on promote: the candidate to full size, the Service still on the active slot', () => {
    const d = run({ spec: blueGreenSpec({ previewReplicas: 1 }), status: bgRolling(), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 1) }, action: 'promote:p', now: at(4) });
    expect(d.rollout).toMatchObject({ step: 1, stepStartedAt: iso(4), desiredWeight: 100 });
    expect(sizes(d)).toEqual({ blue: '3 keep', green: '3 current' });
    expect(d.plan.serviceSlot).toBe('blue');
    expect(d.lastAction).toMatchObject({ ok: true });
  });

  it('refuses promote while already promoting', () => {
    const d = run({ spec: blueGreenSpec(), status: bgRolling({ step: 1 }), observed: { blue: readySlot(OLD, 3), green: unready(NEW, 3) }, action: 'promote:p' });
    expect(d.lastAction).toMatchObject({ ok: false, message: 'orders is not paused; nothing to promote' });
  });

  it('flips Service and active slot once the candidate is fully Ready, keeping the old slot until scaleDownAt', () => {
    const d = run({ spec: blueGreenSpec(), status: bgRolling({ step: 1 }), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 3) }, now: at(100) });
    expect([d.activeSlot, d.stableRevision, d.plan.serviceSlot, d.plan.previewSlot]).toEqual(['green', NEW, 'green', 'green']);
    expect(sizes(d)).toEqual({ green: '3 current', blue: '3 keep' });
    expect(d.rollout).toEqual({ scaleDownAt: iso(130), previousRevision: OLD });
    expect(d.requeueAfterMs).toBe(30_000);
    expect(d.inProgress).toBe(true);
  });

  it('does not switch to a candidate still in its own rolling update (a restart): its roll is about to take Ready pods away', () => {
    // 3 Ready of its revision, but 2 of them in the old ReplicaSet the roll is scaling down.
    const restarting = readySlot(NEW, 3, { currentReplicas: 4, updatedReplicas: 2, readyReplicas: 3 });
    const d = run({ spec: blueGreenSpec(), status: bgRolling({ step: 1 }), observed: { blue: readySlot(OLD, 3), green: restarting }, now: at(100) });
    expect([d.activeSlot, d.stableRevision, d.plan.serviceSlot]).toEqual(['blue', OLD, 'blue']);
    expect(sizes(d)).toEqual({ blue: '3 keep', green: '3 current' });
    // A preview in the middle of its roll is not promotable either.
    const p = run({ spec: blueGreenSpec({ previewReplicas: 1 }), status: bgRolling(), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 1, { currentReplicas: 2, updatedReplicas: 1 }) }, action: 'promote:p' });
    expect(p.lastAction).toMatchObject({ ok: false });
  });

  it('does not call a restarted preview ready on the pod the restart replaced, which a lagging pod cache still shows Ready', () => {
    // The operator's own write of the restart (a new stamp on the template) is in the cache at once,
    // and the Deployment controller has rolled: 1 pod, of the new template, not Ready. The pods'
    // watch lags: the cache still shows the old pod (same revision, the stamp before) Ready, not yet
    // terminating. Counted by revision alone, that pod made the preview promotable with 0 Ready.
    const template = (stamp: string) => ({ labels: { 'coxswain.dev/revision': NEW }, annotations: { 'coxswain.dev/restartedAt': stamp } });
    const deployment = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web-green', generation: 3 },
      spec: { replicas: 1, template: { metadata: template(iso(90)), spec: { containers: [{ image: 'registry.example/web:2' }] } } },
      status: { observedGeneration: 3, replicas: 1, updatedReplicas: 1 },
    };
    const pod = (name: string, stamp: string, ready: boolean) => slimPod({
      apiVersion: 'v1', kind: 'Pod', metadata: { name, ...template(stamp) },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
    } as KubeObject);
    const decide = (pods: KubeObject[]) => run({ spec: blueGreenSpec({ previewReplicas: 1, scaleDownDelaySeconds: 0 }), status: bgRolling(),
      observed: { blue: readySlot(OLD, 3), green: observeSlot(deployment, pods) }, now: at(91) });
    const lagging = decide([pod('web-green-old', iso(30), true)]);
    expect(lagging.waiting).toBeUndefined();
    expect(lagging.rollout?.message).toBe('preview: 0/1 pods ready');
    // Once the new template's pod is Ready, it is.
    const caughtUp = decide([pod('web-green-old', iso(30), true), pod('web-green-new', iso(90), true)]);
    expect(caughtUp.waiting).toBe('preview ready at orders-preview; waiting for promotion: kubectl coxswain promote orders');
  });

  it('holds the switch while spec.paused, even once the candidate is fully Ready', () => {
    const d = run({ spec: blueGreenSpec(undefined, { paused: true }), status: bgRolling({ step: 1 }), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 3) }, now: at(100) });
    expect([d.activeSlot, d.plan.serviceSlot, d.waiting]).toEqual(['blue', 'blue', 'paused by spec.paused']);
  });

  it('does not flip while a candidate pod is not Ready', () => {
    const d = run({ spec: blueGreenSpec(), status: bgRolling({ step: 1 }), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 3, { readyReplicas: 2 }) } });
    expect([d.activeSlot, d.plan.serviceSlot]).toEqual(['blue', 'blue']);
  });

  it.each<[number, string, boolean]>([[129, '3 keep', true], [130, '0 keep', false], [1000, '0 keep', false]])('at %s s, after the flip, plans the old slot at %s', (seconds, old, inProgress) => {
    const d = run({ spec: blueGreenSpec(), status: steadyOn(NEW, 'green', { rollout: { scaleDownAt: iso(130) } }), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 3) }, now: at(seconds) });
    expect(sizes(d)).toEqual({ green: '3 current', blue: old });
    expect(d.inProgress).toBe(inProgress);
    expect(d.rollout).toEqual(inProgress ? { scaleDownAt: iso(130) } : undefined);
  });

  it('keeps the idle slot serving until the active slot can carry its load, not just its first Ready pod', () => {
    // Reached by: an abandoned rollout, undo back to its (never Ready) revision, then the spec set to it.
    const status = steadyOn(NEW, 'green');
    const served = 'blue';
    const waiting = run({ spec: blueGreenSpec(), status, served, observed: { blue: readySlot(OLD, 3), green: unready(NEW, 3) } });
    expect(waiting.plan.serviceSlot).toBe('blue');
    expect(sizes(waiting)).toEqual({ green: '3 current', blue: '3 keep' });
    const one = run({ spec: blueGreenSpec(), status, served, observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 3, { readyReplicas: 1 }) } });
    expect(one.plan.serviceSlot).toBe('blue');
    expect(sizes(one)).toEqual({ green: '3 current', blue: '3 keep' });
    const all = run({ spec: blueGreenSpec(), status, served, observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 3) } });
    expect(all.plan.serviceSlot).toBe('green');
    // blue keeps its pods until `<name>` is read back selecting green; then it goes.
    expect(sizes(all)).toEqual({ green: '3 current', blue: '3 keep' });
    const moved = run({ spec: blueGreenSpec(), status, served: 'green', observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 3) } });
    expect(sizes(moved)).toEqual({ green: '3 current', blue: '0 keep' });
  });

  it('switches to a returning slot that matches what a partly Ready other slot serves', () => {
    const status = steadyOn(NEW, 'green');
    // blue's third pod is stuck (unschedulable, say): not Ready for longer than the progress deadline (600 s).
    const blue = readySlot(OLD, 3, { readyReplicas: 2, startingSince: [at(-601).getTime()] });
    const d = run({ spec: blueGreenSpec(), status, served: 'blue', observed: { blue, green: readySlot(NEW, 3, { readyReplicas: 2 }) } });
    expect(d.plan.serviceSlot).toBe('green');
  });

  it('does not switch to a returning slot while a starting pod of the other may be Ready already, unseen: at most the progress deadline', () => {
    // The pod cache lags: blue's third pod, shown starting, may have turned Ready a moment ago; a
    // switch to green's 2 Ready pods would then take 3 serving down to 2.
    const status = steadyOn(NEW, 'green');
    const blue = readySlot(OLD, 3, { readyReplicas: 2, startingSince: [at(-20).getTime()] });
    const held = run({ spec: blueGreenSpec(), status, served: 'blue', observed: { blue, green: readySlot(NEW, 3, { readyReplicas: 2 }) } });
    expect(held.plan.serviceSlot).toBe('blue');
    // Nothing may happen to the pod (unschedulable): the move is asked for when it has had its time.
    expect(held.requeueAfterMs).toBe(580_000);
    const later = run({ spec: blueGreenSpec(), status, served: 'blue', observed: { blue, green: readySlot(NEW, 3, { readyReplicas: 2 }) }, now: at(581) });
    expect(later.plan.serviceSlot).toBe('green');
    // Green whole: it carries whatever blue may have.
    const whole = run({ spec: blueGreenSpec(), status, served: 'blue', observed: { blue, green: readySlot(NEW, 3) } });
    expect(whole.plan.serviceSlot).toBe('green');
  });

  it('never sends traffic to an unpromoted preview because a stable pod restarted', () => {
    const observed = { blue: readySlot(OLD, 3, { readyReplicas: 2, availableReplicas: 2 }), green: readySlot(NEW, 3) };
    const d = run({ spec: blueGreenSpec({ scaleDownDelaySeconds: 30 }), status: bgRolling(), served: 'blue', observed });
    expect([d.activeSlot, d.plan.serviceSlot]).toEqual(['blue', 'blue']);
  });

  it('does not move traffic back to the old revision when a pod of the promoted slot goes unready', () => {
    const status = steadyOn(NEW, 'green', { rollout: { scaleDownAt: iso(30), previousRevision: OLD } });
    const d = run({ spec: blueGreenSpec(), status, served: 'green', observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 3, { readyReplicas: 2 }) }, now: at(60) });
    expect(d.plan.serviceSlot).toBe('green');
    expect(sizes(d)).toEqual({ green: '3 current', blue: '0 keep' });
  });

  it('serves from the active slot at 0 replicas, so the old one scales down too', () => {
    const d = run({ spec: blueGreenSpec(undefined, { replicas: 0 }), status: steadyOn(NEW, 'green'), served: 'blue', observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 0) } });
    expect(d.plan.serviceSlot).toBe('green');
    expect(sizes(d)).toEqual({ green: '0 current', blue: '3 keep' }); // until `<name>` is read back on green
    const moved = run({ spec: blueGreenSpec(undefined, { replicas: 0 }), status: steadyOn(NEW, 'green'), served: 'green', observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 0) } });
    expect(sizes(moved)).toEqual({ green: '0 current', blue: '0 keep' });
  });

  it('never points the Service at a slot with no Ready pods while the other has some', () => {
    const d = run({ spec: blueGreenSpec(), status: bgRolling(), observed: { blue: readySlot(OLD, 3, { readyReplicas: 0 }), green: readySlot(NEW, 1) } });
    expect(d.plan.serviceSlot).toBe('green');
  });

  it('scaled down while the active slot rolls natively (a restart), shrinks it only once its roll is done', () => {
    // A rolling Deployment scaled down loses pods proportionally: Ready old ones, with no new one Ready.
    const restarting = readySlot(OLD, 3, { currentReplicas: 4, updatedReplicas: 2, readyReplicas: 2 });
    const held = run({ spec: blueGreenSpec(undefined, { replicas: 2 }), status: steadyOn(OLD), observed: { blue: restarting }, desired: OLD });
    expect(held.plan.slots.blue?.replicas).toBe(3);
    const rolled = run({ spec: blueGreenSpec(undefined, { replicas: 2 }), status: steadyOn(OLD), observed: { blue: readySlot(OLD, 3) }, desired: OLD });
    expect(rolled.plan.slots.blue?.replicas).toBe(2);
  });

  it('switched from a canary while `<name>` selects both slots, drains a replaced candidate only as the stable slot fills', () => {
    // The Service still selects every slot, and the replaced revision's pod serves there.
    const observed = { blue: readySlot(OLD, 3, { readyReplicas: 2 }), green: readySlot(NEWER, 1) };
    const d = run({ spec: blueGreenSpec(), status: bgRolling(), served: 'all', observed });
    expect(d.plan.serviceSlot).toBeUndefined();
    expect(sizes(d)).toEqual({ blue: '3 keep', green: '1 keep' });
    const filled = run({ spec: blueGreenSpec(), status: bgRolling(), served: 'all', observed: { ...observed, blue: readySlot(OLD, 3) } });
    expect([filled.plan.serviceSlot, sizes(filled).green]).toEqual(['blue', '0 keep']);
  });

  it('aborts a failing candidate and keeps serving the active slot', () => {
    const d = run({ spec: blueGreenSpec(), status: bgRolling(), observed: { blue: readySlot(OLD, 3), green: crashing(NEW, 1) } });
    expect(d.problem?.reason).toBe('RolloutAborted');
    expect(sizes(d)).toEqual({ blue: '3 keep', green: '0 keep' });
    expect(d.plan.serviceSlot).toBe('blue');
  });

  describe('undo', () => {
    const live = steadyOn(NEW, 'green', { rollout: { previousRevision: OLD } });
    const observed = { blue: readySlot(OLD, 0), green: readySlot(NEW, 3) };

    it('flips back to the idle slot, whose revision serves again, holding the desired one back', () => {
      const d = run({ spec: blueGreenSpec(), status: live, observed, action: 'undo:u' });
      expect([d.activeSlot, d.stableRevision]).toEqual(['blue', OLD]);
      expect(d.rollout).toMatchObject({ abortedRevision: NEW });
      expect(d.problem?.reason).toBe('RolloutAborted');
      expect(sizes(d)).toEqual({ blue: '3 keep', green: '3 keep' });
      // Blue has no Ready pod yet: the Service stays on green until it has.
      expect(d.plan.serviceSlot).toBe('green');
      expect(d.lastAction).toMatchObject({ ok: true, message: expect.stringContaining(`rolled back to revision ${OLD}`) });
    });

    it('then serves from blue and drains green as blue becomes Ready, held until the spec changes', () => {
      const { status } = reconcileOnce({ ms: microservice(blueGreenSpec(), {}, live), observed, desiredRevision: NEW, now: T0, action: { action: 'undo', id: 'u' } });
      const d = run({ spec: blueGreenSpec(), status, observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 3) }, now: at(86_400) });
      expect([d.activeSlot, d.stableRevision, d.plan.serviceSlot]).toEqual(['blue', OLD, 'blue']);
      expect(sizes(d)).toEqual({ blue: '3 keep', green: '0 keep' });
      expect(d.rollout?.abortedRevision).toBe(NEW);

      const changed = run({ spec: blueGreenSpec(), status, observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 0) }, desired: NEWER });
      expect(changed.rollout).toMatchObject({ candidateSlot: 'green', step: 0 });
      expect(changed.problem).toBeUndefined();

      const retried = run({ spec: blueGreenSpec(), status, observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 0) }, action: 'retry:r' });
      expect(retried.rollout).toMatchObject({ candidateSlot: 'green', step: 0 });
      expect(retried.problem).toBeUndefined();
    });

    it.each<[string, ObservedSlots]>([
      ['no idle slot', { green: readySlot(NEW, 3) }],
      ['an idle slot of the same revision', { blue: readySlot(NEW, 0), green: readySlot(NEW, 3) }],
      ['an idle slot holding an abandoned candidate, not the previous revision', { blue: readySlot(NEWER, 0), green: readySlot(NEW, 3) }],
    ])('is refused with %s', (_what, obs) => {
      const d = run({ spec: blueGreenSpec(), status: live, observed: obs, action: 'undo:u' });
      expect(d.lastAction).toMatchObject({ ok: false, message: 'orders has no previous revision to go back to' });
      expect([d.activeSlot, d.stableRevision, d.problem]).toEqual(['green', NEW, undefined]);
    });

    it('aborts a rollout in progress', () => {
      const d = run({ spec: blueGreenSpec(), status: bgRolling(), observed: { blue: readySlot(OLD, 3), green: readySlot(NEW, 1) }, action: 'undo:u' });
      expect([d.activeSlot, d.stableRevision, d.rollout?.abortedRevision]).toEqual(['blue', OLD, NEW]);
    });
  });
});
