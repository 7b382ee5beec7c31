// Analysis inside a decision: the canary and blue-green strategies advance their analysis runs
// through here; the evaluation itself is src/analysis/evaluate.ts.
import { otherSlot } from '../api/names.js';
import { advanceRun } from './evaluate.js';
import type { RunOutcome, RunSpec } from './types.js';
import { wakeIn } from '../rollout/moves.js';
import type { Ctx } from '../rollout/types.js';

/** The two runs a rollout may have at once: the one that gates the current step, and the canary's background one. */
export type RunSlot = 'step' | 'background';

/**
 * Advances one of the rollout's analysis runs within a decision: its status goes to
 * status.rollout.analysis, the measurements due to the decision, and the engine is woken when
 * the next one is due.
 */
export function runAnalysis(ctx: Ctx, slot: RunSlot, spec: RunSpec): RunOutcome {
  const d = ctx.decision;
  const active = d.activeSlot;
  const stable = d.stableRevision ?? '';
  const base = { name: ctx.ms.metadata.name, namespace: ctx.ms.metadata.namespace ?? '', stableRevision: stable, candidateRevision: ctx.desiredRevision };
  const out = advanceRun(ctx.rollout.analysis?.[slot], spec, {
    input: ctx.analysis ?? { metrics: new Map(), results: [] },
    now: ctx.now,
    revision: ctx.desiredRevision,
    vars: { ...base, revision: ctx.desiredRevision, slot: otherSlot(active) },
    stableVars: { ...base, revision: stable, slot: active },
  });
  ctx.rollout.analysis = { ...ctx.rollout.analysis, [slot]: out.run };
  if (out.requests.length > 0) d.measurements = [...(d.measurements ?? []), ...out.requests];
  if (out.measured.length > 0) d.measured = [...(d.measured ?? []), ...out.measured];
  d.events.push(...out.events);
  if (out.wakeAt) wakeIn(d, out.wakeAt.getTime() - ctx.now.getTime());
  return out;
}

/** The rollout is aborted by a failed analysis: as a failing candidate aborts it, with the analysis kept in status to show why. */
export function abortByAnalysis(ctx: Ctx, message: string): void {
  const r = ctx.rollout;
  ctx.rollout = { abortedRevision: ctx.desiredRevision, message, paused: r.paused, previousRevision: r.previousRevision, analysis: r.analysis };
}

/** The rollout was aborted by analysis: its status says so, with the run that failed. */
export function abortedByAnalysis(r: { analysis?: { step?: { phase: string }; background?: { phase: string } } }): boolean {
  return r.analysis?.step?.phase === 'Failed' || r.analysis?.background?.phase === 'Failed';
}
