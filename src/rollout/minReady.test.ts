// minReadySeconds: a pod counts for a step, a switch or a promotion only once it has been Ready that
// long (available, as the Deployment controller counts it). Observed from real Deployment and pod
// shapes, decided by the engine, with the time passed in.
import { describe, expect, it } from 'vitest';
import type { MicroserviceSpecInput } from '../api/schema.js';
import { LABEL_REVISION } from '../api/names.js';
import type { KubeObject } from '../kube/object.js';
import { actionOf, microservice } from '../../test/support/fixtures.js';
import { at, blueGreenSpec, canarySpec, iso, NEW, OLD, rolling, sizes } from '../../test/support/engine.js';
import { decide } from './engine.js';
import { observeSlot } from './observe.js';
import type { ObservedSlots } from './types.js';

const deployment = (revision: string, replicas: number): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', generation: 1 },
  spec: { replicas, template: { metadata: { labels: { [LABEL_REVISION]: revision } }, spec: { containers: [{ image: `registry.example/orders:${revision}` }] } } },
  status: { observedGeneration: 1, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas },
});

/** A pod of `revision`, Ready since `readySince` seconds after T0. */
const pod = (revision: string, i: number, readySince: number): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: `${revision}-${i}`, labels: { [LABEL_REVISION]: revision } },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: iso(readySince) }] },
});

/** Both slots observed at `now`: blue the stable one, its pods Ready long ago; green the candidate's, Ready since `since`. */
function observe(now: number, minReadySeconds: number, blue: number, greenSince: number[], greenSize = greenSince.length): ObservedSlots {
  const opts = { now: at(now), minReadySeconds };
  return {
    blue: observeSlot(deployment(OLD, blue), Array.from({ length: blue }, (_, i) => pod(OLD, i, -3600)), opts),
    green: observeSlot(deployment(NEW, greenSize), greenSince.map((s, i) => pod(NEW, i, s)), opts),
  };
}

const decideAt = (spec: MicroserviceSpecInput, status: ReturnType<typeof rolling>, now: number, observed: ObservedSlots, action?: string) =>
  decide({ ms: microservice(spec, {}, status), observed, desiredRevision: NEW, now: at(now), action: actionOf(action) });

describe('observing availability', () => {
  it('counts a pod of the slot\'s revision once Ready for minReadySeconds, serving as soon as it is Ready', () => {
    const o = observe(3, 5, 4, [0, -2, 2]).green!;
    // Ready since 0 s: available at 5 s; since -2 s: at 3 s (now, available); since 2 s: at 7 s.
    expect([o.readyReplicas, o.servingReplicas, o.nextAvailableInMs]).toEqual([1, 3, 2000]);
  });

  it('counts every Ready pod without minReadySeconds, and asks for no wake-up', () => {
    const o = observe(3, 0, 4, [0, 2, 3]).green!;
    expect([o.readyReplicas, o.nextAvailableInMs]).toEqual([3, undefined]);
  });

  it('never counts a Ready pod that does not say since when, with minReadySeconds', () => {
    const p = pod(NEW, 0, 0);
    delete (p.status as { conditions: Array<{ lastTransitionTime?: string }> }).conditions[0]!.lastTransitionTime;
    const o = observeSlot(deployment(NEW, 1), [p], { now: at(600), minReadySeconds: 5 });
    expect([o.readyReplicas, o.servingReplicas, o.nextAvailableInMs]).toEqual([0, 1, undefined]);
  });
});

describe('canary with minReadySeconds 5', () => {
  const spec = canarySpec({ minReadySeconds: 5 });

  it('does not shrink the stable slot, nor advance the step, before the candidate\'s pod is available; it asks to come back then', () => {
    const d = decideAt(spec, rolling(), 3, observe(3, 5, 4, [0]));
    expect(d.rollout).toMatchObject({ step: 0, desiredWeight: 25 });
    expect(sizes(d)).toEqual({ blue: '4 keep', green: '1 current' });
    expect(d.requeueAfterMs).toBe(2000);
    expect(d.rollout?.message).toBe('step 0/5: weight 25%, 0/1 candidate pods available (Ready 5s)');
  });

  it('shrinks the stable slot once the pod is available, and advances once it has shrunk', () => {
    const available = decideAt(spec, rolling(), 5, observe(5, 5, 4, [0]));
    expect(sizes(available)).toEqual({ blue: '3 keep', green: '1 current' });
    expect(available.rollout?.step).toBe(0);
    const shrunk = decideAt(spec, rolling(), 5, observe(5, 5, 3, [0]));
    expect(shrunk.rollout).toMatchObject({ step: 1, stepStartedAt: iso(5) });
  });

  it('without minReadySeconds, the same pod counts at once', () => {
    expect(decideAt(canarySpec(), rolling(), 0, observe(0, 0, 3, [0])).rollout?.step).toBe(1);
  });

  it('refuses promote at an indefinite pause until the step\'s pods are available', () => {
    const paused = rolling({ step: 3, desiredWeight: 50 });
    const early = decideAt(spec, paused, 3, observe(3, 5, 2, [0, 0]), 'promote:p1');
    expect(early.lastAction).toMatchObject({ ok: false, message: expect.stringContaining('orders is at step 3 but its candidate does not have the Ready pods the step asks yet') });
    expect(early.requeueAfterMs).toBe(2000);
    expect(decideAt(spec, paused, 5, observe(5, 5, 2, [0, 0]), 'promote:p1').lastAction).toMatchObject({ ok: true });
  });
});

describe('blue-green with minReadySeconds 5', () => {
  const spec = blueGreenSpec({ previewReplicas: 3, autoPromotionSeconds: 0, scaleDownDelaySeconds: 30 }, { minReadySeconds: 5 });
  const promoting = rolling({ steps: 1, step: 1, desiredWeight: 100 });

  it('does not switch before every candidate pod is available, and asks to come back when the last one is', () => {
    const d = decideAt(spec, promoting, 6, observe(6, 5, 3, [0, 1, 2]));
    expect([d.activeSlot, d.plan.serviceSlot, d.rollout?.step]).toEqual(['blue', 'blue', 1]);
    expect(d.requeueAfterMs).toBe(1000);
    expect(d.rollout?.message).toBe('promoting: 2/3 pods available (Ready 5s) before the switch');
  });

  it('switches once they are', () => {
    const d = decideAt(spec, promoting, 7, observe(7, 5, 3, [0, 1, 2]));
    expect([d.activeSlot, d.plan.serviceSlot, d.stableRevision]).toEqual(['green', 'green', NEW]);
  });

  it('does not start the auto-promotion clock before the preview is available', () => {
    const previewing = blueGreenSpec({ previewReplicas: 1, autoPromotionSeconds: 60, scaleDownDelaySeconds: 30 }, { minReadySeconds: 5 });
    const early = decideAt(previewing, rolling({ steps: 1 }), 2, observe(2, 5, 3, [0]));
    expect([early.rollout?.step, early.rollout?.pausedUntil, early.requeueAfterMs]).toEqual([0, undefined, 3000]);
    expect(early.rollout?.message).toBe('preview: 0/1 pods available (Ready 5s)');
    expect(decideAt(previewing, rolling({ steps: 1 }), 5, observe(5, 5, 3, [0])).rollout).toMatchObject({ step: 0, pausedUntil: iso(65) });
  });
});
