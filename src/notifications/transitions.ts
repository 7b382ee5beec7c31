// Which rollout transitions one status write records, pure: (status before, status written) ->
// transitions. The leader alone writes status, and only when it changes, so a transition is seen
// by exactly the write that makes it: two replicas never both see it, and a new leader, whose
// "before" is the status its predecessor wrote, does not see it again.
import type { MicroserviceStatus } from '../api/schema.js';

export const TRANSITIONS = ['started', 'stepReached', 'paused', 'promoted', 'completed', 'aborted', 'analysisFailed', 'rolledBack'] as const;
export type TransitionType = (typeof TRANSITIONS)[number];

export const SEVERITIES = ['info', 'warning', 'error'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Paused waits for a person; the three failures want one now. */
export const SEVERITY: Record<TransitionType, Severity> = {
  started: 'info', stepReached: 'info', promoted: 'info', completed: 'info',
  paused: 'warning',
  aborted: 'error', analysisFailed: 'error', rolledBack: 'error',
};

export interface Transition {
  type: TransitionType;
  /** The revision it is about: the one rolled out, aborted, or (rolledBack) the one serving again. */
  revision: string;
  /** Why, in the operator's words: the abort's or analysis' message, the action's reply, the pause. */
  reason: string;
}

type Status = MicroserviceStatus | undefined;

const condition = (s: Status, type: string) => s?.conditions?.find((c) => c.type === type);
const stalledMessage = (s: Status) => {
  const c = condition(s, 'Stalled');
  return c?.status === 'True' ? c.message : undefined;
};
/** The action answered by this write (a new `lastAction`), if it was carried out. */
const answered = (before: Status, after: Status) =>
  after?.lastAction && after.lastAction.ok && after.lastAction.id !== before?.lastAction?.id ? after.lastAction : undefined;
/** Waiting for a person: paused with no time at which it goes on by itself. */
const waitingForPerson = (s: Status) => s?.phase === 'Paused' && !s.rollout?.pausedUntil;

/** The transitions `after` records over `before`, in the order they happened. */
export function transitionsOf(before: Status, after: MicroserviceStatus): Transition[] {
  const out: Transition[] = [];
  const revision = after.desiredRevision;
  if (!revision) return out;
  const action = answered(before, after);
  const r = after.rollout;
  const was = before?.desiredRevision === revision ? before.rollout : undefined;
  const add = (type: TransitionType, reason: string, rev = revision) => out.push({ type, revision: rev, reason });

  // Rolled back: by undo, or by the spec going back to the stable revision mid-rollout.
  if (action?.action === 'undo') {
    add('rolledBack', action.message, after.stableRevision ?? revision);
    return out;
  }
  if (before?.desiredRevision && before.desiredRevision !== before.stableRevision && revision === after.stableRevision && revision === before.stableRevision) {
    add('rolledBack', `the spec went back to the stable revision ${revision}; revision ${before.desiredRevision} is no longer rolled out`);
    return out;
  }

  const started = revision !== before?.desiredRevision && revision !== after.stableRevision;
  if (started) add('started', before?.stableRevision ? `revision ${revision} replaces ${before.stableRevision}` : `first revision ${revision}`);

  const failed = [r?.analysis?.step, r?.analysis?.background].filter((run) => run?.phase === 'Failed' && run.revision === revision);
  for (const run of failed) {
    const prior = [was?.analysis?.step, was?.analysis?.background].find((p) => p?.id === run!.id && p.revision === run!.revision);
    if (prior?.phase !== 'Failed') add('analysisFailed', run!.message ?? `analysis ${run!.id} failed`);
  }

  if (r?.abortedRevision === revision && was?.abortedRevision !== revision) {
    add('aborted', stalledMessage(after) ?? r.message ?? `revision ${revision} was aborted`);
    return out;
  }
  if (r?.abortedRevision === revision) return out;

  const step = r?.step;
  // Canary: the step past the last is the promotion to 100%; blue-green: step 1 is the switch.
  const isPromotion = (rollout: typeof r, at: number) => (rollout?.strategy === 'BlueGreen' ? at >= 1 : at === rollout?.steps);
  if (!started && step !== undefined && step !== was?.step) {
    const why = action ? action.message : r?.message ?? `step ${step}/${r?.steps ?? '?'}`;
    add(isPromotion(r, step) && !(was?.step !== undefined && isPromotion(was, was.step)) ? 'promoted' : 'stepReached', why);
  }
  if (waitingForPerson(after) && !(waitingForPerson(before) && before?.desiredRevision === revision)) {
    add('paused', condition(after, 'Reconciling')?.message ?? r?.message ?? 'waiting for promotion');
  }
  if (after.stableRevision === revision && before?.stableRevision !== revision) {
    // Promoted and done in one write (a blue-green switch, promote --full): the promotion is told too.
    if (was?.step !== undefined && !isPromotion(was, was.step) && step === undefined) add('promoted', action?.message ?? `revision ${revision} took all the traffic`);
    add('completed', `revision ${revision} is live with ${after.ready ?? '?'} pods ready`);
  }
  return out;
}
