// Actions a person asks for through `kubectl coxswain` (the coxswain.dev/action annotation):
// each is carried out once, judged against the rollout's state, and answered in a plain sentence
// recorded in status.lastAction.
import { otherSlot } from '../api/names.js';
import type { KubeEvent, MicroserviceStatus } from '../api/schema.js';
import type { Ctx } from './types.js';

export const ACTIONS = ['promote', 'promote-full', 'abort', 'retry', 'undo', 'pause', 'resume', 'restart'] as const;
export type Action = (typeof ACTIONS)[number];

/**
 * Carries out an action once, recording what came of it. Refusals are plain sentences.
 * `allowed` narrows the actions a strategy takes; `promotable` says whether the rollout waits
 * where a promote goes on (the strategy judges it from its own steps and pods); `unrunnable`, why
 * the revision cannot be promoted at all, by either promote (its own objects were refused).
 */
export function takeAction(ctx: Ctx, { allowed = ACTIONS, promotable = 'is not paused', unrunnable }: { allowed?: readonly Action[]; promotable?: true | string; unrunnable?: string } = {}): Action | undefined {
  const { action, prev, now, ms, decision: d } = ctx;
  if (!action || action.id === prev.lastAction?.id) return undefined;
  const name = ms.metadata.name;
  const reply = (ok: boolean, message: string) => {
    d.lastAction = { id: action.id, action: action.action, at: now.toISOString(), ok, message };
    d.events.push({ type: ok ? 'Normal' : 'Warning', reason: ok ? 'ActionDone' : 'ActionRefused', message: `${action.action}: ${message}` });
  };
  const act = action.action as Action;
  if (!ACTIONS.includes(act)) {
    reply(false, `unknown action; use one of ${ACTIONS.join(', ')}`);
    return undefined;
  }
  if (!allowed.includes(act)) {
    reply(false, ms.spec.strategy.type === 'RollingUpdate'
      ? `${name} uses RollingUpdate, which has no steps to ${act}` : `${name} has no rollout in progress; nothing to ${act}`);
    return undefined;
  }
  const r = ctx.rollout;
  const stable = d.stableRevision;
  const rolling = !!stable && ctx.desiredRevision !== stable && r.abortedRevision !== ctx.desiredRevision;
  const isAborted = !!stable && ctx.desiredRevision !== stable && r.abortedRevision === ctx.desiredRevision;
  switch (act) {
    case 'restart':
      d.restartedAt = now.toISOString();
      reply(true, `restarting the pods of revision ${ctx.desiredRevision}`);
      return act;
    case 'pause':
      if (r.paused) { reply(false, `${name} is already paused`); return undefined; }
      r.paused = true;
      reply(true, `${name} is paused; kubectl coxswain resume ${name} continues it`);
      return act;
    case 'resume':
      if (!r.paused) { reply(false, `${name} is not paused by kubectl coxswain pause; nothing to resume`); return undefined; }
      delete r.paused;
      reply(true, `${name} resumes`);
      return act;
    case 'abort':
      if (!rolling) { reply(false, `${name} has no rollout in progress; nothing to abort`); return undefined; }
      ctx.rollout = { abortedRevision: ctx.desiredRevision, message: 'aborted by kubectl coxswain abort', paused: r.paused };
      reply(true, `aborted the rollout of revision ${ctx.desiredRevision}; revision ${stable} serves`);
      return act;
    case 'retry':
      if (!isAborted) { reply(false, `${name} has no aborted rollout; nothing to retry`); return undefined; }
      ctx.rollout = { paused: r.paused };
      reply(true, `retrying the rollout of revision ${ctx.desiredRevision} from step 0`);
      return act;
    case 'undo': {
      if (action.arg !== undefined) return undoTo(ctx, action.arg, reply);
      if (rolling) {
        ctx.rollout = { abortedRevision: ctx.desiredRevision, message: 'rolled back by kubectl coxswain undo', paused: r.paused };
        reply(true, `aborted the rollout of revision ${ctx.desiredRevision}; revision ${stable} serves`);
        return act;
      }
      // Only to the revision that was stable before the last promotion, and only while the idle
      // slot still holds it (not, say, an abandoned candidate that never became Ready).
      const idle = otherSlot(d.activeSlot);
      const previous = r.previousRevision;
      if (!previous || ctx.observed[idle]?.revision !== previous || previous === ctx.desiredRevision || isAborted) {
        reply(false, `${name} has no previous revision to go back to`);
        return undefined;
      }
      d.activeSlot = idle;
      d.stableRevision = previous;
      ctx.rollout = { abortedRevision: ctx.desiredRevision, message: 'rolled back by kubectl coxswain undo', paused: r.paused };
      reply(true, `rolled back to revision ${previous}; revision ${ctx.desiredRevision} is held back until the spec changes or a retry`);
      return act;
    }
    case 'promote':
    case 'promote-full': {
      if (!rolling) { reply(false, `${name} has no rollout in progress; nothing to promote`); return undefined; }
      if (unrunnable) { reply(false, `${unrunnable}; nothing to promote`); return undefined; }
      if (act === 'promote' && promotable !== true) { reply(false, `${name} ${promotable}; nothing to promote`); return undefined; }
      const switching = ms.spec.strategy.type === 'BlueGreen';
      reply(true, switching ? `promoting revision ${ctx.desiredRevision}: the Service switches once it has ${ctx.total} Ready pods`
        : act === 'promote' ? 'promoted past the pause' : `promoting revision ${ctx.desiredRevision} to 100% now`);
      return act;
    }
  }
}

/**
 * Undo to a kept revision: it becomes the stable one, and the stable slot is rebuilt from it
 * (the idle slot's, by a flip, when that slot holds it); the spec's revision is held back.
 */
function undoTo(ctx: Ctx, revision: string, reply: (ok: boolean, message: string) => void): Action | undefined {
  const { decision: d, ms } = ctx;
  const name = ms.metadata.name;
  if (!ctx.kept.has(revision)) { reply(false, `${name} keeps no revision ${revision}; kubectl coxswain history ${name} lists them`); return undefined; }
  if (revision === d.stableRevision) { reply(false, `revision ${revision} already serves`); return undefined; }
  const idle = otherSlot(d.activeSlot);
  if (ctx.observed[idle]?.revision === revision) d.activeSlot = idle;
  ctx.rollout = { previousRevision: d.stableRevision, paused: ctx.rollout.paused };
  d.stableRevision = revision;
  if (revision !== ctx.desiredRevision) ctx.rollout.abortedRevision = ctx.desiredRevision;
  ctx.rollout.message = `rolled back to revision ${revision} by kubectl coxswain undo`;
  reply(true, revision === ctx.desiredRevision ? `rolling back to revision ${revision}, the spec's own`
    : `rolled back to revision ${revision}; revision ${ctx.desiredRevision} is held back until the spec changes or a retry`);
  return 'undo';
}

/**
 * An action while the Microservice is blocked (the Gateway API missing): none of its objects is
 * written, but the person is answered. pause, resume and abort only change status, so they are
 * recorded and hold from the next pass that can write (an aborted candidate serves nothing
 * meanwhile: `<name>` selects the stable slot, and the route went with its CRD); the others need
 * the objects and are refused, saying why.
 */
export function answerBlocked(status: MicroserviceStatus, action: { action: string; id: string }, desired: string, name: string, why: string, now: Date): { status: MicroserviceStatus; events: KubeEvent[] } {
  if (action.id === status.lastAction?.id) return { status, events: [] };
  const r = { ...status.rollout };
  const stable = status.stableRevision;
  const rolling = !!stable && desired !== stable && r.abortedRevision !== desired;
  const answer = (ok: boolean, message: string, rollout = status.rollout) => ({
    status: { ...status, rollout, lastAction: { id: action.id, action: action.action, at: now.toISOString(), ok, message } },
    events: [{ type: ok ? 'Normal' : 'Warning', reason: ok ? 'ActionDone' : 'ActionRefused', message: `${action.action}: ${message}` } as KubeEvent],
  });
  switch (action.action) {
    case 'pause':
      return r.paused ? answer(false, `${name} is already paused`) : answer(true, `${name} is paused; kubectl coxswain resume ${name} continues it`, { ...r, paused: true });
    case 'resume':
      if (!r.paused) return answer(false, `${name} is not paused by kubectl coxswain pause; nothing to resume`);
      delete r.paused;
      return answer(true, `${name} resumes once it is no longer blocked (${why})`, Object.keys(r).length > 0 ? r : undefined);
    case 'abort':
      if (!rolling) return answer(false, `${name} has no rollout in progress; nothing to abort`);
      return answer(true, `aborted the rollout of revision ${desired}; revision ${stable} serves, and the candidate scales down once ${name} is no longer blocked (${why})`,
        { abortedRevision: desired, message: 'aborted by kubectl coxswain abort', ...(r.paused ? { paused: true } : {}), ...(r.previousRevision ? { previousRevision: r.previousRevision } : {}) });
    default:
      return answer(false, ACTIONS.includes(action.action as Action) ? `${name} is blocked (${why}); ${action.action} needs it to write its objects` : `unknown action; use one of ${ACTIONS.join(', ')}`);
  }
}
