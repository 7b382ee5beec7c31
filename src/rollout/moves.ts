// The moves every strategy shares: settling on the stable revision (steady, or after an abort),
// draining a slot that no longer serves, the flip of the serving pointer, the failure check,
// and the small sentences and clocks they have in common.
import { otherSlot } from '../api/names.js';
import type { Slot } from '../api/schema.js';
import type { Ctx, Decision, ObservedSlot, Problem, RolloutStatus, SlotPlan } from './types.js';
import { weightAt } from './steps.js';
import { resolveLimits } from './weights.js';

/** Why a rollout holds, when spec.paused or `kubectl coxswain pause` holds it. */
export function pausedBy(ctx: Ctx): string | undefined {
  if (ctx.ms.spec.paused) return 'paused by spec.paused';
  if (ctx.rollout.paused) return 'paused by kubectl coxswain pause';
  return undefined;
}

/** How status counts the candidate's pods: `ready`, or with minReadySeconds, `available (Ready 5s)`. */
export function readyWord(ctx: Ctx): string {
  const s = ctx.ms.spec.minReadySeconds;
  return s ? `available (Ready ${s}s)` : 'ready';
}

/** Asks to be reconciled again within ms (the earliest of several asks wins). */
export function wakeIn(d: Decision, ms: number): void {
  d.requeueAfterMs = Math.max(0, Math.min(d.requeueAfterMs ?? Infinity, ms));
}

/** A step begins: its clock starts, and the progress deadline's with it. */
export function startStep(r: RolloutStatus, now: Date): void {
  r.stepStartedAt = now.toISOString();
  r.unreadySince = now.toISOString();
  delete r.pausedUntil;
}

export function compactRollout(r: RolloutStatus): RolloutStatus | undefined {
  const out = Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined && v !== false)) as RolloutStatus;
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The revision a slot plan renders for the stable revision in the active slot: its own template
 * when kept, else resize only; with the restart stamp the slot has, so that a rollout beginning
 * after a restart does not roll the stable slot again natively (to its template without it).
 */
export function stableTemplate(ctx: Ctx): Pick<SlotPlan, 'revision' | 'restartedAt'> {
  const stable = ctx.decision.stableRevision;
  if (!stable || !ctx.kept.has(stable)) return {};
  const o = ctx.observed[ctx.decision.activeSlot];
  return o?.revision === stable && o.restartedAt ? { revision: stable, restartedAt: o.restartedAt } : { revision: stable };
}

/**
 * How many pods a slot that no longer serves may keep: its Ready pods, only while the slot that
 * serves has fewer than `floor` Ready pods of its own revision, and never more than it has. So
 * Ready pods behind `<name>` never drop because of a drain, and a replaced revision stops
 * serving once the stable slot can carry the load.
 */
export function drainTo(ctx: Ctx, slot: Slot, servingReady: number): number {
  const o = ctx.observed[slot];
  if (!o) return 0;
  return Math.min(o.replicas, o.servingReplicas, Math.max(0, ctx.floor - servingReady));
}

/**
 * `<name>` without blue-green selects every slot (traffic by replica weight); once the slot that
 * serves can carry the load alone, it selects only that one while the other still has Ready pods
 * (of a replaced or aborted revision), so those never serve again.
 */
export function narrowed(ctx: Ctx, servingReady: number): Slot | undefined {
  const active = ctx.decision.activeSlot;
  return servingReady >= ctx.floor && (ctx.observed[otherSlot(active)]?.servingReplicas ?? 0) > 0 ? active : undefined;
}

/**
 * Ready pods of the stable revision in the active slot, no more than its Deployment asks for: a
 * slot just scaled down still shows the pods it is about to lose while the pods' watch lags.
 */
function stableReady(ctx: Ctx): number {
  const o = ctx.observed[ctx.decision.activeSlot];
  return o && o.revision === ctx.decision.stableRevision ? Math.min(o.readyReplicas, o.replicas) : 0;
}

/**
 * The Microservice settles on its stable revision: the active slot serves it at full size,
 * rebuilt from its own template; the other slot drains as the active one fills. Blue-green
 * keeps the previous slot through its scale-down delay. `<name>` selects the active slot once
 * it can carry the load; until then (canary) both; `<name>-preview` the active slot.
 */
export function settle(ctx: Ctx, opts: { keepIdle?: boolean } = {}): void {
  const { decision: d, observed } = ctx;
  const active = d.activeSlot;
  const idle = otherSlot(active);
  const ready = stableReady(ctx);
  const blueGreen = ctx.ms.spec.strategy.type === 'BlueGreen';
  const serving = blueGreen ? servingSlot(ctx) : narrowed(ctx, ready);
  const idleObs = observed[idle];
  // A slot the live `<name>` still selects alone keeps its pods until `<name>` is seen to have
  // moved: the Service is applied first, but the endpoints follow only once it is read back.
  const selected = serving === idle || ctx.servedSlot === idle;
  const keep = !idleObs ? 0 : opts.keepIdle || selected ? idleObs.replicas : blueGreen ? 0 : drainTo(ctx, idle, ready);
  d.plan = {
    ...d.plan,
    // A way back to the stable revision: it is whole at once, above the surge cap if need be.
    slots: { [active]: { replicas: heldWhileRolling(observed[active], ctx.total), ...stableTemplate(ctx) } },
    serviceSlot: serving,
    previewSlot: active,
    weight: 0,
  };
  if (idleObs) d.plan.slots[idle] = { replicas: keep };
}

/** The spec's revision is the stable one: it serves at full size; the other slot drains to 0. */
export function steady(ctx: Ctx): Decision {
  const { decision: d, observed, now } = ctx;
  const idle = otherSlot(d.activeSlot);
  const scaleDownAt = ctx.rollout.scaleDownAt ? new Date(ctx.rollout.scaleDownAt) : undefined;
  const delaying = !!scaleDownAt && now < scaleDownAt && (observed[idle]?.replicas ?? 0) > 0;
  settle(ctx, { keepIdle: delaying });
  if (delaying) wakeIn(d, scaleDownAt.getTime() - now.getTime());
  // Under way until the other slot is empty and the active one whole.
  d.inProgress = delaying;
  d.rollout = compactRollout({
    paused: ctx.rollout.paused,
    scaleDownAt: delaying ? ctx.rollout.scaleDownAt : undefined,
    previousRevision: ctx.rollout.previousRevision,
  });
  return d;
}

/** The spec's revision was aborted: the stable slot serves it all, the candidate drains as it fills. */
export function aborted(ctx: Ctx): Decision {
  const d = ctx.decision;
  settle(ctx);
  const why = ctx.rollout.message ? `: ${ctx.rollout.message}` : '';
  // An abort by analysis keeps the run that failed in status (bounded), to show why.
  const analysis = ctx.rollout.analysis;
  const byAnalysis = analysis?.step?.phase === 'Failed' || analysis?.background?.phase === 'Failed';
  d.problem = {
    reason: byAnalysis ? 'AnalysisFailed' : 'RolloutAborted',
    message: `revision ${ctx.desiredRevision} was aborted${why}; revision ${d.stableRevision} serves. Change the spec, or run kubectl coxswain retry`,
  };
  d.rollout = compactRollout({
    abortedRevision: ctx.desiredRevision, message: ctx.rollout.message, paused: ctx.rollout.paused, previousRevision: ctx.rollout.previousRevision,
    ...(byAnalysis ? { analysis } : {}),
  });
  return d;
}

/** Why the desired revision cannot run: one of its own objects was refused (the problem names it, in the API server's words). */
export function unrunnable(ctx: Ctx, refused: Problem): string {
  return `revision ${ctx.desiredRevision} gets no pods: ${refused.message}`;
}

/**
 * The spec's revision cannot run: the API server refused one of its own objects (its ConfigMap,
 * its ControllerRevision), so its pods would read a ConfigMap that is not there, or could not be
 * rebuilt. It gets no pods: the stable slot serves it all, the candidate slot drains as it does
 * after an abort, and the rollout holds where it is, to go on once the objects are in (the spec
 * changed, a policy relented). `why` is the status' message.
 */
export function refusedRollout(ctx: Ctx, steps: number, why: string): Decision {
  const d = ctx.decision;
  beginRollout(ctx, steps);
  settle(ctx);
  ctx.rollout.weight = 0;
  ctx.rollout.message = why;
  d.inProgress = true;
  d.rollout = compactRollout(ctx.rollout);
  return d;
}

/** Flips the serving pointer to the candidate: it becomes the stable revision. */
export function flip(ctx: Ctx, scaleDownDelaySeconds?: number): Decision {
  const d = ctx.decision;
  d.activeSlot = otherSlot(d.activeSlot);
  const scaleDownAt = scaleDownDelaySeconds ? new Date(ctx.now.getTime() + scaleDownDelaySeconds * 1000).toISOString() : undefined;
  ctx.rollout = { paused: ctx.rollout.paused, scaleDownAt, previousRevision: d.stableRevision };
  d.stableRevision = ctx.desiredRevision;
  return steady(ctx);
}

/**
 * A slot's Deployment in the middle of its own rolling update (a restart, a template re-applied):
 * pods of an older ReplicaSet are still there, and the Deployment controller will still take
 * some of its Ready pods away (within the slot's own maxUnavailable) before the roll is done.
 */
export function rollingNatively(o: ObservedSlot | undefined): boolean {
  return !!o && o.updatedReplicas < o.currentReplicas;
}

/** A slot's Ready pods that stay: those of its current template (a restart's old pods go). */
export function readyToStay(o: ObservedSlot): number {
  return Math.min(o.readyReplicas, o.templateReady ?? o.readyReplicas);
}

/**
 * A slot's size: `want`, but while its Deployment rolls natively, no smaller than it is. A rolling
 * Deployment scaled down is scaled proportionally across its ReplicaSets, Ready pods or not, so
 * the old ReplicaSet would lose Ready pods while the new one has none: it shrinks once rolled.
 */
export function heldWhileRolling(o: ObservedSlot | undefined, want: number): number {
  return o && rollingNatively(o) ? Math.max(want, o.replicas) : want;
}

/**
 * The size a stable slot rolling natively needs so that, with `otherReady` Ready pods beside it,
 * Ready pods stay at the floor: its Deployment keeps only `size - maxUnavailable` of its own (the
 * slot's rollingUpdate), so a slot sized for the weight alone (the total grew as a restart began)
 * would dip below it. From `from` up, never above the total.
 */
export function rollingSizeForFloor(ctx: Ctx, from: number, otherReady: number): number {
  const limits = ctx.ms.spec.strategy.rollingUpdate ?? { maxSurge: '25%', maxUnavailable: 0 };
  let size = from;
  while (size < ctx.total && size - resolveLimits(limits, size).unavailable + otherReady < ctx.floor) size++;
  return Math.max(from, size);
}

/**
 * The pods a slot still has of its own template: its size, or more while a scale-down it was
 * given has not been carried out yet. A drain keeps Ready pods up to this, so a scale-down
 * decided for a smaller total is taken back if the total grew before the pods went.
 */
export function podsKept(o: ObservedSlot | undefined): number {
  return o ? Math.max(o.replicas, o.updatedReplicas) : 0;
}

/** The candidate slot's state when it holds the desired revision, else undefined. */
export function candidateOf(ctx: Ctx): ObservedSlot | undefined {
  const o = ctx.observed[otherSlot(ctx.decision.activeSlot)];
  return o?.revision === ctx.desiredRevision ? o : undefined;
}

/**
 * The candidate slot still holds pods of another revision (a candidate replaced mid-rollout, the
 * previous one in its scale-down delay): they drain before the desired revision moves in, so a
 * replaced revision never serves once the stable slot can carry the load.
 */
function mustClear(ctx: Ctx): boolean {
  const o = ctx.observed[otherSlot(ctx.decision.activeSlot)];
  // Until its pods are gone, not only asked to go: a new template applied beside them would make
  // the Deployment keep them (maxUnavailable) until the new pods are Ready, serving meanwhile.
  return !!o && o.revision !== ctx.desiredRevision && (o.replicas > 0 || o.currentReplicas > 0 || o.servingReplicas > 0 || !o.settled);
}

/** Candidate failing or too slow: abort (or, without abortOnFailure, report and hold). Returns true on abort. */
export function checkFailure(ctx: Ctx, target: number): boolean {
  const { decision: d, ms, now } = ctx;
  const cand = candidateOf(ctx);
  const deadline = ms.spec.strategy.progressDeadlineSeconds * 1000;
  // The clock runs while the candidate is short of Ready pods: from the start of a step, or from
  // when it fell short after having them (a pod evicted, the HPA growing the total), however long
  // the step has been waiting at a pause.
  const short = (cand?.readyReplicas ?? 0) < target;
  if (short) ctx.rollout.unreadySince ??= now.toISOString();
  else delete ctx.rollout.unreadySince;
  const started = ctx.rollout.unreadySince ? new Date(ctx.rollout.unreadySince).getTime() : now.getTime();
  // Held, the candidate is given no more pods, so being short is no sign of a bad revision: the
  // deadline waits (holdClocks moves it on by the time held); failing pods still abort.
  const held = !!pausedBy(ctx);
  let reason: string | undefined;
  if (cand && cand.failingPods > 0) reason = `${cand.failingPods} pod(s) of revision ${ctx.desiredRevision} are failing (${cand.failure ?? 'failed'})`;
  else if (short && !held && now.getTime() - started > deadline) {
    reason = `revision ${ctx.desiredRevision} did not become ready within ${ms.spec.strategy.progressDeadlineSeconds}s`;
  }
  if (!reason) {
    // Still within the deadline but not there yet: come back when it runs out, events or not.
    if (short && !held) wakeIn(d, started + deadline - now.getTime() + 1000);
    return false;
  }
  if (!ms.spec.strategy.abortOnFailure) {
    d.problem = { reason: 'RolloutFailing', message: `${reason}; holding (abortOnFailure is false)` };
    return false;
  }
  ctx.rollout = { abortedRevision: ctx.desiredRevision, message: reason, paused: ctx.rollout.paused };
  return true;
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
  // The steps edited in place so that the current one asks a higher weight than it did: the steps
  // before it were passed at lower weights, so it starts over, as with another number of steps.
  // So does an edit that raises the weight of the step before it, which it is reported past.
  const edited = ctx.ms.spec.strategy.canary?.steps ?? [];
  const raised = strategy === 'Canary' && r.step !== undefined && ((r.desiredWeight !== undefined && weightAt(edited, r.step) > r.desiredWeight)
    || (r.passedWeight !== undefined && r.step > 0 && weightAt(edited, r.step - 1) > r.passedWeight));
  if (!raised && ctx.prev.desiredRevision === ctx.desiredRevision && r.candidateSlot === cand && r.step !== undefined && same) return;
  // A scale-down delay still running goes on until the candidate slot is cleared (clearCandidate).
  const scaleDownAt = r.scaleDownAt && new Date(r.scaleDownAt) > ctx.now ? r.scaleDownAt : undefined;
  ctx.rollout = { candidateSlot: cand, strategy, step: 0, steps, paused: r.paused, previousRevision: r.previousRevision, scaleDownAt };
  startStep(ctx.rollout, ctx.now);
}

/**
 * Pods of a slot that may turn Ready any moment: starting (not Ready, not failing), and younger
 * than the progress deadline, past which a pod is not expected any more (nor a rollout waiting on
 * it); and in how long the first of them is past it.
 */
function starting(ctx: Ctx, slot: Slot): { count: number; untilMs?: number } {
  const bound = ctx.ms.spec.strategy.progressDeadlineSeconds * 1000;
  const left = (ctx.observed[slot]?.startingSince ?? []).map((t) => t + bound - ctx.now.getTime()).filter((ms) => ms > 0);
  return { count: left.length, ...(left.length > 0 ? { untilMs: Math.min(...left) } : {}) };
}

/**
 * The slot `<name>` selects in blue-green. While it selects the active slot, it stays there unless
 * that slot has no Ready pod and the other has some. While it selects the other (after a flip or
 * an undo), it moves to the active slot once that can carry what the other serves (its Ready
 * pods, up to the total): an undo never puts all traffic on a returning slot's first Ready pod,
 * and an unpromoted candidate never gets traffic because a stable pod restarted. What the other
 * serves is read off a pod cache that lags: a pod shown starting there may be Ready already, so
 * its starting pods count too (up to the floor), while they may still turn Ready: the move waits
 * for them at most the progress deadline, then a requeue makes it. Switched from a canary (the
 * Service selecting every slot), it narrows once the active slot can carry the load. At 0
 * replicas, the active slot.
 */
export function servingSlot(ctx: Ctx): Slot | undefined {
  const { observed, total, servedSlot } = ctx;
  const active = ctx.decision.activeSlot;
  const other = otherSlot(active);
  if (total === 0) return active;
  const ready = (slot: Slot) => observed[slot]?.servingReplicas ?? 0;
  if (servedSlot === 'all' && ready(active) < ctx.floor && ready(other) > 0) return undefined;
  if (servedSlot !== other) return ready(active) >= Math.min(1, ready(other)) ? active : other;
  if (ready(active) < Math.min(total, ready(other))) return other;
  const coming = starting(ctx, other);
  if (ready(active) >= Math.min(ctx.floor, ready(other) + coming.count)) return active;
  if (coming.untilMs !== undefined) wakeIn(ctx.decision, coming.untilMs);
  return other;
}

/** The stable slot's size beside `otherKeeps` pods: the total, within total + surge, and never below the pods it serves with. */
function withinSurge(ctx: Ctx, otherKeeps: number): number {
  const o = ctx.observed[ctx.decision.activeSlot];
  return Math.min(ctx.total, Math.max(ctx.total + ctx.surge - otherKeeps, Math.min(o?.replicas ?? 0, o?.servingReplicas ?? 0)));
}

/**
 * The candidate slot still holds another revision's pods: the stable slot fills, and the slot
 * drains as it does; the desired revision moves in once it is empty.
 */
function clearCandidate(ctx: Ctx): Decision {
  const d = ctx.decision;
  const cand = otherSlot(d.activeSlot);
  const ready = stableReady(ctx);
  const strategyIsCanary = ctx.ms.spec.strategy.type === 'Canary';
  const serving = strategyIsCanary ? narrowed(ctx, ready) : servingSlot(ctx);
  // A blue-green preview serves nothing behind `<name>` (unless the Service had to fall back on
  // it): it goes at once. While `<name>` still selects every slot (switched from a canary), its
  // pods serve: they drain as the stable slot fills, as a canary's do.
  const drained = serving === cand ? ctx.observed[cand]?.replicas ?? 0 : strategyIsCanary || serving === undefined ? drainTo(ctx, cand, ready) : 0;
  // A slot let go in its scale-down delay (after a promotion, an abort or an undo) keeps its Ready
  // pods until the delay has run, whatever revision comes next: requests a gateway replica still
  // sends it finish (scaleDown.ts).
  const until = ctx.rollout.scaleDownAt ? new Date(ctx.rollout.scaleDownAt).getTime() - ctx.now.getTime() : 0;
  const o = ctx.observed[cand];
  const keep = until > 0 && o ? Math.max(drained, Math.min(o.replicas, o.servingReplicas)) : drained;
  if (keep > drained) wakeIn(d, until);
  d.plan = {
    ...d.plan,
    // Still a rollout: the stable slot grows within the surge cap as the slot drains.
    slots: { [d.activeSlot]: { replicas: withinSurge(ctx, keep), ...stableTemplate(ctx) }, [cand]: { replicas: keep } },
    serviceSlot: serving,
    previewSlot: d.activeSlot,
    weight: 0,
  };
  const steps = ctx.ms.spec.strategy.canary?.steps ?? [];
  ctx.rollout.desiredWeight = strategyIsCanary ? weightAt(steps, ctx.rollout.step ?? 0) : 0;
  ctx.rollout.weight = 0;
  ctx.rollout.message = `clearing the ${cand} slot of revision ${ctx.observed[cand]?.revision} before revision ${ctx.desiredRevision} moves in`;
  d.waiting = undefined;
  d.inProgress = true;
  d.rollout = compactRollout(ctx.rollout);
  // The drain's next move depends on pods becoming Ready or going, which are events; and on
  // nothing else.
  return d;
}

/** What a strategy opens with: its rollout begun (or going on), the slots, the candidate's state. */
export interface Opened {
  r: RolloutStatus;
  active: Slot;
  cand: Slot;
  candObs?: ObservedSlot;
  candReady: number;
  /** Why it holds (spec.paused, kubectl coxswain pause), if it does. */
  held?: string;
}

/**
 * Time held (spec.paused, kubectl coxswain pause) does not count: while held the rollout records
 * since when; on the first pass after, every clock it runs moves on by the time held (a timed
 * pause, auto-promotion, the progress deadline, an analysis' duration), and every running
 * analysis measures again at once, passing on nothing measured before the resume.
 */
export function holdClocks(r: RolloutStatus, held: boolean, now: Date): void {
  if (held) { r.heldSince ??= now.toISOString(); return; }
  if (!r.heldSince) return;
  const heldMs = Math.max(0, now.getTime() - new Date(r.heldSince).getTime());
  delete r.heldSince;
  const shift = (t: string | undefined, notAfterNow: boolean) => {
    if (!t) return undefined;
    const moved = new Date(t).getTime() + heldMs;
    return new Date(notAfterNow ? Math.min(moved, now.getTime()) : moved).toISOString();
  };
  r.pausedUntil = shift(r.pausedUntil, false);
  r.stepStartedAt = shift(r.stepStartedAt, true);
  r.unreadySince = shift(r.unreadySince, true);
  if (!r.analysis) return;
  // A pre-promotion analysis that passed before the hold is judged again: the promotion it allows
  // comes after the resume, so it must rest on what the candidate does now.
  const resumed = (run: NonNullable<typeof r.analysis.step>) => {
    const reopen = run.phase === 'Passed' && run.id === 'prePromotion';
    if (run.phase !== 'Running' && !reopen) return run;
    return {
      ...run,
      phase: 'Running' as const,
      heldSeconds: (run.heldSeconds ?? 0) + Math.ceil(heldMs / 1000),
      resumedAt: now.toISOString(),
      metrics: run.metrics.map(({ nextAt: _due, ...m }) => (reopen && m.phase === 'Passed' ? { ...m, phase: 'Running' as const } : m)),
    };
  };
  r.analysis = {
    ...(r.analysis.step ? { step: resumed(r.analysis.step) } : {}),
    ...(r.analysis.background ? { background: resumed(r.analysis.background) } : {}),
  };
}

/** Begins or resumes the rollout of the desired revision; a Decision instead while the candidate slot is cleared first. */
export function openRollout(ctx: Ctx, steps: number): Opened | Decision {
  beginRollout(ctx, steps);
  const held = pausedBy(ctx);
  holdClocks(ctx.rollout, !!held, ctx.now);
  if (mustClear(ctx)) return clearCandidate(ctx);
  delete ctx.rollout.scaleDownAt;
  const active = ctx.decision.activeSlot;
  const candObs = candidateOf(ctx);
  return { r: ctx.rollout, active, cand: otherSlot(active), ...(candObs ? { candObs } : {}), candReady: candObs ? readyToStay(candObs) : 0, ...(held ? { held } : {}) };
}
