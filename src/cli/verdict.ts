// `kubectl coxswain status`, pure: what one version of a Microservice says about the release a CI
// job waits for, as an exit code. Nothing is decided from a status that has not caught up with
// the generation read at the start (argo-rollouts #1180, #771 are what goes wrong otherwise), and
// the release is the desiredRevision seen then (or the one asked for), so a later edit never
// passes for it.
import type { MicroserviceObject } from '../api/schema.js';

/** The exit codes, as DESIGN.md ("Operating it") names them. */
export const EXIT = { done: 0, error: 1, failed: 2, waiting: 3, timedOut: 4, superseded: 5, progressing: 6 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** What counts as done: the release complete, or it waiting at a pause, or past step N. */
export type Until = { kind: 'complete' } | { kind: 'paused' } | { kind: 'step'; step: number };

export function parseUntil(text: string | undefined): Until | undefined {
  if (text === undefined || text === 'complete') return { kind: 'complete' };
  if (text === 'paused') return { kind: 'paused' };
  const m = /^step=(\d+)$/.exec(text);
  return m ? { kind: 'step', step: Number(m[1]) } : undefined;
}

/** What the job waits for: the generation read at the start, and the revision it pins. */
export interface Target {
  generation: number;
  /** --revision, or the desiredRevision once status has caught up with `generation`. */
  revision?: string;
}

export interface Verdict {
  /** A final code, or progressing (6) while there is more to wait for. */
  code: ExitCode;
  /** The revision pinned, once known. */
  revision?: string;
  /** One line for the log: phase, step, weight, message. */
  line: string;
}

const condition = (obj: MicroserviceObject, type: string) => obj.status?.conditions?.find((c) => c.type === type);

/** The line a change prints: phase, step i/n, weight served/desired, and what status says. */
export function describe(obj: MicroserviceObject): string {
  const s = obj.status ?? {};
  const r = s.rollout;
  const parts = [`${obj.metadata.namespace ?? ''}/${obj.metadata.name}`, s.phase ?? 'Pending'];
  if (r?.step !== undefined && r.steps !== undefined) parts.push(`step ${r.step}/${r.steps}`);
  if (r?.desiredWeight !== undefined) parts.push(`weight ${r.weight ?? 0}%/${r.desiredWeight}%`);
  const why = condition(obj, 'Stalled')?.status === 'True' ? condition(obj, 'Stalled')!.message : r?.message ?? condition(obj, 'Ready')?.message;
  return why ? `${parts.join(' ')}: ${why}` : parts.join(' ');
}

/**
 * The verdict on one version of the Microservice. Progressing (6) until status has observed the
 * generation the job started from; then failed (2) when Stalled or Degraded (whatever else holds),
 * superseded (5) when another revision became desired, done (0) when `until` holds, waiting (3) when only a person
 * can move it on (an indefinite pause, a blue-green preview, spec.paused) and `until` is
 * complete, else progressing. A deleted Microservice is a failure.
 */
export function verdict(obj: MicroserviceObject | undefined, target: Target, until: Until): Verdict {
  if (!obj) return { code: EXIT.failed, line: 'the Microservice was deleted' };
  const s = obj.status;
  const line = describe(obj);
  if (!s || (s.observedGeneration ?? -1) < target.generation) {
    return { code: EXIT.progressing, line: `${line} (waiting for the operator to observe generation ${target.generation})`, ...(target.revision ? { revision: target.revision } : {}) };
  }
  const revision = target.revision ?? s.desiredRevision;
  const pinned = revision ? { revision } : {};
  if (condition(obj, 'Stalled')?.status === 'True' || s.phase === 'Degraded') return { code: EXIT.failed, ...pinned, line };
  if (revision && s.desiredRevision && s.desiredRevision !== revision) {
    return { code: EXIT.superseded, ...pinned, line: `${line} (revision ${s.desiredRevision} is desired now, not ${revision})` };
  }
  const complete = s.phase === 'Healthy' && s.stableRevision === revision && condition(obj, 'Ready')?.status === 'True';
  const paused = s.phase === 'Paused';
  const r = s.rollout;
  const reached = until.kind === 'complete' ? complete
    : until.kind === 'paused' ? paused
    : complete || (r?.step !== undefined && r.step >= until.step && s.desiredRevision === revision);
  if (reached) return { code: EXIT.done, ...pinned, line };
  if (paused && until.kind === 'complete') return { code: EXIT.waiting, ...pinned, line };
  return { code: EXIT.progressing, ...pinned, line };
}

/** Of several Microservices' codes, the worst: an error, a failure, superseded, timed out, waiting, progressing, done. */
export function worst(codes: readonly ExitCode[]): ExitCode {
  const order: ExitCode[] = [EXIT.error, EXIT.failed, EXIT.superseded, EXIT.timedOut, EXIT.waiting, EXIT.progressing, EXIT.done];
  return order.find((c) => codes.includes(c)) ?? EXIT.done;
}

/** Final: nothing more to wait for. */
export const isFinal = (code: ExitCode) => code !== EXIT.progressing;
