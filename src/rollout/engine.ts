// The rollout engine, pure: (spec, previous status, observed slots, kept revisions, now, action)
// -> what each slot should be, how traffic reaches them, and the rollout's status. Everything it
// remembers lives in status.rollout, so an operator restarted at any instant resumes exactly
// where it was.
//
// Two slots, blue and green. The active slot holds the stable revision, rebuilt from its own kept
// template on every pass; a new revision rolls out in the other, the candidate, which becomes
// active by a pointer flip when promoted. One file per strategy; the moves they share are in
// moves.ts, the canary's step kinds in steps.ts.
import type { Microservice, MicroserviceStatus } from '../api/schema.js';
import { otherSlot, SLOTS } from '../api/names.js';
import { type Action, takeAction } from './actions.js';
import { blueGreen, blueGreenPromotable, blueGreenSteps } from './blueGreen.js';
import { canary, canaryPromotable, canarySteps } from './canary.js';
import { aborted, refusedRollout, rollingNatively, steady, unrunnable, wakeIn } from './moves.js';
import { activeSlotOf } from './plan.js';
import { converged } from './status.js';
import { rollingUpdate } from './rolling.js';
import { holdAfterAbort } from './scaleDown.js';
import { finishRoute } from './traffic.js';
import type { Ctx, Decision, EngineInput } from './types.js';
import { resolveLimits } from './weights.js';

export { ACTIONS, type Action } from './actions.js';
export type { Decision, EngineInput, LastAction, RolloutStatus } from './types.js';

type Strategy = { run: (ctx: Ctx, act: Action | undefined) => Decision; promotable: (ctx: Ctx) => true | string; steps: (ctx: Ctx) => number };
const STRATEGIES: Record<'Canary' | 'BlueGreen', Strategy> = {
  Canary: { run: canary, promotable: canaryPromotable, steps: canarySteps },
  BlueGreen: { run: blueGreen, promotable: blueGreenPromotable, steps: blueGreenSteps },
};

export function decide(input: EngineInput): Decision {
  const ctx = context(input);
  const { ms } = ctx;
  const type = ms.spec.strategy.type;
  if (!ctx.prev.stableRevision || type === 'RollingUpdate') return finish(ctx, rollingUpdate(ctx));
  const strategy = STRATEGIES[type];
  const act = takeAction(ctx, { promotable: strategy.promotable(ctx), ...(input.refused ? { unrunnable: unrunnable(ctx, input.refused) } : {}) });
  const stable = ctx.decision.stableRevision;
  if (input.desiredRevision === stable) return finish(ctx, steady(ctx));
  if (ctx.rollout.abortedRevision === input.desiredRevision) return finish(ctx, aborted(ctx));
  if (input.refused) return finish(ctx, refusedRollout(ctx, strategy.steps(ctx), unrunnable(ctx, input.refused)));
  // A RollingUpdate switched to this strategy after its slot had rolled the spec's revision out
  // natively, whole: that revision is the stable one now. Rebuilding the slot from the old stable
  // template would roll it back only to roll it out again.
  if (ctx.observed[ctx.decision.activeSlot]?.revision === input.desiredRevision && converged(ms, input.desiredRevision, ctx.decision.activeSlot, ctx.observed)) {
    ctx.decision.stableRevision = input.desiredRevision;
    return finish(ctx, steady(ctx));
  }
  return finish(ctx, strategy.run(ctx, act));
}

/** The strategy's limits at this total: most pods above it during a rollout, fewest Ready that must serve. */
function limits(ms: Microservice): { surge: number; floor: number } {
  const total = ms.spec.replicas;
  const s = ms.spec.strategy;
  if (s.type === 'BlueGreen') return { surge: total, floor: total };
  const l = (s.type === 'Canary' ? s.canary : s.rollingUpdate) ?? { maxSurge: '25%', maxUnavailable: 0 };
  const { surge, unavailable } = resolveLimits(l, total);
  return { surge, floor: Math.max(0, total - unavailable) };
}

function context(input: EngineInput): Ctx {
  const { ms, observed } = input;
  const prev: MicroserviceStatus = ms.status ?? {};
  const activeSlot = activeSlotOf(ms, observed);
  const stableRevision = prev.stableRevision;
  return {
    ...input,
    kept: input.kept ?? new Set([input.desiredRevision, stableRevision, prev.rollout?.previousRevision].filter((r) => r !== undefined)),
    ...limits(ms),
    prev,
    total: ms.spec.replicas,
    rollout: { ...(prev.rollout ?? {}) },
    decision: {
      plan: { slots: {}, servingRevision: input.desiredRevision, previewRevision: input.desiredRevision, weight: 0 },
      activeSlot, stableRevision, inProgress: false, lastAction: prev.lastAction, restartedAt: prev.restartedAt, events: [],
    },
  };
}

/** What every decision ends with: `<name>` serves the stable revision's ports, the preview the revision its slot runs; the restart stamp. */
function finish(ctx: Ctx, d: Decision): Decision {
  const stable = d.stableRevision;
  // A RollingUpdate that has converged serves its revision's ports in the very pass that makes it stable.
  const rolledOut = ctx.ms.spec.strategy.type === 'RollingUpdate' && !d.inProgress;
  d.plan.servingRevision = stable && ctx.kept.has(stable) && !rolledOut ? stable : ctx.desiredRevision;
  // `<name>` selecting one slot alone that runs another kept revision (switched under
  // post-promotion analysis, or an undone slot still serving) exposes that revision's ports, so
  // a port changed in both name and number still reaches the pods it selects. (A RollingUpdate's
  // one slot rolls natively: it switches once converged, above.)
  const alone = d.plan.serviceSlot;
  const aloneRevision = alone && ctx.ms.spec.strategy.type !== 'RollingUpdate' ? ctx.observed[alone]?.revision : undefined;
  if (aloneRevision && ctx.kept.has(aloneRevision) && !rollingNatively(ctx.observed[alone!])) d.plan.servingRevision = aloneRevision;
  d.plan.previewRevision = d.plan.previewSlot === otherSlot(d.activeSlot) ? ctx.desiredRevision : d.plan.servingRevision;
  d.plan.selectedRevisions = selectedRevisions(ctx, d);
  d.plan.restartedAt = d.restartedAt;
  holdAfterAbort(ctx, d);
  finishRoute(ctx, d);
  // A Ready pod becomes available (minReadySeconds) with no event to say so: come back then.
  for (const slot of SLOTS) {
    const next = ctx.observed[slot]?.nextAvailableInMs;
    if (next !== undefined) wakeIn(d, next);
  }
  return d;
}

/**
 * The revisions whose pods `<name>` may select: each slot it selects (every slot, or its one)
 * that has Ready pods or is to have pods, by the template planned or else the one it runs. A slot
 * left draining after an abort or an undo still serves, so `<name>` must reach its pods too.
 */
function selectedRevisions(ctx: Ctx, d: Decision): string[] {
  const out = new Set<string>();
  for (const slot of SLOTS) {
    if (d.plan.serviceSlot && d.plan.serviceSlot !== slot) continue;
    const p = d.plan.slots[slot];
    const o = ctx.observed[slot];
    if ((p?.replicas ?? 0) === 0 && (o?.servingReplicas ?? 0) === 0) continue;
    const revision = p?.revision ?? o?.revision;
    if (revision !== undefined) out.add(revision);
  }
  return [...out].sort();
}
