// RollingUpdate (and every first revision): the active slot's Deployment rolls natively to the
// spec at full size. A slot left by another strategy drains as the active one fills, and keeps
// its revision at 0 pods, as a rollback target.
import { otherSlot } from '../api/names.js';
import { takeAction } from './actions.js';
import { compactRollout, drainTo, narrowed, pausedBy, servingSlot, unrunnable } from './moves.js';
import { converged } from './status.js';
import type { Ctx, Decision, SlotPlan } from './types.js';

export function rollingUpdate(ctx: Ctx): Decision {
  const { decision: d, ms, observed } = ctx;
  takeAction(ctx, { allowed: ['pause', 'resume', 'restart'] });
  const active = d.activeSlot;
  const idle = otherSlot(active);
  // Every Ready pod of the active slot serves here, whichever of its revisions it runs.
  const activeReady = observed[active]?.servingReplicas ?? 0;
  const keep = drainTo(ctx, idle, activeReady);
  const blueGreen = ms.spec.strategy.type === 'BlueGreen';
  // A revision whose own objects were refused gets no pods: the slot keeps what it runs.
  const refused = ctx.refused && ctx.desiredRevision !== d.stableRevision ? unrunnable(ctx, ctx.refused) : undefined;
  const runs = refused ? instead(ctx) : { replicas: ctx.total, revision: ctx.desiredRevision };
  d.plan = {
    ...d.plan,
    slots: runs ? { [active]: runs } : {},
    serviceSlot: blueGreen ? servingSlot(ctx) : narrowed(ctx, activeReady),
    // `<name>-preview` is for strategies with a candidate; it shows the active slot between rollouts.
    ...(ms.spec.strategy.type === 'RollingUpdate' ? {} : { previewSlot: active }),
    weight: 0,
    pauseDeployments: ms.spec.paused || !!ctx.rollout.paused,
  };
  if (observed[idle]) d.plan.slots[idle] = { replicas: keep };
  // Not just a template to apply: a paused Deployment already has the spec's template but holds
  // its pods back, so the rollout is under way until the slot has converged.
  d.inProgress = !converged(ms, ctx.desiredRevision, active, observed);
  d.rollout = compactRollout({ paused: ctx.rollout.paused, message: refused });
  if (d.inProgress) d.waiting = pausedBy(ctx);
  return d;
}

/**
 * What the active slot runs while the spec's revision cannot: the kept revision it holds, or the
 * stable one, at full size; else its own template, at its size (none of the refused revision's
 * pods). No slot at all when there is none yet: a first revision gets no Deployment.
 */
function instead(ctx: Ctx): SlotPlan | undefined {
  const o = ctx.observed[ctx.decision.activeSlot];
  const back = [o?.revision, ctx.decision.stableRevision].find((r) => r !== undefined && r !== ctx.desiredRevision && ctx.kept.has(r));
  if (back) return { replicas: ctx.total, revision: back, ...(o?.revision === back && o.restartedAt ? { restartedAt: o.restartedAt } : {}) };
  return o && { replicas: o.revision === ctx.desiredRevision ? 0 : o.replicas };
}
