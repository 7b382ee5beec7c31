// Blue-green: the candidate slot comes up (previewReplicas, default full) behind `<name>-preview`;
// on promotion, by hand or after autoPromotionSeconds, it grows to full size and `<name>` switches
// to it; the previous slot scales to 0 after scaleDownDelaySeconds.
import type { Action } from './actions.js';
import { aborted, candidateOf, checkFailure, compactRollout, flip, openRollout, servingSlot, stableTemplate, startStep, wakeIn } from './moves.js';
import type { Ctx, Decision } from './types.js';

const previewSize = (ctx: Ctx) => Math.min(ctx.total, ctx.ms.spec.strategy.blueGreen?.previewReplicas ?? ctx.total);

/** Before the switch, with the preview's pods of its own revision Ready; else why not. */
export function blueGreenPromotable(ctx: Ctx): true | string {
  const sameRollout = ctx.prev.desiredRevision === ctx.desiredRevision;
  if ((sameRollout ? ctx.rollout.step ?? 0 : 0) !== 0) return 'is not paused';
  return ready(ctx, previewSize(ctx)) ? true : 'has no Ready preview yet';
}

function ready(ctx: Ctx, size: number): boolean {
  const cand = candidateOf(ctx);
  return !!cand && cand.settled && cand.readyReplicas >= size && cand.replicas >= size;
}

export function blueGreen(ctx: Ctx, act: Action | undefined): Decision {
  const { decision: d, ms, now, total } = ctx;
  const bg = ms.spec.strategy.blueGreen ?? { scaleDownDelaySeconds: 30 };
  const opened = openRollout(ctx, 1);
  if ('plan' in opened) return opened;
  const { r, active, cand, candObs, candReady, held } = opened;
  const preview = previewSize(ctx);
  if (act === 'promote' || act === 'promote-full') { r.step = 1; startStep(r, now); }
  let waiting: string | undefined;

  if (checkFailure(ctx, r.step === 1 ? total : preview)) return aborted(ctx);
  if (r.step === 0 && ready(ctx, preview)) {
    if (held) waiting = held;
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
  if (r.step === 1 && ready(ctx, total) && !held) return flip(ctx, bg.scaleDownDelaySeconds);
  if (held) waiting = held;
  const size = r.step === 1 ? total : preview;
  // Held: the candidate never grows, and a revision that has no pods yet gets none.
  const serving = servingSlot(ctx);
  // Held: the candidate never grows, and a revision that has no pods yet gets none. While `<name>`
  // still sends it traffic (switched from a canary), it keeps the pods that serve.
  const servingThere = serving !== active ? Math.min(candObs?.replicas ?? 0, candObs?.servingReplicas ?? 0) : 0;
  const candSize = Math.max(held ? Math.min(size, candObs?.replicas ?? 0) : size, servingThere);
  d.plan = {
    ...d.plan,
    slots: { [active]: { replicas: total, ...stableTemplate(ctx) }, [cand]: held && !candObs ? { replicas: 0 } : { replicas: candSize, revision: ctx.desiredRevision } },
    serviceSlot: serving,
    previewSlot: cand,
    weight: r.step === 1 ? 100 : 0,
  };
  r.steps = 1;
  r.weight = 0;
  r.desiredWeight = r.step === 1 ? 100 : 0;
  r.message = waiting ?? (r.step === 1 ? `promoting: ${candReady}/${total} pods ready before the switch`
    : r.pausedUntil ? `preview ready; promoting at ${r.pausedUntil}` : `preview: ${candReady}/${preview} pods ready`);
  d.waiting = waiting;
  d.inProgress = true;
  d.rollout = compactRollout(r);
  return d;
}
