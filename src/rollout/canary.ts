// Canary: the candidate slot grows step by step, the weight being its share of the pods; the
// stable slot shrinks only as candidate pods of the desired revision become Ready. After the last
// step the candidate takes 100% and the pointer flips.
import type { Action } from './actions.js';
import { aborted, candidateOf, checkFailure, compactRollout, flip, openRollout, podsKept, readyToStay, readyWord, rollingNatively, rollingSizeForFloor, stableTemplate, startStep, wakeIn } from './moves.js';
import { kindOf, weightAt } from './steps.js';
import { routeCanary, routeOverdue } from './traffic.js';
import { abortByAnalysis, runAnalysis } from '../analysis/run.js';
import type { RunSpec } from '../analysis/types.js';
import type { Ctx, Decision } from './types.js';
import { candidateFor, inexactWeight, split } from './weights.js';
import { canaryScaleDownDelay } from './scaleDown.js';

/** The canary's number of steps (the rollout status counts them). */
export const canarySteps = (ctx: Ctx): number => ctx.ms.spec.strategy.canary?.steps.length ?? 0;

/** At a step a promote goes past, with the candidate serving that step's weight; else why not. */
export function canaryPromotable(ctx: Ctx): true | string {
  const steps = ctx.ms.spec.strategy.canary?.steps ?? [];
  const sameRollout = ctx.prev.desiredRevision === ctx.desiredRevision;
  const i = sameRollout ? ctx.rollout.step ?? 0 : 0;
  const step = steps[i];
  if (!step || !kindOf(step).promotable) return 'is not paused';
  const route = routeCanary(ctx);
  if (route) {
    const blocker = route.blocker(i);
    return blocker === undefined ? true : `is at step ${i} but ${blocker}`;
  }
  return reachedAt(ctx, weightAt(steps, i), true) ? true : `is at step ${i} but its candidate does not have the Ready pods the step asks yet`;
}

/**
 * The candidate has the Ready pods of its own revision that weight w asks, and the stable slot has
 * shrunk to match. Before the last step (`sized`), asked to shrink is enough: the two slots' sizes
 * add up within the surge, as a Deployment counts its own (by its ReplicaSets' sizes, not by pods
 * still on their way out), so the next step's scale-up need not wait for the stable pods to go.
 * The flip waits for them: it makes the candidate the one stable revision.
 */
function reachedAt(ctx: Ctx, weight: number, sized: boolean): boolean {
  const cand = candidateOf(ctx);
  const target = candidateFor(ctx.total, weight);
  const stableAfter = split(ctx.total, weight, target, ctx.ms.spec.strategy.canary!).stable;
  const stable = ctx.observed[ctx.decision.activeSlot];
  // Shrunk: by its status, or already by its pods (the status follows two controllers later).
  const shrunk = stable ? Math.min(stable.currentReplicas, stable.livePods ?? stable.currentReplicas) : 0;
  const stableNow = stable && sized ? Math.min(shrunk, stable.replicas) : shrunk;
  // Not while its Deployment still rolls natively (a restart): its roll takes old Ready pods away.
  return !!cand && cand.settled && readyToStay(cand) >= target && cand.replicas >= target && !rollingNatively(cand)
    && (ctx.reachable === false || stableNow <= stableAfter);
}

export function canary(ctx: Ctx, act: Action | undefined): Decision {
  const { decision: d, ms, observed, now, total } = ctx;
  const canarySpec = ms.spec.strategy.canary!;
  const steps = canarySpec.steps;
  const opened = openRollout(ctx, steps.length);
  if ('plan' in opened) return opened;
  const { r, active, cand, candObs, candReady, held } = opened;
  // With spec.traffic.gateway the weight is the route's, exactly (rollout/traffic.ts).
  const route = routeCanary(ctx);
  let i = act === 'promote-full' ? steps.length : r.step ?? 0;
  if (act === 'promote-full') startStep(r, now);
  let promote = act === 'promote';
  let waiting: string | undefined;
  let message: string | undefined;

  if (checkFailure(ctx, route ? route.target(i) : candidateFor(total, weightAt(steps, i)))) return aborted(ctx);
  // Background analysis: from startingStep to the end of the rollout; it never gates, only aborts.
  const bg = canarySpec.analysis;
  if (bg && !held && i >= bg.startingStep) {
    const out = runAnalysis(ctx, 'background', { id: 'background', metrics: bg.metrics, gating: false });
    if (out.verdict === 'Failed') { abortByAnalysis(ctx, out.message); return aborted(ctx); }
  }
  const analyze = (spec: RunSpec) => runAnalysis(ctx, 'step', spec);
  for (;;) {
    const reached = route ? route.reached(i) : reachedAt(ctx, weightAt(steps, i), i < steps.length);
    if (i >= steps.length) {
      if (reached && !held) return flip(ctx, canaryScaleDownDelay(ms.spec));
      waiting = held;
      break;
    }
    const step = steps[i]!;
    const kind = kindOf(step);
    const advance = () => { i++; startStep(r, now); };
    // A promote was accepted at this step: it goes past it even while paused, and holds at the next one.
    if (promote && kind.promotable) { promote = false; advance(); continue; }
    if (held) { waiting = held; break; }
    const p = kind.progress(step, { reached, now, rollout: r, name: ms.metadata.name, index: i, analyze });
    if (p.done) { advance(); continue; }
    if (p.abort) { abortByAnalysis(ctx, p.abort); return aborted(ctx); }
    waiting = p.waiting;
    message = p.message;
    if (p.until) {
      r.pausedUntil = p.until.toISOString();
      wakeIn(d, p.until.getTime() - now.getTime());
    }
    break;
  }

  const weight = weightAt(steps, i);
  const sizes = route ? route.sizes(i) : split(total, weight, candReady, canarySpec);
  // Held: the candidate never grows, and a revision that has no pods yet gets none. Above its
  // weight (the steps were edited), it drains only as the stable slot fills, keeping the Ready
  // pods it still has. (With a route, its sizes say so already, and the route's hold keeps what
  // it serves.)
  const stableServing = observed[active]?.servingReplicas ?? 0;
  const drain = route ? 0 : Math.min(podsKept(candObs), candReady, Math.max(0, ctx.floor - stableServing));
  const candidate = Math.max(held ? Math.min(sizes.candidate, candObs?.replicas ?? 0) : sizes.candidate, drain);
  const activeObs = observed[active];
  // A stable slot that still rolls back to its own revision (it held another template: a
  // RollingUpdate switched mid-roll, a hand edit) loses pods to its own roll: it does not also
  // shrink for the weight until that is done.
  // Its Deployment not yet seen by its controller may hold a new template (a restart) that will
  // roll: a shrink now would be spread over old and new pods alike.
  const repairing = !!activeObs && (activeObs.revision !== d.stableRevision || rollingNatively(activeObs) || !activeObs.settled);
  const capped = route ? sizes.stable : Math.min(sizes.stable, Math.max(total + ctx.surge - candidate, Math.min(activeObs?.replicas ?? 0, stableServing)));
  // Rolling natively, it keeps only its size less its own maxUnavailable Ready: sized so that
  // still keeps the floor beside the candidate's Ready pods.
  const kept = repairing && rollingNatively(activeObs) ? rollingSizeForFloor(ctx, activeObs.replicas, candReady) : activeObs?.replicas ?? 0;
  let stable = repairing ? Math.max(capped, Math.min(kept, total, total + ctx.surge - drain)) : capped;
  // ...and the candidate waits for room (within the surge cap), keeping any pods that serve.
  let candidateSize = repairing ? Math.min(candidate, Math.max(drain, total + ctx.surge - stable)) : candidate;
  // `<name>` cannot reach the candidate (a port changed in both name and number): its pods carry
  // none of the load, so the stable slot stays whole beside them, above maxSurge, until the switch.
  if (ctx.reachable === false && !route) {
    stable = total;
    candidateSize = held ? Math.min(candidateFor(total, weight), candObs?.replicas ?? 0) : candidateFor(total, weight);
  }
  d.plan = {
    ...d.plan,
    slots: { [active]: { replicas: stable, ...stableTemplate(ctx) }, [cand]: { replicas: candidateSize, revision: ctx.desiredRevision } },
    previewSlot: cand,
    weight,
    ...(route ? { route: route.route(i, !!held) } : {}),
  };
  if (held && !candObs) d.plan.slots = { [active]: { replicas: total, ...stableTemplate(ctx) }, [cand]: { replicas: 0 } };
  const overdue = route && !held ? routeOverdue(ctx, d.plan.route!) : undefined;
  if (overdue && ms.spec.strategy.abortOnFailure) {
    ctx.rollout = { abortedRevision: ctx.desiredRevision, message: overdue, paused: r.paused };
    delete d.plan.route; // the abort's own: everything back to the stable slot
    return aborted(ctx);
  }
  if (overdue) d.problem = { reason: 'RolloutFailing', message: `${overdue}; holding (abortOnFailure is false)` };
  const servedReady = observed[active]?.servingReplicas ?? 0;
  r.step = i;
  r.steps = steps.length;
  r.desiredWeight = weight;
  r.passedWeight = i > 0 ? weightAt(steps, i - 1) : undefined;
  r.weight = route ? route.served() : candReady + servedReady > 0 ? Math.round((100 * candReady) / (candReady + servedReady)) : 0;
  // With a route, weights are exact and the route reaches each slot on its own Service's ports.
  const inexact = route ? undefined : ctx.reachable === false
    ? `${ms.metadata.name} cannot reach the candidate on the stable revision's ports (a port changed in both name and number): the stable slot stays whole until the switch`
    : inexactWeight(total, weight);
  const onRoute = route?.waiting(i);
  if (inexact && !ctx.prev.rollout?.message?.includes(inexact)) {
    d.events.push({ type: 'Warning', reason: ctx.reachable === false ? 'CandidateUnreachable' : 'WeightNotExact', message: inexact });
  }
  r.message = [
    waiting ?? message ?? (r.pausedUntil ? `step ${i}/${steps.length}: paused until ${r.pausedUntil}`
      : `step ${i}/${steps.length}: weight ${weight}%, ${candReady}/${route ? route.target(i) : candidateFor(total, weight)} candidate pods ${readyWord(ctx)}${onRoute ? `; ${onRoute}` : ''}`),
    inexact,
  ].filter(Boolean).join('; ');
  d.waiting = waiting;
  d.inProgress = true;
  d.rollout = compactRollout(r);
  return d;
}
