// A taken-over Service that another field manager keeps rewriting (an Argo CD self-heal or Helm
// upgrade of the chart still in Git, a person's kubectl edit): put back, but each time later
// (30 s, 1, 2, 4, 8 minutes, then every 10), and reported meanwhile. Two managers that both
// correct drift at once would otherwise write the Service back and forth for ever; with the wait
// doubling, Coxswain's share of that is bounded, and once the other manager stops (the Service
// removed from Git) the next put-back sticks and the report clears by itself.
import type { AdoptionStatus } from '../api/schema.js';
import type { KubeObject } from '../kube/object.js';
import type { Problem } from '../rollout/types.js';
import { MANAGER } from '../api/names.js';

export type ServiceRewrites = NonNullable<AdoptionStatus['serviceRewrites']>;

const FIRST_WAIT_MS = 30_000;
export const MAX_WAIT_MS = 600_000;

/** How long after its `count`th put-back Coxswain waits before the next one. */
export const waitAfter = (count: number): number => Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** Math.max(0, count - 1));

interface Entry { manager?: string; operation?: string; subresource?: string; time?: string }

/**
 * The field manager that wrote the Service after Coxswain last did, read from managedFields: the
 * latest writer of its spec or metadata other than Coxswain, no older than Coxswain's own entry.
 * Undefined when Coxswain never wrote it (the first takeover) or wrote it last. An entry without
 * a time is taken as the latest; one that managedFields keeps under no name is 'unknown'.
 */
export function rewriter(svc: KubeObject | undefined): string | undefined {
  const entries = ((svc?.metadata as { managedFields?: Entry[] } | undefined)?.managedFields ?? []).filter((e) => !e.subresource);
  const time = (e: Entry) => e.time ?? '\uffff';
  const ours = entries.filter((e) => e.manager === MANAGER).map(time).sort().at(-1);
  if (ours === undefined) return undefined;
  const after = entries.filter((e) => e.manager !== MANAGER && time(e) >= ours).sort((a, b) => time(a).localeCompare(time(b)));
  return after.length > 0 ? after.at(-1)!.manager ?? 'unknown' : undefined;
}

export interface ServiceGuardInput {
  /** The Service spec.adopt names, as read (managedFields kept). */
  service: KubeObject | undefined;
  /** Whether the engine has a write for it this pass (it differs from what Coxswain applies). */
  wanted: boolean;
  previous: ServiceRewrites | undefined;
  now: Date;
}

export interface ServiceGuard {
  /** False: the engine's write of the Service is held back this pass. */
  write: boolean;
  /** What status.adoption.serviceRewrites keeps; undefined once the Service has been quiet for the longest wait. */
  record?: ServiceRewrites;
  problem?: Problem;
  /** When the next put-back is due, or the report or the record runs out. */
  requeueAfterMs?: number;
}

export function guardService({ service, wanted, previous, now }: ServiceGuardInput): ServiceGuard {
  const who = wanted ? rewriter(service) : undefined;
  // A time that does not parse (status is writable by hand) counts as long ago.
  const last = previous ? Date.parse(previous.lastPutBack) : NaN;
  const since = Number.isFinite(last) ? now.getTime() - last : Infinity;
  const name = service?.metadata.name ?? '';
  if (!who) {
    // As Coxswain applied it, or a change of Coxswain's own to make: written as usual. The
    // record stays until the Service has been left alone for the longest wait, so a manager
    // that rewrites it every few minutes still finds Coxswain waiting longer each time.
    if (!previous || since >= MAX_WAIT_MS) return { write: true };
    const reported = reportedAfterPutBack(previous, since);
    return {
      write: true, record: previous, requeueAfterMs: (reported ? FIRST_WAIT_MS : MAX_WAIT_MS) - since,
      ...(reported ? { problem: report(name, previous) } : {}),
    };
  }
  const count = previous?.count ?? 0;
  if (!previous || since >= waitAfter(count)) {
    // Due: put back once. The first time unreported (a one-off edit is plain drift).
    const record = { manager: who, count: count + 1, lastPutBack: now.toISOString() };
    return { write: true, record, requeueAfterMs: FIRST_WAIT_MS, ...(reportedAfterPutBack(record, 0) ? { problem: report(name, record) } : {}) };
  }
  const record = { ...previous, manager: who };
  return { write: false, record, problem: report(name, record), requeueAfterMs: waitAfter(count) - since };
}

/**
 * Reported from the second put-back on, for the first wait after it: a manager that keeps
 * rewriting rewrites again within it (held back: reported), one that has stopped lets it clear.
 */
const reportedAfterPutBack = (r: ServiceRewrites, since: number) => r.count >= 2 && since < FIRST_WAIT_MS;

function report(name: string, r: ServiceRewrites): Problem {
  const next = new Date(Date.parse(r.lastPutBack) + waitAfter(r.count)).toISOString();
  return {
    reason: 'AdoptedServiceRewritten',
    message: `service/${name} was rewritten by ${r.manager} after Coxswain took it over (put back ${r.count} time${r.count === 1 ? '' : 's'}): `
      + `remove it from Git (or from its Helm release) so that only Coxswain writes it. Coxswain puts it back once more no sooner than ${next}, `
      + `and waits twice as long each time it is rewritten again, so it does not loop against ${r.manager}; the Microservice's pods keep serving`,
  };
}
