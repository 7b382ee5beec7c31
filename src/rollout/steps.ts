// The table of canary step kinds. Each kind says how it reads, whether it sets the weight, whether
// a promote goes past it, and how it progresses: done, or waiting (for pods, for time, for a
// person). Adding a kind is one entry here and its tests; the canary strategy walks the steps
// through this table and knows no kind by name.
import type { MicroserviceSpec } from '../api/schema.js';
import type { RolloutStatus } from './types.js';
import type { RunOutcome, RunSpec } from '../analysis/types.js';
import { candidateFor, durationMs } from './weights.js';

export type Step = NonNullable<MicroserviceSpec['strategy']['canary']>['steps'][number];

/** What a step sees while it runs. */
export interface StepState {
  /** The candidate has the Ready pods of its own revision that the weight in force asks, and the stable slot has shrunk to match. */
  reached: boolean;
  now: Date;
  rollout: RolloutStatus;
  /** `kubectl coxswain promote <name>`, for the sentence that says how to go on. */
  name: string;
  index: number;
  /** Advances the analysis run that gates this step (src/analysis/evaluate.ts). */
  analyze(spec: RunSpec): Pick<RunOutcome, 'verdict' | 'message'>;
}

export type Progress =
  | { done: true }
  /**
   * Not done. `waiting`: for a person (phase Paused); `until`: come back then; `message`: what it
   * waits for; `abort`: the rollout is aborted, and why.
   */
  | { done: false; waiting?: string; until?: Date; message?: string; abort?: string };

export interface StepKind<K extends keyof Step> {
  key: K;
  describe(step: Step): string;
  /** The weight this step sets, if it sets one. */
  weight?(step: Step): number;
  /** A promote goes past this step. */
  promotable: boolean;
  progress(step: Step, st: StepState): Progress;
}

const setWeight: StepKind<'setWeight'> = {
  key: 'setWeight',
  describe: (s) => `setWeight ${s.setWeight}`,
  weight: (s) => s.setWeight!,
  promotable: false,
  progress: (_s, st) => (st.reached ? { done: true } : { done: false }),
};

const pause: StepKind<'pause'> = {
  key: 'pause',
  describe: (s) => (s.pause?.duration ? `pause ${s.pause.duration}` : 'pause until promoted'),
  promotable: true,
  progress: (s, st) => {
    // A pause holds the weight before it: it only counts while the candidate serves that weight.
    if (!st.reached) return { done: false };
    if (!s.pause?.duration) {
      const waiting = `waiting for promotion at step ${st.index}: kubectl coxswain promote ${st.name}`;
      return { done: false, waiting, message: waiting };
    }
    const until = st.rollout.pausedUntil ? new Date(st.rollout.pausedUntil) : new Date(st.now.getTime() + durationMs(s.pause.duration));
    return st.now >= until ? { done: true } : { done: false, until };
  },
};

const setCanaryScale: StepKind<'setCanaryScale'> = {
  key: 'setCanaryScale',
  describe: ({ setCanaryScale: c }) => `setCanaryScale ${c?.replicas !== undefined ? `${c.replicas} pod(s)` : c?.weight !== undefined ? `${c.weight}%` : 'matchTrafficWeight'}`,
  promotable: false,
  // Done once the candidate has the pods it asks (and, with a route, the route is accepted).
  progress: (_s, st) => (st.reached ? { done: true } : { done: false }),
};

const setHeaderRoute: StepKind<'setHeaderRoute'> = {
  key: 'setHeaderRoute',
  describe: ({ setHeaderRoute: h }) => (h?.match.length
    ? `setHeaderRoute ${h.name}: ${h.match.map((m) => `${m.header}${m.type === 'Exact' ? '=' : '~'}${m.value}`).join(', ')}`
    : `setHeaderRoute ${h?.name} removed`),
  promotable: false,
  // Done once the route with it is accepted.
  progress: (_s, st) => (st.reached ? { done: true } : { done: false }),
};

const analysis: StepKind<'analysis'> = {
  key: 'analysis',
  describe: (s) => `analysis ${s.analysis!.metrics.join(', ')}${s.analysis!.duration ? ` for ${s.analysis!.duration}` : ''}${s.analysis!.count ? ` x${s.analysis!.count}` : ''}`,
  // A person may go past it, as past a pause: promote takes the responsibility the analysis had.
  promotable: true,
  progress: (s, st) => {
    // Like a pause, it judges the weight before it: only while the candidate serves that weight.
    if (!st.reached) return { done: false };
    const a = s.analysis!;
    const r = st.analyze({ id: `step-${st.index}`, metrics: a.metrics, duration: a.duration, count: a.count, gating: true });
    if (r.verdict === 'Passed') return { done: true };
    if (r.verdict === 'Failed') return { done: false, abort: r.message };
    return { done: false, message: r.message };
  },
};

export const STEP_KINDS = [setWeight, pause, analysis, setCanaryScale, setHeaderRoute] as const;

/** The kind of a step: the one field it sets. The schema guarantees there is exactly one. */
export function kindOf(step: Step): StepKind<keyof Step> {
  return STEP_KINDS.find((k) => step[k.key] !== undefined) ?? pause;
}

/** The weight in force at step i: the last weight set at or before it (0 before any); 100 past the last step. */
export function weightAt(steps: readonly Step[], i: number): number {
  if (i >= steps.length) return 100;
  let w = 0;
  for (let j = 0; j <= i; j++) {
    const s = steps[j]!;
    const kind = kindOf(s);
    if (kind.weight) w = kind.weight(s);
  }
  return w;
}

/** The target split of every step at a total, for `kubectl coxswain get` and the docs. */
export function stepPlan(spec: MicroserviceSpec): Array<{ step: number; what: string; weight: number; stable: number; candidate: number }> {
  const steps = spec.strategy.canary?.steps ?? [];
  const total = spec.replicas;
  const rows = steps.map((s, i) => {
    const weight = weightAt(steps, i);
    const candidate = candidateFor(total, weight);
    return { step: i, what: kindOf(s).describe(s), weight, stable: total - candidate, candidate };
  });
  rows.push({ step: steps.length, what: 'promote', weight: 100, stable: 0, candidate: total });
  return rows;
}
