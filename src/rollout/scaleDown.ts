// The canary's scale-down delay, pure: the slot it lets go keeps its pods, taking no traffic, for
// a while after the traffic has left it. After promotion the flip sets status.rollout.scaleDownAt
// (moves.ts); after an abort or an undo, this file does, once the traffic is seen to have left.
// Why: a route's change reaches each gateway replica at its own pace (its parents accept it before
// every replica has applied it), and the requests a replica had in flight to the slot finish.
import { otherSlot } from '../api/names.js';
import type { MicroserviceSpec, Slot } from '../api/schema.js';
import { wakeIn } from './moves.js';
import { servedBy } from './traffic.js';
import type { Ctx, Decision } from './types.js';

/**
 * How long the slot a canary lets go keeps its pods: spec's, else 30 s with a route and none by
 * replica weights (the Service's endpoints change as the pods go).
 */
export function canaryScaleDownDelay(spec: MicroserviceSpec): number {
  return spec.strategy.canary?.scaleDownDelaySeconds ?? (spec.traffic?.gateway ? 30 : 0);
}

/**
 * No traffic reaches `slot` any more: with a route, its parents accepted a route that gives it no
 * weight and no header route; without, `<name>` selects the other slot alone from this pass on
 * (it is applied before any slot is resized).
 */
export function trafficLeft(ctx: Ctx, d: Decision, slot: Slot): boolean {
  if (!ctx.ms.spec.traffic?.gateway) return d.plan.serviceSlot === otherSlot(slot);
  const served = servedBy(ctx);
  return ctx.route !== undefined && (served.weights[slot] ?? 0) === 0 && !(served.headers.length > 0 && served.headerSlot === slot);
}

/**
 * After a canary's abort or undo: the slot left (the aborted or undone revision's) keeps its Ready
 * pods until the delay has run from the first pass that saw no traffic reach it. The time is kept
 * in status.rollout.scaleDownAt while the revision stays held back, so the delay runs once, and a
 * restarted operator keeps it.
 */
export function holdAfterAbort(ctx: Ctx, d: Decision): void {
  if (ctx.ms.spec.strategy.type !== 'Canary' || !d.rollout?.abortedRevision) return;
  const left = otherSlot(d.activeSlot);
  const o = ctx.observed[left];
  const p = d.plan.slots[left];
  let at = ctx.rollout.scaleDownAt;
  // Its Ready pods only: a failing candidate's pods serve nothing and have nothing to finish.
  const serving = o ? Math.min(o.replicas, o.servingReplicas) : 0;
  if (at === undefined) {
    const delay = canaryScaleDownDelay(ctx.ms.spec);
    if (delay === 0 || !p || p.replicas >= serving || !trafficLeft(ctx, d, left)) return;
    at = new Date(ctx.now.getTime() + delay * 1000).toISOString();
  }
  d.rollout = { ...d.rollout, scaleDownAt: at };
  const wait = new Date(at).getTime() - ctx.now.getTime();
  if (wait <= 0 || !p || p.replicas >= serving) return;
  d.plan.slots[left] = { ...p, replicas: serving };
  wakeIn(d, wait);
}
