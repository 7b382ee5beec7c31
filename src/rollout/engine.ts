// The rollout engine, pure: (spec, previous status, observed slots, now, action) -> what each slot
// should be, which slot serves, and the rollout's status. Everything it remembers lives in
// status.rollout, so an operator restarted at any instant resumes exactly where it was.
//
// Two slots, blue and green. The active slot holds the stable revision; a new revision rolls out
// in the other, the candidate, which becomes active by a pointer flip when promoted. While a
// rollout runs, the stable slot keeps its pod template (`keep`) and is only resized.
import type { Microservice, MicroserviceStatus, Slot } from '../api/schema.js';
import { otherSlot } from '../api/names.js';
import { candidateFor, durationMs, split, weightAt } from './canary.js';
import { activeSlotOf, planRollingUpdate } from './plan.js';
import { converged, type Problem } from './status.js';
import { type Action, takeAction } from './actions.js';
import type { ObservedSlots, Plan } from './types.js';

export { ACTIONS, type Action, parseAction } from './actions.js';

export type RolloutStatus = NonNullable<MicroserviceStatus['rollout']>;
export type LastAction = NonNullable<MicroserviceStatus['lastAction']>;

export interface EngineInput {
  ms: Microservice;
  observed: ObservedSlots;
  desiredRevision: string;
  now: Date;
  /** The slot the live `<name>` Service selects, if it selects one (blue-green). */
  servedSlot?: Slot;
  /** An action from the coxswain.dev/action annotation; one already done (same id) is ignored. */
  action?: { action: string; id: string };
}

export interface Decision {
  plan: Plan;
  activeSlot: Slot;
  stableRevision?: string;
  rollout?: RolloutStatus;
  /** Why the rollout waits for a person (a pause step, promotion, a pause), if it does. */
  waiting?: string;
  problem?: Problem;
  /** A rollout is under way: a candidate coming up, or the previous slot still draining. */
  inProgress: boolean;
  lastAction?: LastAction;
  restartedAt?: string;
  requeueAfterMs?: number;
  events: Array<{ type: 'Normal' | 'Warning'; reason: string; message: string }>;
}

export type Ctx = EngineInput & { prev: MicroserviceStatus; total: number; decision: Decision; rollout: RolloutStatus };

export function decide(input: EngineInput): Decision {
  const { ms, observed } = input;
  const prev = ms.status ?? {};
  const activeSlot = activeSlotOf(ms, observed);
  const ctx: Ctx = {
    ...input,
    prev,
    total: ms.spec.replicas,
    rollout: { ...(prev.rollout ?? {}) },
    decision: {
      plan: { slots: {} }, activeSlot, stableRevision: prev.stableRevision, inProgress: false,
      lastAction: prev.lastAction, restartedAt: prev.restartedAt, events: [],
    },
  };
  const fresh = !prev.stableRevision;
  if (fresh || ms.spec.strategy.type === 'RollingUpdate') return rollingUpdate(ctx);

  const act = takeAction(ctx);
  const stable = ctx.decision.stableRevision;
  if (input.desiredRevision === stable) return steady(ctx);
  if (ctx.rollout.abortedRevision === input.desiredRevision) return aborted(ctx);
  return ms.spec.strategy.type === 'Canary' ? canary(ctx, act) : blueGreen(ctx, act);
}

/** The serving slot runs the spec, natively rolled; an idle slot keeps its revision at 0. */
function rollingUpdate(ctx: Ctx): Decision {
  const { decision: d, ms, observed } = ctx;
  takeAction(ctx, ['pause', 'resume', 'restart']);
  const active = d.activeSlot;
  d.plan = { ...planRollingUpdate(ms, active, observed), pauseDeployments: ms.spec.paused || !!ctx.rollout.paused };
  if (ms.spec.strategy.type !== 'RollingUpdate') d.plan.previewSlot = otherSlot(active);
  if (ms.spec.strategy.type === 'BlueGreen') d.plan.serviceSlot = servingSlot(ctx);
  // Not just a template to apply: a paused Deployment already has the spec's template but holds
  // its pods back, so the rollout is under way until the slot has converged.
  d.inProgress = !converged(ms, ctx.desiredRevision, active, observed);
  d.rollout = ctx.rollout.paused ? { paused: true } : undefined;
  if (d.inProgress && ms.spec.paused) d.waiting = 'paused by spec.paused';
  if (d.inProgress && ctx.rollout.paused) d.waiting = 'paused by kubectl coxswain pause';
  return finish(ctx);
}

/** The spec's revision is the stable one: it serves at full size; the other slot drains to 0. */
function steady(ctx: Ctx): Decision {
  const { decision: d, ms, observed, now } = ctx;
  const active = d.activeSlot;
  const idle = otherSlot(active);
  const scaleDownAt = ctx.rollout.scaleDownAt ? new Date(ctx.rollout.scaleDownAt) : undefined;
  const draining = scaleDownAt && now < scaleDownAt && (observed[idle]?.replicas ?? 0) > 0;
  const serving = ms.spec.strategy.type === 'BlueGreen' ? servingSlot(ctx) : undefined;
  d.plan = { slots: { [active]: { replicas: ctx.total, template: 'current' } }, previewSlot: idle, ...(serving ? { serviceSlot: serving } : {}) };
  // The idle slot is not drained while the Service still selects it (the active slot has no Ready pod yet).
  if (observed[idle]) d.plan.slots[idle] = { replicas: draining || serving === idle ? observed[idle]!.replicas : 0, template: 'keep' };
  if (draining) {
    d.inProgress = true;
    wakeIn(d, scaleDownAt.getTime() - now.getTime());
  }
  d.rollout = compactRollout({
    paused: ctx.rollout.paused,
    scaleDownAt: draining ? ctx.rollout.scaleDownAt : undefined,
    previousRevision: ctx.rollout.previousRevision,
  });
  return finish(ctx);
}

/** The spec's revision was aborted: the stable slot serves it all, the candidate drains as it fills. */
function aborted(ctx: Ctx): Decision {
  const { decision: d, ms, observed } = ctx;
  const active = d.activeSlot;
  const other = otherSlot(active);
  const activeReady = observed[active]?.readyReplicas ?? 0;
  // The candidate only shrinks: it keeps its Ready pods (the rest serve nothing, and the ReplicaSet
  // removes unready pods first) while the stable slot is not yet Ready, never more.
  // Blue-green after an undo: the slot the Service still selects keeps its size until it moves.
  const otherObs = observed[other];
  const serving = ms.spec.strategy.type === 'BlueGreen' ? servingSlot(ctx) : undefined;
  const drain = serving === other ? otherObs?.replicas ?? 0
    : Math.min(otherObs?.replicas ?? 0, otherObs?.readyReplicas ?? 0, Math.max(0, ctx.total - activeReady));
  d.plan = {
    slots: { [active]: { replicas: ctx.total, template: 'keep' }, [other]: { replicas: drain, template: 'keep' } },
    previewSlot: other,
  };
  if (serving) d.plan.serviceSlot = serving;
  const why = ctx.rollout.message ? `: ${ctx.rollout.message}` : '';
  d.problem = {
    reason: 'RolloutAborted',
    message: `revision ${ctx.desiredRevision} was aborted${why}; revision ${d.stableRevision} serves. Change the spec, or run kubectl coxswain retry`,
  };
  d.rollout = compactRollout({ abortedRevision: ctx.desiredRevision, message: ctx.rollout.message, paused: ctx.rollout.paused });
  return finish(ctx);
}

/**
 * Starts a rollout of the desired revision from step 0 unless this very one is already under way
 * with this strategy and number of steps (switched mid-rollout, it starts over).
 */
function beginRollout(ctx: Ctx, steps: number): void {
  const cand = otherSlot(ctx.decision.activeSlot);
  const r = ctx.rollout;
  const strategy = ctx.ms.spec.strategy.type === 'BlueGreen' ? 'BlueGreen' : 'Canary';
  const same = r.steps === steps && (r.strategy ?? strategy) === strategy; // a status from before `strategy` was recorded
  if (ctx.prev.desiredRevision === ctx.desiredRevision && r.candidateSlot === cand && r.step !== undefined && same) return;
  ctx.rollout = { candidateSlot: cand, strategy, step: 0, steps, paused: r.paused };
  startStep(ctx.rollout, ctx.now);
}

/** Candidate failing or too slow: abort (or, without abortOnFailure, report and hold). Returns true on abort. */
function checkFailure(ctx: Ctx, target: number): boolean {
  const { decision: d, ms, observed, now } = ctx;
  const cand = observed[otherSlot(d.activeSlot)];
  const ours = cand?.revision === ctx.desiredRevision;
  const deadline = ms.spec.strategy.progressDeadlineSeconds * 1000;
  // The clock runs while the candidate is short of Ready pods: from the start of a step, or from
  // when it fell short after having them (a pod evicted, the HPA growing the total), however long
  // the step has been waiting at a pause.
  const short = (ours ? cand.readyReplicas : 0) < target;
  if (short) ctx.rollout.unreadySince ??= now.toISOString();
  else delete ctx.rollout.unreadySince;
  const started = ctx.rollout.unreadySince ? new Date(ctx.rollout.unreadySince).getTime() : now.getTime();
  let reason: string | undefined;
  if (ours && cand.failingPods > 0) reason = `${cand.failingPods} pod(s) of revision ${ctx.desiredRevision} are failing (${cand.failure ?? 'failed'})`;
  else if (short && now.getTime() - started > deadline) {
    reason = `revision ${ctx.desiredRevision} did not become ready within ${ms.spec.strategy.progressDeadlineSeconds}s`;
  }
  if (!reason) {
    // Still within the deadline but not there yet: come back when it runs out, events or not.
    if (short) wakeIn(d, started + deadline - now.getTime() + 1000);
    return false;
  }
  if (!ms.spec.strategy.abortOnFailure) {
    d.problem = { reason: 'RolloutFailing', message: `${reason}; holding (abortOnFailure is false)` };
    return false;
  }
  ctx.rollout = { abortedRevision: ctx.desiredRevision, message: reason, paused: ctx.rollout.paused };
  return true;
}

/** Flips the serving pointer to the candidate: it becomes the stable revision. */
function flip(ctx: Ctx, scaleDownDelaySeconds?: number): Decision {
  const d = ctx.decision;
  d.activeSlot = otherSlot(d.activeSlot);
  const scaleDownAt = scaleDownDelaySeconds ? new Date(ctx.now.getTime() + scaleDownDelaySeconds * 1000).toISOString() : undefined;
  ctx.rollout = { paused: ctx.rollout.paused, scaleDownAt, previousRevision: d.stableRevision };
  d.stableRevision = ctx.desiredRevision;
  return steady(ctx);
}

function canary(ctx: Ctx, act: Action | undefined): Decision {
  const { decision: d, ms, observed, now, total } = ctx;
  const canarySpec = ms.spec.strategy.canary!;
  const steps = canarySpec.steps;
  beginRollout(ctx, steps.length);
  const r = ctx.rollout;
  const active = d.activeSlot;
  const cand = otherSlot(active);
  const candObs = observed[cand]?.revision === ctx.desiredRevision ? observed[cand] : undefined;
  const candReady = candObs?.readyReplicas ?? 0;
  const held = ms.spec.paused || !!r.paused;
  let i = act === 'promote-full' ? steps.length : r.step ?? 0;
  if (act === 'promote-full') startStep(r, now);
  let promote = act === 'promote';
  let waiting: string | undefined;

  if (checkFailure(ctx, candidateFor(total, weightAt(steps, i)))) return aborted(ctx);
  for (;;) {
    const target = candidateFor(total, weightAt(steps, i));
    const reached = !!candObs && candObs.settled && candReady >= target && candObs.replicas >= target
      && (observed[active]?.currentReplicas ?? 0) <= total - target;
    if (i >= steps.length) {
      if (reached && !held) return flip(ctx);
      if (held) waiting = ms.spec.paused ? 'paused by spec.paused' : 'paused by kubectl coxswain pause';
      break;
    }
    const step = steps[i]!;
    const advance = () => { i++; startStep(r, now); };
    // A promote was accepted at this pause: it goes past it even while paused, and holds at the next step.
    if (promote && step.pause) { promote = false; advance(); continue; }
    if (held) { waiting = ms.spec.paused ? 'paused by spec.paused' : 'paused by kubectl coxswain pause'; break; }
    if (step.setWeight !== undefined) {
      if (!reached) break;
      advance();
      continue;
    }
    if (step.pause?.duration) {
      const until = r.pausedUntil ? new Date(r.pausedUntil) : new Date(now.getTime() + durationMs(step.pause.duration));
      if (now >= until) { advance(); continue; }
      r.pausedUntil = until.toISOString();
      wakeIn(d, until.getTime() - now.getTime());
      break;
    }
    waiting = `waiting for promotion at step ${i}: kubectl coxswain promote ${ms.metadata.name}`;
    break;
  }

  const weight = weightAt(steps, i);
  const sizes = split(total, weight, candReady, canarySpec);
  d.plan = {
    slots: { [active]: { replicas: sizes.stable, template: 'keep' }, [cand]: { replicas: sizes.candidate, template: 'current' } },
    previewSlot: cand,
  };
  const stableReady = observed[active]?.readyReplicas ?? 0;
  r.step = i;
  r.steps = steps.length;
  r.desiredWeight = weight;
  r.weight = candReady + stableReady > 0 ? Math.round((100 * candReady) / (candReady + stableReady)) : 0;
  r.message = waiting ?? (r.pausedUntil ? `step ${i}/${steps.length}: paused until ${r.pausedUntil}`
    : `step ${i}/${steps.length}: weight ${weight}%, ${candReady}/${candidateFor(total, weight)} candidate pods ready`);
  d.waiting = waiting;
  d.inProgress = true;
  d.rollout = compactRollout(r);
  return finish(ctx);
}

function blueGreen(ctx: Ctx, act: Action | undefined): Decision {
  const { decision: d, ms, observed, now, total } = ctx;
  const bg = ms.spec.strategy.blueGreen ?? { scaleDownDelaySeconds: 30 };
  beginRollout(ctx, 1);
  const r = ctx.rollout;
  const active = d.activeSlot;
  const cand = otherSlot(active);
  const candObs = observed[cand]?.revision === ctx.desiredRevision ? observed[cand] : undefined;
  const candReady = candObs?.readyReplicas ?? 0;
  const preview = Math.min(total, bg.previewReplicas ?? total);
  const held = ms.spec.paused || !!r.paused;
  if (act === 'promote' || act === 'promote-full') { r.step = 1; startStep(r, now); }
  let waiting: string | undefined;

  const size = r.step === 1 ? total : preview;
  if (checkFailure(ctx, size)) return aborted(ctx);
  const ready = !!candObs && candObs.settled && candReady >= size && candObs.replicas >= size;
  if (r.step === 1 && ready && !held) return flip(ctx, bg.scaleDownDelaySeconds);
  if (r.step === 1 && held) waiting = ms.spec.paused ? 'paused by spec.paused' : 'paused by kubectl coxswain pause';
  if (r.step === 0 && ready) {
    if (held) waiting = ms.spec.paused ? 'paused by spec.paused' : 'paused by kubectl coxswain pause';
    else if (bg.autoPromotionSeconds === undefined) waiting = `preview ready at ${ms.metadata.name}-preview; waiting for promotion: kubectl coxswain promote ${ms.metadata.name}`;
    else {
      const until = r.pausedUntil ? new Date(r.pausedUntil) : new Date(now.getTime() + bg.autoPromotionSeconds * 1000);
      if (now >= until) {
        r.step = 1;
        startStep(r, now);
      } else {
        r.pausedUntil = until.toISOString();
        wakeIn(d, until.getTime() - now.getTime());
      }
    }
  }
  const candSize = r.step === 1 ? total : preview;
  d.plan = {
    slots: { [active]: { replicas: total, template: 'keep' }, [cand]: { replicas: candSize, template: 'current' } },
    serviceSlot: servingSlot(ctx),
    previewSlot: cand,
  };
  r.steps = 1;
  r.weight = 0;
  r.desiredWeight = r.step === 1 ? 100 : 0;
  r.message = waiting ?? (r.step === 1 ? `promoting: ${candReady}/${total} pods ready before the switch`
    : r.pausedUntil ? `preview ready; promoting at ${r.pausedUntil}` : `preview: ${candReady}/${preview} pods ready`);
  d.waiting = waiting;
  d.inProgress = true;
  d.rollout = compactRollout(r);
  return finish(ctx);
}

/** A step begins: its clock starts, and the progress deadline's with it. */
function startStep(r: RolloutStatus, now: Date): void {
  r.stepStartedAt = now.toISOString();
  r.unreadySince = now.toISOString();
  delete r.pausedUntil;
}

/** Asks to be reconciled again within ms (the earliest of several asks wins). */
function wakeIn(d: Decision, ms: number): void {
  d.requeueAfterMs = Math.max(0, Math.min(d.requeueAfterMs ?? Infinity, ms));
}

/**
 * The slot `<name>` selects. While it selects the active slot, it stays there unless that slot has
 * no Ready pod and the other has some. While it selects the other (after a flip or an undo), it
 * moves to the active slot once that can carry what the other serves (its Ready pods, up to the
 * total): an undo never puts all traffic on a returning slot's first Ready pod, and an unpromoted
 * candidate never gets traffic because a stable pod restarted. At 0 replicas, the active slot.
 */
function servingSlot(ctx: Ctx): Slot {
  const { observed, total, servedSlot } = ctx;
  const active = ctx.decision.activeSlot;
  const other = otherSlot(active);
  if (total === 0) return active;
  const ready = (slot: Slot) => observed[slot]?.readyReplicas ?? 0;
  const need = servedSlot === other ? Math.min(total, ready(other)) : Math.min(1, ready(other));
  return ready(active) >= need ? active : other;
}

function compactRollout(r: RolloutStatus): RolloutStatus | undefined {
  const out = Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined && v !== false)) as RolloutStatus;
  return Object.keys(out).length > 0 ? out : undefined;
}

function finish(ctx: Ctx): Decision {
  const d = ctx.decision;
  d.plan.restartedAt = d.restartedAt;
  return d;
}
