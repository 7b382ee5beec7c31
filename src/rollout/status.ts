// Pure status: what the Microservice reports, from what was observed and decided.
// kstatus polarity: Ready is normal-true; Reconciling and Stalled are abnormal-true. All three
// are always present with a reason and a message, so `kubectl wait` and Argo CD never guess.
import type { Condition, KubeEvent, Microservice, MicroserviceStatus, Phase, Slot } from '../api/schema.js';
import { baseLabels, selectorString, SLOTS, stableJSON } from '../api/names.js';
import type { ObservedSlots, Problem } from './types.js';

export type { Problem } from './types.js';

/** What the rollout engine decided, as far as status tells it. */
export interface RolloutOutcome {
  stableRevision?: string;
  rollout?: MicroserviceStatus['rollout'];
  waiting?: string;
  lastAction?: MicroserviceStatus['lastAction'];
  restartedAt?: string;
  /** The slot `<name>` selects (blue-green); its pods alone count as serving. */
  plan?: { serviceSlot?: Slot };
  traffic?: MicroserviceStatus['traffic'];
}

export interface StatusInput {
  ms: Microservice;
  desiredRevision: string;
  activeSlot: Slot;
  observed: ObservedSlots;
  problems: Problem[];
  now: Date;
  outcome: RolloutOutcome;
  /** A takeover (spec.adopt) not finished yet, said as its progress: until it is, nothing is done. */
  adopting?: string;
}

/**
 * The active slot runs the desired revision at full size, every pod Ready, none left over
 * (unless the previous slot is only waiting out its blue-green scale-down delay).
 */
export function converged(ms: Microservice, desiredRevision: string, activeSlot: Slot, observed: ObservedSlots, draining = false): boolean {
  const want = ms.spec.replicas;
  const slot = observed[activeSlot];
  if (!slot || !slot.settled || slot.revision !== desiredRevision) return false;
  const others = draining || SLOTS.filter((s) => s !== activeSlot).every((s) => (observed[s]?.currentReplicas ?? 0) === 0);
  return others && slot.replicas === want && slot.currentReplicas === want && slot.updatedReplicas === want
    && slot.readyReplicas === want && slot.availableReplicas === want;
}

function condition(type: string, status: boolean, reason: string, message: string, generation: number | undefined, now: Date, prev?: Condition[]): Condition {
  const s = status ? 'True' : 'False';
  const before = prev?.find((c) => c.type === type);
  const lastTransitionTime = before && before.status === s ? before.lastTransitionTime : now.toISOString();
  return { type, status: s, reason, message, lastTransitionTime, observedGeneration: generation };
}

/** Where the Microservice stands, which decides its conditions and phase. */
type State = { kind: 'stalled'; problem: Problem } | { kind: 'done' } | { kind: 'paused'; waiting: string } | { kind: 'progressing' };
type ConditionRow = [type: 'Ready' | 'Reconciling' | 'Stalled', status: boolean, reason: string, message: string];

/** The three kstatus conditions and the phase of each state, in one table. */
function viewOf(state: State, at: { desiredRevision: string; progress: string; ready: string; hasStable: boolean }): { conditions: ConditionRow[]; phase: Phase } {
  const noProblem: ConditionRow = ['Stalled', false, 'NoProblems', 'no problems'];
  const rollingOut = `rolling out revision ${at.desiredRevision}: ${at.progress}`;
  switch (state.kind) {
    case 'stalled':
      return { phase: 'Degraded', conditions: [
        ['Ready', false, state.problem.reason, state.problem.message],
        ['Reconciling', false, 'Stalled', 'blocked until the problem is fixed'],
        ['Stalled', true, state.problem.reason, state.problem.message],
      ] };
    case 'done':
      return { phase: 'Healthy', conditions: [
        ['Ready', true, 'Available', `revision ${at.desiredRevision} is available: ${at.ready} pods ready`],
        ['Reconciling', false, 'Reconciled', 'up to date'],
        noProblem,
      ] };
    case 'paused':
      return { phase: 'Paused', conditions: [
        ['Ready', false, 'Paused', at.progress.includes(state.waiting) ? at.progress : `${state.waiting}; ${at.progress}`],
        ['Reconciling', false, 'Paused', state.waiting],
        noProblem,
      ] };
    case 'progressing':
      return { phase: at.hasStable ? 'Progressing' : 'Pending', conditions: [
        ['Ready', false, 'Progressing', rollingOut],
        ['Reconciling', true, 'Progressing', rollingOut],
        noProblem,
      ] };
  }
}

export function computeStatus({ ms, desiredRevision, activeSlot, observed, problems, now, outcome, adopting }: StatusInput): MicroserviceStatus {
  const prev = ms.status ?? {};
  const generation = ms.metadata.generation;
  const want = ms.spec.replicas;
  // A revision held back (aborted, or undone to another) is never done, however whole its slot
  // still is in this pass's observation.
  const done = converged(ms, desiredRevision, activeSlot, observed, !!outcome.rollout?.scaleDownAt) && outcome.rollout?.abortedRevision !== desiredRevision;
  const slots = SLOTS.map((s) => observed[s]).filter((o) => o !== undefined);
  const sum = (f: (o: NonNullable<ObservedSlots[Slot]>) => number) => slots.reduce((n, o) => n + f(o), 0);
  const replicas = sum((o) => o.currentReplicas);
  const readyReplicas = sum((o) => o.servingReplicas);
  const updatedReplicas = slots.filter((o) => o.revision === desiredRevision).reduce((n, o) => n + o.updatedReplicas, 0);
  const active = observed[activeSlot];
  const serviceSlot = outcome.plan?.serviceSlot;
  const serving = serviceSlot ? observed[serviceSlot]?.servingReplicas ?? 0 : readyReplicas;

  const deadline = active?.deadlineExceeded && !done
    ? [{ reason: 'ProgressDeadlineExceeded', message: `revision ${desiredRevision} did not become ready within ${ms.spec.strategy.progressDeadlineSeconds}s` }]
    : [];
  const stalled = [...problems, ...deadline][0];
  const waiting = outcome.waiting;
  const progress = outcome.rollout?.message ?? adopting ?? `${active?.updatedReplicas ?? 0} of ${want} updated, ${readyReplicas} ready`;
  // A takeover under way is not done, though its revision is stable: the old workload still serves beside it.
  const state: State = stalled ? { kind: 'stalled', problem: stalled } : done && !adopting ? { kind: 'done' } : waiting ? { kind: 'paused', waiting } : { kind: 'progressing' };
  const stableRevision = done ? desiredRevision : outcome.stableRevision;
  const view = viewOf(state, { desiredRevision, progress, ready: `${readyReplicas}/${want}`, hasStable: !!stableRevision });
  const conditions = view.conditions.map(([type, status, reason, message]) => condition(type, status, reason, message, generation, now, prev.conditions));
  const phase = view.phase;
  const slotStatus: NonNullable<MicroserviceStatus['slots']> = {};
  for (const s of SLOTS) {
    const o = observed[s];
    if (o) slotStatus[s] = { revision: o.revision, image: o.image, replicas: o.currentReplicas, readyReplicas: o.readyReplicas };
  }
  return {
    observedGeneration: generation,
    phase,
    conditions,
    replicas,
    readyReplicas,
    updatedReplicas,
    availableReplicas: sum((o) => o.availableReplicas),
    ready: `${serving}/${want}`,
    selector: selectorString(baseLabels(ms.metadata.name)),
    stableRevision,
    desiredRevision,
    activeSlot,
    rollout: outcome.rollout,
    lastAction: outcome.lastAction,
    restartedAt: outcome.restartedAt,
    // An empty map is not sent: server-side apply reads `{}` as null, which the schema refuses.
    ...(Object.keys(slotStatus).length > 0 ? { slots: slotStatus } : {}),
    ...(outcome.traffic ? { traffic: outcome.traffic } : {}),
  };
}

/**
 * Whether `after` differs from `before` only in its counts of pods (replicas, Ready, weight) and
 * the words that give them: no revision, step, phase, clock, action or condition status. Such a
 * change may wait a moment and go with the next write (src/controller/core.ts, COUNTS_EVERY_MS).
 */
export function onlyCountsChanged(before: MicroserviceStatus | undefined, after: MicroserviceStatus): boolean {
  return before !== undefined && stableJSON(withoutCounts(before)) === stableJSON(withoutCounts(after));
}

function withoutCounts(s: MicroserviceStatus): MicroserviceStatus {
  const { replicas: _r, readyReplicas: _rr, updatedReplicas: _u, availableReplicas: _a, ready: _rd, ...rest } = s;
  const rollout = s.rollout && (({ weight: _w, message: _m, ...r }) => r)(s.rollout);
  const slots = s.slots && Object.fromEntries(Object.entries(s.slots).map(([slot, v]) => [slot, v && { revision: v.revision, image: v.image }]));
  return { ...rest, conditions: s.conditions?.map(({ message: _m, ...c }) => ({ ...c, message: '' })), ...(rollout ? { rollout } : {}), ...(slots ? { slots } : {}) };
}

/** Events a person should see for a change of status; none at steady state. */
export function statusEvents(before: MicroserviceStatus | undefined, after: MicroserviceStatus): KubeEvent[] {
  const events: KubeEvent[] = [];
  const stalled = (s?: MicroserviceStatus) => s?.conditions?.find((c) => c.type === 'Stalled' && c.status === 'True');
  const was = stalled(before);
  const is = stalled(after);
  if (is && (!was || was.reason !== is.reason || was.message !== is.message)) events.push({ type: 'Warning', reason: is.reason, message: is.message });
  // Only a revision replacing a live one is rolled out; the first goes straight to full size,
  // and its RolloutComplete says what a person needs.
  if (after.stableRevision && after.desiredRevision && after.desiredRevision !== before?.desiredRevision && after.desiredRevision !== after.stableRevision) {
    events.push({ type: 'Normal', reason: 'RolloutStarted', message: `rolling out revision ${after.desiredRevision}` });
  }
  if (after.stableRevision && after.stableRevision !== before?.stableRevision) {
    events.push({ type: 'Normal', reason: 'RolloutComplete', message: `revision ${after.stableRevision} is live with ${after.ready} pods ready` });
  }
  return events;
}

/**
 * Status for a Microservice whose spec cannot be acted on (it got past the CRD schema but not
 * ours, e.g. an older CRD): Stalled with every problem named; what was live stays as it was.
 */
export function invalidSpecStatus(prev: MicroserviceStatus | undefined, generation: number | undefined, problems: string[], now: Date): MicroserviceStatus {
  return blockedStatus(prev, generation, { reason: 'InvalidSpec', message: `invalid spec: ${problems.join('; ')}` }, now, 'the spec is fixed');
}

/** Status for a Microservice nothing can be done for until `until` (e.g. the spec is fixed): Stalled, what was live left as it was. */
export function blockedStatus(prev: MicroserviceStatus | undefined, generation: number | undefined, problem: Problem, now: Date, until: string): MicroserviceStatus {
  const conds = prev?.conditions;
  return {
    ...prev,
    observedGeneration: generation,
    phase: 'Degraded',
    conditions: [
      condition('Ready', false, problem.reason, problem.message, generation, now, conds),
      condition('Reconciling', false, 'Stalled', `blocked until ${until}`, generation, now, conds),
      condition('Stalled', true, problem.reason, problem.message, generation, now, conds),
    ],
  };
}
