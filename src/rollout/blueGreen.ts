// Blue-green: the candidate slot comes up (previewReplicas, default full) behind `<name>-preview`;
// on promotion, by hand or after autoPromotionSeconds, it grows to full size and `<name>` switches
// to it; the previous slot scales to 0 after scaleDownDelaySeconds.
//
// Steps: 0 preview (prePromotionAnalysis must pass before promotion), 1 promoting (the candidate
// grows to full size), and with postPromotionAnalysis 2: `<name>` serves the candidate while the
// previous slot stays whole; the flip to stable waits for the analysis, and a failure switches
// `<name>` back.
import type { Action } from './actions.js';
import { aborted, candidateOf, checkFailure, compactRollout, flip, openRollout, readyToStay, readyWord, rollingNatively, servingSlot, stableTemplate, startStep, wakeIn } from './moves.js';
import type { Ctx, Decision } from './types.js';
import { abortByAnalysis, runAnalysis } from '../analysis/run.js';
import type { GatingAnalysis } from '../analysis/api.js';

/** A blue-green analysis that gates: before promotion, or after the switch. */
const gate = (ctx: Ctx, id: 'prePromotion' | 'postPromotion', a: GatingAnalysis) =>
  runAnalysis(ctx, 'step', { id, metrics: a.metrics, duration: a.duration, count: a.count, gating: true });

/** Blue-green's steps: the preview, the promotion, and the post-promotion analysis when there is one. */
export const blueGreenSteps = (ctx: Ctx): number => (ctx.ms.spec.strategy.blueGreen?.postPromotionAnalysis ? 2 : 1);

const previewSize = (ctx: Ctx) => Math.min(ctx.total, ctx.ms.spec.strategy.blueGreen?.previewReplicas ?? ctx.total);

/** Before the switch, with the preview's pods of its own revision Ready; else why not. */
export function blueGreenPromotable(ctx: Ctx): true | string {
  const sameRollout = ctx.prev.desiredRevision === ctx.desiredRevision;
  if ((sameRollout ? ctx.rollout.step ?? 0 : 0) !== 0) return 'is not paused';
  return ready(ctx, previewSize(ctx)) ? true : 'has no Ready preview yet';
}

/**
 * The candidate has `size` Ready pods of its own revision to stay: not while its Deployment still
 * rolls (a restart), when its Ready pods include old ones the roll is about to take away.
 */
function ready(ctx: Ctx, size: number): boolean {
  const cand = candidateOf(ctx);
  return !!cand && cand.settled && readyToStay(cand) >= size && cand.replicas >= size && !rollingNatively(cand);
}

export function blueGreen(ctx: Ctx, act: Action | undefined): Decision {
  const { decision: d, ms, now, total } = ctx;
  const bg: NonNullable<typeof ms.spec.strategy.blueGreen> = ms.spec.strategy.blueGreen ?? { scaleDownDelaySeconds: 30 };
  const steps = blueGreenSteps(ctx);
  const opened = openRollout(ctx, steps);
  if ('plan' in opened) return opened;
  const { r, active, cand, candObs, candReady, held } = opened;
  const preview = previewSize(ctx);
  if (act === 'promote' || act === 'promote-full') { r.step = 1; startStep(r, now); }
  let waiting: string | undefined;
  let analysisMessage: string | undefined;

  if (checkFailure(ctx, (r.step ?? 0) >= 1 ? total : preview)) return aborted(ctx);
  // The auto-promotion clock runs while the preview is Ready; a preview that lost its pods (a pod
  // evicted, its slot deleted) starts it again once it is back.
  if (r.step === 0 && !ready(ctx, preview)) delete r.pausedUntil;
  if (r.step === 0 && ready(ctx, preview)) {
    const pre = bg.prePromotionAnalysis && !held ? gate(ctx, 'prePromotion', bg.prePromotionAnalysis) : undefined;
    if (pre?.verdict === 'Failed') { abortByAnalysis(ctx, pre.message); return aborted(ctx); }
    if (held) waiting = held;
    else if (pre && pre.verdict !== 'Passed') analysisMessage = pre.message;
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
  // Promotion began (now or earlier): switch in this same pass when the candidate is whole already.
  if (r.step === 1 && ready(ctx, total) && !held) {
    if (!bg.postPromotionAnalysis) return flip(ctx, bg.scaleDownDelaySeconds);
    r.step = 2;
    startStep(r, now);
  }
  // Switched, under post-promotion analysis: a pass makes the candidate stable, a failure switches back.
  if (r.step === 2 && bg.postPromotionAnalysis && !held) {
    const post = gate(ctx, 'postPromotion', bg.postPromotionAnalysis);
    if (post.verdict === 'Failed') { abortByAnalysis(ctx, post.message); return aborted(ctx); }
    if (post.verdict === 'Passed') return flip(ctx, bg.scaleDownDelaySeconds);
    analysisMessage = post.message;
  }
  if (held) waiting = held;
  const size = (r.step ?? 0) >= 1 ? total : preview;
  // Under post-promotion analysis `<name>` serves the candidate (whole: step 2 is reached only then).
  const serving = r.step === 2 ? cand : servingSlot(ctx);
  // Held: the candidate never grows, and a revision that has no pods yet gets none. While `<name>`
  // still sends it traffic (switched from a canary), it keeps the pods that serve.
  const servingThere = serving !== active ? Math.min(candObs?.replicas ?? 0, candObs?.servingReplicas ?? 0) : 0;
  const candSize = Math.max(held ? Math.min(size, candObs?.replicas ?? 0) : size, servingThere);
  d.plan = {
    ...d.plan,
    slots: { [active]: { replicas: total, ...stableTemplate(ctx) }, [cand]: held && !candObs ? { replicas: 0 } : { replicas: candSize, revision: ctx.desiredRevision } },
    serviceSlot: serving,
    previewSlot: cand,
    weight: (r.step ?? 0) >= 1 ? 100 : 0,
  };
  r.steps = steps;
  r.weight = r.step === 2 ? 100 : 0;
  r.desiredWeight = (r.step ?? 0) >= 1 ? 100 : 0;
  r.message = waiting ?? analysisMessage ?? (r.step === 1 ? `promoting: ${candReady}/${total} pods ${readyWord(ctx)} before the switch`
    : r.pausedUntil ? `preview ready; promoting at ${r.pausedUntil}` : `preview: ${candReady}/${preview} pods ${readyWord(ctx)}`);
  d.waiting = waiting;
  d.inProgress = true;
  d.rollout = compactRollout(r);
  return d;
}
