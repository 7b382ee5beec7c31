// Model-based test of rollouts (issue 8): random sequences of what users and the cluster do, run
// through the simulated cluster (test/support/world.ts) and the very reconcile core production
// runs; after every instant, the invariants DESIGN.md states. A counterexample is shrunk and told
// as a story, one line per move.
//
//   npx vitest run test/model                             the default run
//   COXSWAIN_MODEL_RUNS=2000 npx vitest run test/model    a soak: that many sequences per invariant (default 150)
//   COXSWAIN_MODEL_SEED=123 ...                           replay a run (fast-check prints its seed)
//   COXSWAIN_MODEL_SECONDS=600 ...                         time per invariant (default 120; a soak 3600)
//   COXSWAIN_MODEL_WITHOUT=port,deleteChild ...            leave kinds of moves out (to find other failures)
//   COXSWAIN_MODEL_ONLY=capacity,ports ...                 check only these invariants
//   COXSWAIN_MODEL_REPLAY='<counterexample JSON>' ...      tell one counterexample with every reconcile
//   COXSWAIN_MODEL_TRACE=1 ...                              and with every instant in between
//
// Secrets (issue 17): the spec references the Secret orders-db with spec.trackSecrets, on an
// operator run with --track-secrets; the user rotates it (the secret move), which is a new revision.
//
// Analysis: the spec may gate canary steps, a blue-green promotion and its completion on one
// metric (error-rate); the world plays the application's metric per revision (good, bad, no
// data) and answers the measurements the engine asks for (test/support/world.ts).
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { afterAll, describe, it } from 'vitest';
import type { MicroserviceStatus } from '../../src/api/schema.js';
import { LABEL_REVISION, LABEL_SLOT, otherSlot, stableJSON } from '../../src/api/names.js';
import { validateMicroservice } from '../../src/api/validate.js';
import { isOlder } from '../../src/controller/freshness.js';
import type { KubeObject } from '../../src/kube/object.js';
import { renderDeployment, revisionOf } from '../../src/render/workload.js';
import { secretsInTemplate } from '../../src/secrets/refs.js';
import { trackSecrets } from '../../src/secrets/track.js';
import { secretLookup } from '../../src/secrets/watch.js';
import { clock, RevisionBook, snapshot } from '../support/story.js';
import { DENIED, EPOCH, fenceposts, isTerminating, podReady, resolveTargetPort, World, type Health, type Reconciled } from '../support/world.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type J = any;

// ---- the user's spec, as kept in Git ------------------------------------------------------------

type IntOrPercent = number | string;
/** An analysis that gates (a canary step, blue-green before or after the switch). */
type Gating = { metrics: string[]; duration?: string; count?: number };
type Step = { setWeight: number } | { pause: { duration?: string } } | { analysis: Gating };
type RollingLimits = { maxSurge: IntOrPercent; maxUnavailable: IntOrPercent };
type Strategy =
  | ({ type: 'RollingUpdate' } & RollingLimits)
  | ({ type: 'Canary'; steps: Step[]; rollingUpdate?: RollingLimits; analysis?: { metrics: string[]; startingStep: number } } & RollingLimits)
  | { type: 'BlueGreen'; autoPromotionSeconds?: number; previewReplicas?: number; scaleDownDelaySeconds: number; rollingUpdate?: RollingLimits;
    prePromotionAnalysis?: Gating; postPromotionAnalysis?: Gating };

interface SpecState {
  tag: string;
  replicas: number;
  config?: string;
  port: { name: string; number: number };
  metrics: boolean;
  strategy: Strategy;
  paused: boolean;
  /** spec.minReadySeconds: no part of the revision; pods count once Ready this long. */
  minReadySeconds?: number;
  /** What the user's Secret orders-db holds (not the spec's, but part of the revision: spec.trackSecrets). */
  secret: string;
}

/** The Secret the spec's env references, its values in the world, and what they look like anywhere (base64). */
const SECRET = 'orders-db';
const SECRET_VALUES = ['secret-s1', 'secret-s2', 'secret-s3'] as const;
const SECRET_B64 = SECRET_VALUES.map((v) => Buffer.from(v).toString('base64'));

const IMAGE = 'registry.example/orders';

/** The one metric the spec's analyses use: the candidate's error rate, measured every 10 s, at most 5%. */
const METRIC = 'error-rate';
const ERROR_RATE_METRIC = {
  name: METRIC, interval: '10s', max: 0.05,
  prometheus: { query: 'sum(rate(http_requests_total{revision="{{revision}}",code=~"5.."}[1m])) / sum(rate(http_requests_total{revision="{{revision}}"}[1m]))' },
};

/** The strategy runs an analysis somewhere (and so the spec defines the metric). */
function analyzes(st: Strategy): boolean {
  if (st.type === 'Canary') return !!st.analysis || st.steps.some((x) => 'analysis' in x);
  return st.type === 'BlueGreen' && !!(st.prePromotionAnalysis || st.postPromotionAnalysis);
}

function toSpec(s: SpecState): J {
  const st = s.strategy;
  const strategy: J = { type: st.type, progressDeadlineSeconds: 300 };
  if (st.type === 'RollingUpdate') strategy.rollingUpdate = { maxSurge: st.maxSurge, maxUnavailable: st.maxUnavailable };
  if (st.type === 'Canary') {
    strategy.canary = { steps: st.steps, maxSurge: st.maxSurge, maxUnavailable: st.maxUnavailable, ...(st.analysis ? { analysis: st.analysis } : {}) };
    if (st.rollingUpdate) strategy.rollingUpdate = st.rollingUpdate;
  }
  if (st.type === 'BlueGreen') {
    const { type: _t, rollingUpdate, ...bg } = st;
    strategy.blueGreen = bg;
    if (rollingUpdate) strategy.rollingUpdate = rollingUpdate;
  }
  return {
    image: `${IMAGE}:${s.tag}`,
    replicas: s.replicas,
    ports: [{ name: s.port.name, port: s.port.number, servicePort: 80 }, ...(s.metrics ? [{ name: 'metrics', port: 9100 }] : [])],
    ...(s.config ? { config: { data: { LOG_LEVEL: s.config } } } : {}),
    strategy,
    ...(analyzes(st) ? { analysis: { prometheus: { address: 'http://prometheus.monitoring:9090' }, metrics: [ERROR_RATE_METRIC] } } : {}),
    ...(s.paused ? { paused: true } : {}),
    ...(s.minReadySeconds ? { minReadySeconds: s.minReadySeconds } : {}),
    trackSecrets: true,
    env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: SECRET, key: 'password' } } }],
  };
}

function labelOf(s: SpecState): string {
  const extra = [
    s.config ? `cfg=${s.config}` : '',
    s.port.name !== 'http' || s.port.number !== 8080 ? `${s.port.name}:${s.port.number}` : '',
    s.metrics ? '+metrics' : '',
    s.secret !== SECRET_VALUES[0] ? `db=${s.secret.replace('secret-', '')}` : '',
  ].filter(Boolean);
  return `${s.tag}${extra.length ? `(${extra.join(',')})` : ''}`;
}

const describeGating = (g: Gating) => (g.duration ? `for ${g.duration}` : `x${g.count ?? 1}`);

function describeStep(x: Step): string {
  if ('setWeight' in x) return `${x.setWeight}%`;
  if ('analysis' in x) return `analysis ${describeGating(x.analysis)}`;
  return x.pause.duration ? `pause ${x.pause.duration}` : 'pause';
}

function describeStrategy(st: Strategy): string {
  if (st.type === 'RollingUpdate') return `RollingUpdate(surge ${st.maxSurge}, unavailable ${st.maxUnavailable})`;
  const own = st.rollingUpdate ? `, slot rolling ${st.rollingUpdate.maxSurge}/${st.rollingUpdate.maxUnavailable}` : '';
  if (st.type === 'Canary') {
    const bg = st.analysis ? `, background analysis from step ${st.analysis.startingStep}` : '';
    return `Canary[${st.steps.map(describeStep).join(', ')}](surge ${st.maxSurge}, unavailable ${st.maxUnavailable}${own}${bg})`;
  }
  const pre = st.prePromotionAnalysis ? `, pre-promotion analysis ${describeGating(st.prePromotionAnalysis)}` : '';
  const post = st.postPromotionAnalysis ? `, post-promotion analysis ${describeGating(st.postPromotionAnalysis)}` : '';
  return `BlueGreen(${st.autoPromotionSeconds !== undefined ? `auto ${st.autoPromotionSeconds}s` : 'manual'}${st.previewReplicas ? `, preview ${st.previewReplicas}` : ''}, delay ${st.scaleDownDelaySeconds}s${own}${pre}${post})`;
}

// ---- moves ----------------------------------------------------------------------------------------

const ACTIONS = ['promote', 'promote-full', 'abort', 'retry', 'undo', 'pause', 'resume', 'restart'] as const;
const CHILDREN = ['stable-slot', 'candidate-slot', 'service', 'preview', 'configmap', 'networkpolicy'] as const;

type Move =
  | { kind: 'image'; tag: string }
  | { kind: 'revert'; back: number }
  | { kind: 'config'; value?: string }
  | { kind: 'refusedConfig'; which: keyof typeof DENIED }
  | { kind: 'port'; name: string; number: number }
  | { kind: 'metrics'; on: boolean }
  | { kind: 'scale'; replicas: number }
  | { kind: 'strategy'; strategy: Strategy }
  | { kind: 'steps'; steps: Step[] }
  | { kind: 'paused'; paused: boolean }
  | { kind: 'minReady'; seconds: number }
  | { kind: 'secret'; value: string }
  | { kind: 'action'; action: (typeof ACTIONS)[number] }
  | { kind: 'deleteChild'; which: (typeof CHILDREN)[number] }
  | { kind: 'editStable'; tag: string }
  | { kind: 'restart'; crashAfterWrites?: number }
  | { kind: 'lag'; seconds: number; maxMs: number }
  | { kind: 'badness'; health: Health }
  | { kind: 'pauseFor'; seconds: number; via: 'spec' | 'action'; health: Health; measured: boolean }
  | { kind: 'wait'; seconds: number };

const healthWords: Record<Health, string> = { good: 'good', bad: 'bad', nodata: 'silent (no data)' };

function describeMove(m: Move): string {
  switch (m.kind) {
    case 'image': return `image ${m.tag}`;
    case 'revert': return `git revert: image as ${m.back} change(s) ago`;
    case 'config': return m.value ? `config LOG_LEVEL=${m.value}` : 'config removed';
    case 'refusedConfig': return `config LOG_LEVEL=${DENIED[m.which]}, which the API server refuses in a ${m.which}`;
    case 'port': return `port renamed/renumbered to ${m.name}:${m.number}`;
    case 'metrics': return m.on ? 'port metrics:9100 added' : 'port metrics removed';
    case 'scale': return `scale to ${m.replicas}`;
    case 'strategy': return `strategy ${describeStrategy(m.strategy)}`;
    case 'steps': return `steps edited: ${describeStrategy({ type: 'Canary', steps: m.steps, maxSurge: '-', maxUnavailable: '-' }).replace(/\(surge.*$/, '').replace('Canary', '')}`;
    case 'paused': return `spec.paused ${m.paused}`;
    case 'minReady': return `minReadySeconds ${m.seconds}`;
    case 'secret': return `Secret ${SECRET} rotated to ${m.value}`;
    case 'action': return `kubectl coxswain ${m.action}`;
    case 'deleteChild': return `kubectl delete ${m.which}`;
    case 'editStable': return `kubectl set image on the stable slot: ${m.tag}`;
    case 'restart': return m.crashAfterWrites !== undefined ? `operator dies after ${m.crashAfterWrites} write(s) of its next reconcile, restarts` : 'operator restarts';
    case 'lag': return `watches lag up to ${m.maxMs}ms for ${m.seconds}s`;
    case 'badness': return `the candidate's error rate turns ${healthWords[m.health]}`;
    case 'pauseFor': return `${m.measured ? 'once measured, ' : ''}pause (${m.via === 'spec' ? 'spec.paused' : 'kubectl coxswain pause'}) ${m.seconds}s, candidate turns ${healthWords[m.health]}, resume`;
    case 'wait': return `wait ${m.seconds}s`;
  }
}

const arbLimits: fc.Arbitrary<RollingLimits> = fc.record({ maxSurge: fc.constantFrom<IntOrPercent>('25%', 1, 0, '50%'), maxUnavailable: fc.constantFrom<IntOrPercent>(0, 1, '25%') })
  .filter((l) => !(l.maxSurge === 0 && l.maxUnavailable === 0));

/** An analysis of the one metric, over a duration or a count of measurements. */
const arbGating: fc.Arbitrary<Gating> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('20s', '30s', '1m').map((duration): Gating => ({ metrics: [METRIC], duration })) },
  { weight: 1, arbitrary: fc.constantFrom(1, 2).map((count): Gating => ({ metrics: [METRIC], count })) },
);

/** Steps, each an analysis `analysis` times in `10 + analysis` (1: modest; the judged invariant's runs: 8). */
const arbStepsWith = (analysis: number): fc.Arbitrary<Step[]> => fc.array(fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 100 }).map((w): Step => ({ setWeight: w })) },
  { weight: 2, arbitrary: fc.constant<Step>({ pause: {} }) },
  { weight: 2, arbitrary: fc.constantFrom('10s', '1m', '5m').map((d): Step => ({ pause: { duration: d } })) },
  { weight: analysis, arbitrary: arbGating.map((a): Step => ({ analysis: a })) },
), { minLength: 1, maxLength: 4 }).map((steps) => {
  // Weights never decrease (the schema says so): sort them into the places weights hold.
  const weights = steps.flatMap((s) => ('setWeight' in s ? [s.setWeight] : [])).sort((a, b) => a - b);
  return steps.map((s) => ('setWeight' in s ? { setWeight: weights.shift()! } : s));
});
const arbSteps = arbStepsWith(1);

/**
 * Strategies; `analysis` says how often they analyse: 1 (modest, so that the other invariants keep
 * their coverage) or more (the judged invariant's own runs, where an analysis is what matters).
 */
const arbStrategyWith = (analysis: number): fc.Arbitrary<Strategy> => {
  // An optional analysis, present `analysis` times in `analysis + 7`.
  const maybe = <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 7, arbitrary: fc.constant(undefined) }, { weight: analysis, arbitrary: a });
  return fc.oneof(
    arbLimits.map((l): Strategy => ({ type: 'RollingUpdate', ...l })),
    fc.record({ steps: arbStepsWith(analysis), limits: arbLimits, own: fc.option(arbLimits, { nil: undefined, freq: 4 }), bg: maybe(fc.integer({ min: 0, max: 2 })) })
      .map(({ steps, limits, own, bg }): Strategy => ({
        type: 'Canary', steps, ...limits, ...(own ? { rollingUpdate: own } : {}), ...(bg !== undefined ? { analysis: { metrics: [METRIC], startingStep: bg } } : {}),
      })),
    fc.record({
      autoPromotionSeconds: fc.constantFrom(undefined, 0, 30, 120),
      previewReplicas: fc.constantFrom(undefined, undefined, 1, 2),
      scaleDownDelaySeconds: fc.constantFrom(0, 30, 120),
      own: fc.option(arbLimits, { nil: undefined, freq: 4 }),
      pre: maybe(arbGating),
      post: maybe(arbGating),
    }).map(({ own, autoPromotionSeconds, previewReplicas, scaleDownDelaySeconds, pre, post }): Strategy => ({
      type: 'BlueGreen', scaleDownDelaySeconds,
      ...(autoPromotionSeconds !== undefined ? { autoPromotionSeconds } : {}),
      ...(previewReplicas !== undefined ? { previewReplicas } : {}),
      ...(own ? { rollingUpdate: own } : {}),
      ...(pre ? { prePromotionAnalysis: pre } : {}),
      ...(post ? { postPromotionAnalysis: post } : {}),
    })),
  );
};
const arbStrategy = arbStrategyWith(1);

const arbTag = fc.constantFrom('v2', 'v3', 'v4', 'v2', 'v3', 'hang', 'crash', 'slow');

const MOVES: Record<Move['kind'], { weight: number; arbitrary: fc.Arbitrary<Move> }> = {
  image: { weight: 5, arbitrary: arbTag.map((tag): Move => ({ kind: 'image', tag })) },
  revert: { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }).map((back): Move => ({ kind: 'revert', back })) },
  config: { weight: 1, arbitrary: fc.constantFrom(undefined, 'debug', 'info').map((value): Move => (value ? { kind: 'config', value } : { kind: 'config' })) },
  refusedConfig: { weight: 1, arbitrary: fc.constantFrom<keyof typeof DENIED>('ConfigMap', 'ControllerRevision').map((which): Move => ({ kind: 'refusedConfig', which })) },
  port: { weight: 1, arbitrary: fc.record({ name: fc.constantFrom('http', 'web'), number: fc.constantFrom(8080, 9090) }).map((p): Move => ({ kind: 'port', ...p })) },
  metrics: { weight: 1, arbitrary: fc.boolean().map((on): Move => ({ kind: 'metrics', on })) },
  scale: { weight: 2, arbitrary: fc.integer({ min: 1, max: 6 }).map((replicas): Move => ({ kind: 'scale', replicas })) },
  strategy: { weight: 2, arbitrary: arbStrategy.map((strategy): Move => ({ kind: 'strategy', strategy })) },
  steps: { weight: 1, arbitrary: arbSteps.map((steps): Move => ({ kind: 'steps', steps })) },
  paused: { weight: 1, arbitrary: fc.boolean().map((paused): Move => ({ kind: 'paused', paused })) },
  minReady: { weight: 1, arbitrary: fc.constantFrom(0, 5, 30).map((seconds): Move => ({ kind: 'minReady', seconds })) },
  secret: { weight: 2, arbitrary: fc.constantFrom(...SECRET_VALUES).map((value): Move => ({ kind: 'secret', value })) },
  action: { weight: 4, arbitrary: fc.constantFrom(...ACTIONS).map((action): Move => ({ kind: 'action', action })) },
  deleteChild: { weight: 1, arbitrary: fc.constantFrom(...CHILDREN).map((which): Move => ({ kind: 'deleteChild', which })) },
  editStable: { weight: 1, arbitrary: fc.constantFrom('edited', 'hang-edited').map((tag): Move => ({ kind: 'editStable', tag })) },
  // Out-of-order delivery: watch events late and duplicated, overtaken by the answers to the
  // operator's own writes and overtaking them (the cache must never go back in time).
  lag: { weight: 2, arbitrary: fc.record({ seconds: fc.constantFrom(10, 60, 300), maxMs: fc.constantFrom(100, 1000, 3000) }).map((l): Move => ({ kind: 'lag', ...l })) },
  // The application's metric: the candidate's error rate turns bad, good again, or silent.
  badness: { weight: 1, arbitrary: fc.constantFrom<Health>('bad', 'bad', 'good', 'nodata').map((health): Move => ({ kind: 'badness', health })) },
  // A pause while an analysis runs (right away, or once the candidate has been measured), the
  // candidate changing meanwhile: after the resume it must be measured again before anything passes.
  pauseFor: {
    weight: 1,
    arbitrary: fc.record({
      seconds: fc.constantFrom(5, 35, 90),
      via: fc.constantFrom<'spec' | 'action'>('spec', 'action'),
      health: fc.constantFrom<Health>('bad', 'bad', 'good', 'good', 'nodata'),
      measured: fc.boolean(),
    }).map((p): Move => ({ kind: 'pauseFor', ...p })),
  },
  restart: { weight: 1, arbitrary: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }).map((k): Move => (k === undefined ? { kind: 'restart' } : { kind: 'restart', crashAfterWrites: k })) },
  wait: {
    weight: 10,
    arbitrary: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 60 }) }, { weight: 1, arbitrary: fc.integer({ min: 61, max: 900 }) })
      .map((seconds): Move => ({ kind: 'wait', seconds })),
  },
};

const without = new Set((process.env.COXSWAIN_MODEL_WITHOUT ?? '').split(',').map((s) => s.trim()).filter(Boolean));
/** The moves, some of them weighted otherwise, or drawn otherwise. */
const arbMoveWith = (weights: Partial<Record<Move['kind'], number>> = {}, arbitraries: Partial<Record<Move['kind'], fc.Arbitrary<Move>>> = {}) =>
  fc.oneof(...Object.entries(MOVES).filter(([k]) => !without.has(k)).map(([k, v]) => ({
    weight: weights[k as Move['kind']] ?? v.weight, arbitrary: arbitraries[k as Move['kind']] ?? v.arbitrary,
  })));

interface Scenario {
  seed: number;
  initial: SpecState;
  moves: Move[];
}

const arbScenarioWith = (strategy: fc.Arbitrary<Strategy>, moves: fc.Arbitrary<Move>): fc.Arbitrary<Scenario> => fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  initial: fc.record({
    tag: fc.constant('v1'),
    replicas: fc.integer({ min: 1, max: 5 }),
    config: fc.constantFrom(undefined, 'info'),
    port: fc.constant({ name: 'http', number: 8080 }),
    metrics: fc.constant(false),
    strategy,
    paused: fc.constant(false),
    secret: fc.constant<string>(SECRET_VALUES[0]),
  }).map((s): SpecState => (s.config === undefined ? (({ config: _c, ...rest }) => rest)(s) : s)),
  moves: fc.array(moves, { minLength: 1, maxLength: 24 }),
});

const arbScenario = arbScenarioWith(arbStrategy, arbMoveWith());
/**
 * The judged invariant's own scenarios: they begin with a strategy that analyses, their strategy
 * moves analyse more often than not, and the moves about the metric (badness, a pause during an
 * analysis) and new images come several times as often.
 */
const arbAnalysisScenario = arbScenarioWith(
  arbStrategyWith(8).filter(analyzes),
  arbMoveWith({ badness: 3, pauseFor: 6, image: 6 }, {
    strategy: arbStrategyWith(8).map((strategy): Move => ({ kind: 'strategy', strategy })),
    steps: arbStepsWith(8).map((steps): Move => ({ kind: 'steps', steps })),
  }),
);

// ---- the invariants ---------------------------------------------------------------------------------
//
// How each is read, where the words leave room:
// - capacity: T is spec.replicas; maxUnavailable the larger of the strategy's before and after the
//   move (canary.maxUnavailable or rollingUpdate.maxUnavailable, 0 for blue-green, and the slots'
//   own rollingUpdate when one is set), resolved as a Deployment does. Checked at every instant
//   against the one before, except at the instant of a user's delete or edit of a child; "before"
//   counts only pods their ReplicaSet still wants (see `promised`). Pods behind `<name>` are the
//   Ready endpoints of its first port.
// - replaced and ports: a problem counts once it has lasted GRACE_MS (a controller a second late
//   is no bug); "the stable slot can carry the load" is >= max(1, T - maxUnavailable) Ready pods of
//   the stable revision in status.activeSlot (available ones, Ready for minReadySeconds, when set), maxUnavailable being the strategy's own (the slots'
//   native rolling aside: a canary with maxUnavailable 0 keeps a replaced pod until T; a replaced pod inside the stable
//   slot, an undone native roll, against that slot Deployment's own when lower). A pod's revision is what it runs: its label, or
//   `<label>~edited` after a kubectl set image.
// - step: checked whenever what status reports changes (revision, step, steps, reason): at step i
//   of a canary, the revision's own Ready pods (by label) must reach step i-1's weight, at a pause
//   waiting for promotion its own weight, a blue-green preview reported ready its preview size,
//   and a revision promoted to stable (not by undo) T; a promote-full skips the steps on purpose.
// - paused: the revisions allowed are those with pods, the one rolling out and the stable one
//   when the pause began (spec.paused, or status.rollout.paused after the action). A pause by
//   spec.paused begins when a reconcile acts on a spec that says so (one the operator's lagging
//   watch has not shown it yet holds nothing), and the revision it was rolling out then (the
//   status that reconcile read) is among those allowed.
//   A revision the spec asked for within SPEC_LAG_MS before the pause is allowed too (a revision
//   applied just before it may reach a lagging operator first).
// - liveness: 30 simulated minutes after the last move, Healthy (and then T pods of the desired
//   revision serve), Degraded, or Paused where the spec waits for a person; never Progressing.
// - stableSlot: after every reconcile of a Canary or BlueGreen Microservice (RollingUpdate rolls
//   its one slot natively to the desired revision by design).
// - while the operator's watches lag (the lag move), a status written for an earlier spec
//   (observedGeneration behind) is not judged against the spec now stored (step; the end of a port
//   break; stableSlot), nor is a reconcile held to a stable-slot edit it did not read (its cache
//   had not seen it yet, or saw it only during the reconcile, with the answer to one of its
//   writes): the reconcile that reads them is.
// - judged: "an analysis step passes when every metric has passed for its duration (or count)",
//   and (issue 16) "time paused does not count ... after a resume, the metric is measured again
//   before anything passes". Whenever a reconcile (one that then died included) writes a status
//   in which a canary went past an analysis step (not the one a promote was accepted at; nothing
//   after a promote-full), a blue-green prePromotionAnalysis passed (its run shown Passed, or the
//   candidate promoted without a promote in the same pass), or a blue-green rollout under a
//   postPromotionAnalysis completed (the candidate became stable; not by undo), the last
//   measurement of that run (of its latest start) the world handed back by then must have been
//   taken while the candidate was good (not bad, not silent), and after the most recent resume.
//   A resume is a reconcile acting on a spec not paused, and writing no `kubectl coxswain pause`,
//   after one that held: the pause as the operator saw it (a pause its lagging watch never
//   showed it held nothing). A promotion autoPromotionSeconds after the pre-promotion analysis
//   passed is not judged again. Measurements are judged by the world's log, not by status.
// - liveness, with analysis: an analysis holding because the world gives no data for the
//   candidate (noData: Hold) waits, as the spec says; it is Progressing, and that is no failure.
// - Not Coxswain's to keep, and so not checked: capacity and replaced revisions while a
//   RollingUpdate's one slot rolls natively (the Deployment controller's pace and its pause; the
//   model runs a port of it, not the real one);
//   capacity and ports while a RollingUpdate rolls a
//   port changed in both name and number (old and new pods share no port a Service could target;
//   the README says to use Canary or BlueGreen for that), until it is Healthy again; and pods of a
//   stable slot edited by hand (`~edited`) serving while its Deployment rolls them back at its
//   own pace.

/** Longer than any watch lag the model plays (the lag move's maxMs): spec edits this recent may reach the operator out of order. */
const SPEC_LAG_MS = 5000;

export const INVARIANTS = {
  capacity: 'Ready pods behind <name> never drop below T - maxUnavailable (while they were there and T did not drop)',
  replaced: 'no pod of an aborted or replaced revision serves once the stable slot can carry the load',
  step: 'a revision is never at a step, or promotable, with fewer of its own Ready pods than the step asks',
  ports: '<name> never targets a port that no pod it selects has',
  paused: 'while paused, a revision that was not rolling out when the pause began gets no pods',
  liveness: 'with no outside event, requeues alone carry every rollout to its end',
  stableSlot: 'at the end of every reconcile the stable slot holds the stable revision\'s template',
  refused: 'a revision whose ConfigMap or ControllerRevision the API server refuses gets no pods and never becomes stable',
  judged: 'no step, promotion or completion is judged on a measurement taken before the last resume, or while the candidate was bad',
  secrets: 'every Secret a slot or a kept revision names is a copy that exists, and no status, Event or ControllerRevision holds a Secret\'s value',
} as const;
export type Invariant = keyof typeof INVARIANTS;

/** validateMicroservice, once per stored object (they are frozen: each write stores a new one). */
type Stored = Parameters<typeof validateMicroservice>[0];
const validations = new WeakMap<Stored, ReturnType<typeof validateMicroservice>>();
function validated(o: Stored): ReturnType<typeof validateMicroservice> {
  let v = validations.get(o);
  if (!v) {
    v = validateMicroservice(o);
    validations.set(o, v);
  }
  return v;
}

class Violation extends Error {
  constructor(readonly invariant: Invariant, message: string) {
    super(message);
  }
}

// The step arithmetic as DESIGN.md states it, written again here so the oracle shares no code with the engine.
/** For weight w of total T, the candidate gets ceil(T*w/100), at least 1 when w > 0. */
function candidateFor(total: number, weight: number): number {
  return weight <= 0 || total <= 0 ? 0 : Math.min(total, Math.max(1, Math.ceil((total * weight) / 100)));
}

/** The weight in force at step i: the last setWeight at or before it (0 before any); 100 past the last step. */
function weightAt(steps: Step[], i: number): number {
  if (i >= steps.length) return 100;
  let w = 0;
  for (const s of steps.slice(0, i + 1)) if ('setWeight' in s) w = s.setWeight;
  return w;
}

/** Problems that must last this long to count: a controller a second late is not a bug. */
const GRACE_MS = 5000;

interface Observation {
  at: number;
  T: number;
  mu: number;
  serving: number;
  /** Of those, the ones their ReplicaSet and Deployment still want (not already scaled away, the controller a moment late). */
  promised: number;
  paused: boolean;
  allowed?: Set<string>;
  stepKey?: string;
  /** The step itself (revision, step, steps), and the lowest T since it began. */
  stepOf?: string;
  stepT?: number;
  stable?: string;
  revisionsWithPods: Set<string>;
  desired?: string;
  /** The revisions the spec asked for within SPEC_LAG_MS, with when (the operator may see them late). */
  specRevisions?: Map<string, number>;
  /** spec.replicas within SPEC_LAG_MS, with when: the operator may act on a T the user has already changed again. */
  recentT?: Array<[number, number]>;
  /** maxUnavailable within SPEC_LAG_MS, with when: likewise, a strategy the user has already changed again. */
  recentMu?: Array<[number, number]>;
  since: Partial<Record<Invariant, number>>;
}

/** The strategy's own maxUnavailable, the slots' native rolling aside: what "the stable slot can carry the load" is read against. */
function strategyUnavailableOf(spec: J): number {
  const st = spec.strategy;
  if (st.type === 'Canary') return fenceposts(st.canary.maxSurge, st.canary.maxUnavailable, spec.replicas).unavailable;
  return st.type === 'RollingUpdate' ? maxUnavailableOf(spec) : 0;
}

/** A slot Deployment's own maxUnavailable, resolved as the Deployment controller does (none: no allowance). */
function deploymentUnavailableOf(d: J | undefined): number {
  const r = d?.spec?.strategy?.rollingUpdate;
  return d && r ? fenceposts(r.maxSurge, r.maxUnavailable, d.spec.replicas).unavailable : 0;
}

/** maxUnavailable of the strategy in force, resolved as a Deployment does, and of the slots' own rolling update. */
function maxUnavailableOf(spec: J): number {
  const T = spec.replicas;
  const st = spec.strategy;
  const own = st.rollingUpdate ? fenceposts(st.rollingUpdate.maxSurge, st.rollingUpdate.maxUnavailable, T).unavailable : 0;
  if (st.type === 'RollingUpdate') return fenceposts(st.rollingUpdate?.maxSurge ?? '25%', st.rollingUpdate?.maxUnavailable ?? 0, T).unavailable;
  if (st.type === 'Canary') return Math.max(own, fenceposts(st.canary.maxSurge, st.canary.maxUnavailable, T).unavailable);
  return own;
}

/**
 * Serving pods that are there to stay: per ReplicaSet at most its spec.replicas, none of a
 * Deployment scaled to 0. A pod that became Ready just after Coxswain sized its slot away, while
 * the ReplicaSet controller had not yet removed it, is no capacity Coxswain can be held to.
 */
function promised(w: World, serving: KubeObject[]): number {
  const byRs = new Map<string, number>();
  for (const p of serving) {
    const owner = p.metadata.ownerReferences?.find((r) => r.controller)?.name ?? '';
    byRs.set(owner, (byRs.get(owner) ?? 0) + 1);
  }
  let n = 0;
  for (const [name, count] of byRs) {
    const rs: J = w.store.get('ReplicaSet', name);
    const d: J = rs ? w.store.get('Deployment', rs.metadata.ownerReferences?.[0]?.name ?? '') : undefined;
    if (!rs || !d || d.spec.replicas === 0) continue;
    n += Math.min(count, rs.spec.replicas);
  }
  return n;
}

/** Has the operator's cache caught up with a child's delete (no longer that uid) or edit (that resourceVersion or later)? */
function heard(w: World, d: { kind: string; name: string; uid?: string; rv?: string }): boolean {
  const cached = w.cached(d.kind, d.name);
  if (cached?.metadata.uid !== d.uid) return true;
  return d.rv !== undefined && !isOlder(cached?.metadata.resourceVersion, d.rv);
}

function hasPort(pod: KubeObject, target: number | string): boolean {
  if (typeof target === 'string') return resolveTargetPort(pod, target) !== undefined;
  return ((pod as J).spec?.containers ?? []).some((c: J) => (c.ports ?? []).some((p: J) => p.containerPort === target));
}

class Checker {
  prev?: Observation;
  /** The last move disrupted what serves (a child deleted, the stable slot edited): capacity is not Coxswain's then. */
  disrupted = false;
  /** Disruptions the operator has not heard of yet (its watch lags): capacity is not Coxswain's until it has. */
  private unheard: Array<{ kind: string; name: string; uid?: string; rv?: string }> = [];
  /** A RollingUpdate rolls a port that shares neither name nor number with the one before, until Healthy. */
  portBreak = false;
  undone = false;
  private lastActionId?: string;
  /** The revision a promote-full was accepted for: it skips its steps on purpose. */
  private promotedFully?: string;
  /** Revisions whose config the simulated API server refuses (DENIED): in a ConfigMap or a ControllerRevision. */
  readonly refused = new Set<string>();

  constructor(readonly only: ReadonlySet<Invariant>, readonly book: RevisionBook) {}

  private fail(invariant: Invariant, message: string): void {
    if (this.only.has(invariant)) throw new Violation(invariant, message);
  }

  /** A problem seen now counts only once it has lasted GRACE_MS. */
  private lasting(obs: Observation, invariant: Invariant, bad: boolean, message: () => string): void {
    if (!bad) return;
    const since = this.prev?.since[invariant] ?? obs.at;
    obs.since[invariant] = since;
    if (obs.at - since >= GRACE_MS) this.fail(invariant, `${message()} (for ${Math.round((obs.at - since) / 1000)}s)`);
  }

  settled(w: World): void {
    const msObj = w.microservice();
    const valid = validated(msObj);
    if (!valid.ok) throw new Error(`the test made an invalid spec: ${valid.problems.join('; ')}`);
    if (this.only.has('secrets')) this.secrets(w);
    const ms = valid.value;
    const spec: J = ms.spec;
    const status: MicroserviceStatus = msObj.status ?? {};
    const T = spec.replicas;
    const name = w.name;
    const pods = w.pods().filter((p) => !isTerminating(p));
    const servingPods = w.servingPods(name);
    const prev = this.prev;
    const obs: Observation = {
      at: w.now, T, mu: maxUnavailableOf(spec), serving: servingPods.length, promised: promised(w, servingPods),
      paused: (spec.paused && this.operatorPaused) || !!status.rollout?.paused,
      stable: status.stableRevision, revisionsWithPods: new Set(pods.map((p) => p.metadata.labels?.[LABEL_REVISION] ?? '')), desired: status.desiredRevision, since: {},
    };
    const desired = desiredRevision(w, ms);
    obs.specRevisions = new Map([...(prev?.specRevisions ?? [])].filter(([, at]) => w.now - at <= SPEC_LAG_MS));
    obs.specRevisions.set(desired, w.now);
    obs.recentT = [...(prev?.recentT ?? []).filter(([, at]) => w.now - at <= SPEC_LAG_MS), [T, w.now]];
    obs.recentMu = [...(prev?.recentMu ?? []).filter(([, at]) => w.now - at <= SPEC_LAG_MS), [obs.mu, w.now]];
    const stable = status.stableRevision;
    const aborted = status.rollout?.abortedRevision;

    // Status for an earlier spec (the operator's watch lags) says nothing of this one.
    const current = status.observedGeneration === msObj.metadata.generation;
    if (this.portBreak && status.phase === 'Healthy' && current) this.portBreak = false;
    // A RollingUpdate whose one slot serves alone rolls natively: its pace is the Deployment
    // controller's (here a port of it), not Coxswain's.
    const nativeRoll = spec.strategy.type === 'RollingUpdate' && servingPods.every((p) => p.metadata.labels?.[LABEL_SLOT] === status.activeSlot);
    // capacity
    this.unheard = this.unheard.filter((d) => !heard(w, d));
    // T is the lowest spec.replicas of the last SPEC_LAG_MS: scaled 3 -> 1 -> 2 at once, the operator
    // (or a Deployment) may rightly act on the 1 it saw, as a Deployment scaled so would. So is
    // maxUnavailable the highest of them: a RollingUpdate with maxUnavailable 1 switched to one
    // with 0 within the watch lag may be rolled natively with the 1 the operator saw.
    const lowT = Math.min(...obs.recentT.map(([t]) => t));
    const mu = Math.max(...obs.recentMu.map(([m]) => m), prev?.mu ?? 0);
    if (prev && !this.disrupted && this.unheard.length === 0 && !this.portBreak && !nativeRoll && T >= prev.T) {
      const need = lowT - mu;
      if (prev.promised >= need && obs.serving < need) {
        this.fail('capacity', `only ${obs.serving} Ready pods serve behind ${name}, below T - maxUnavailable = ${lowT} - ${mu} = ${need}; a moment ago ${prev.serving} did`);
      }
    }

    // replaced / aborted revisions serving
    const stableSlot = status.activeSlot;
    if (stable && stableSlot) {
      // With minReadySeconds a pod carries load once Ready that long (available), as a Deployment counts it.
      const minReadyMs = (spec.minReadySeconds ?? 0) * 1000;
      const available = (p: KubeObject) => {
        const since = Date.parse((p as J).status?.conditions?.find((c: J) => c.type === 'Ready')?.lastTransitionTime ?? '');
        return podReady(p) && (minReadyMs === 0 || (!Number.isNaN(since) && w.now - since >= minReadyMs));
      };
      const carrying = pods.filter((p) => p.metadata.labels?.[LABEL_SLOT] === stableSlot && available(p) && this.book.truth(p) === stable).length;
      const canCarry = (mu: number) => carrying >= Math.max(1, T - mu);
      // A replaced pod inside the stable slot itself (an undone native roll) goes as that slot's
      // Deployment rolls: within its own maxUnavailable, which may be below the strategy's.
      const slotUnavailable = Math.min(strategyUnavailableOf(spec), deploymentUnavailableOf(w.store.get('Deployment', `${name}-${stableSlot}`)));
      const bad = servingPods.filter((p) => {
        const r = this.book.truth(p);
        const replaced = !r.endsWith('~edited') && (r === aborted || (r !== stable && r !== desired));
        return replaced && canCarry(p.metadata.labels?.[LABEL_SLOT] === stableSlot ? slotUnavailable : strategyUnavailableOf(spec));
      });
      this.lasting(obs, 'replaced', bad.length > 0 && !nativeRoll, () => `${bad.length} pod(s) of ${[...new Set(bad.map((p) => this.book.truthName(this.book.truth(p))))].join(', ')} serve behind ${name}, though the stable slot ${stableSlot} has ${carrying} Ready pods of the stable revision ${this.book.name(stable)} (T ${T})`);
    }

    // a step, or promotable, with too few Ready pods of the revision itself
    const D = status.desiredRevision;
    const last = status.lastAction;
    if (last && last.id !== this.lastActionId) {
      this.lastActionId = last.id;
      if (last.action === 'promote-full' && last.ok) this.promotedFully = D;
    }
    const r = status.rollout ?? {};
    const readyCond = status.conditions?.find((c) => c.type === 'Ready');
    const steps = spec.strategy.canary?.steps ?? [];
    obs.stepKey = JSON.stringify([D, r.step, r.steps, steps, readyCond?.reason, readyCond?.message?.includes('promotion'), r.pausedUntil !== undefined, stable, current]);
    // A step is reached at the total of its time: grown since (a scale-up while paused, which holds
    // the candidate), a later report of the same step (its pause, its reason) asks no more of it.
    obs.stepOf = JSON.stringify([D, r.step, r.steps, steps]);
    obs.stepT = prev && prev.stepOf === obs.stepOf ? Math.min(prev.stepT ?? T, T) : Math.min(T, prev?.T ?? T);
    if (prev && obs.stepKey !== prev.stepKey && current && D && D !== stable && r.abortedRevision !== D) {
      const Tmin = obs.stepT;
      const own = pods.filter((p) => p.metadata.labels?.[LABEL_REVISION] === D && podReady(p)).length;
      const type = spec.strategy.type;
      const promotable = readyCond?.reason === 'Paused' && !!readyCond.message?.includes('waiting for promotion');
      // promote-full skips the steps on purpose: what it asks for is the promotion itself, checked below.
      const skipped = this.promotedFully === D;
      if (type === 'Canary' && r.step !== undefined && r.steps === steps.length && !skipped) {
        const ask = promotable ? candidateFor(Tmin, weightAt(steps, r.step)) : r.step === 0 ? 0 : candidateFor(Tmin, weightAt(steps, r.step - 1));
        if (own < ask) this.fail('step', `revision ${this.book.name(D)} is reported at step ${r.step}/${r.steps}${promotable ? ', waiting for promotion,' : ''} with ${own} of its own pods Ready; the step asks ${ask}`);
      }
      if (type === 'BlueGreen' && r.step === 0 && (promotable || r.pausedUntil !== undefined)) {
        const ask = Math.min(Tmin, spec.strategy.blueGreen?.previewReplicas ?? Tmin);
        if (own < ask) this.fail('step', `revision ${this.book.name(D)} is reported with its preview ready (promotable) with ${own} of its own pods Ready; the preview is ${ask}`);
      }
    }
    if (prev && stable && stable !== prev.stable && prev.stable && stable === prev.desired && !this.undone) {
      const own = pods.filter((p) => p.metadata.labels?.[LABEL_REVISION] === stable && podReady(p)).length;
      // The lowest T of the last SPEC_LAG_MS: a slot whole at the T the operator saw is rightly stable.
      const Tmin = Math.min(...(obs.recentT ?? []).map(([t]) => t), T, prev.T);
      if (own < Tmin) this.fail('step', `revision ${this.book.name(stable)} was promoted to stable with ${own} of its own pods Ready, of ${Tmin}`);
    }

    // ports
    const svc: J = w.store.get('Service', name);
    if (svc) {
      const selected = pods.filter((p) => Object.entries(svc.spec.selector ?? {}).every(([k, v]) => p.metadata.labels?.[k] === v));
      const missing = selected.length === 0 ? [] : (svc.spec.ports ?? []).filter((sp: J) => !selected.some((p) => hasPort(p, sp.targetPort)));
      this.lasting(obs, 'ports', missing.length > 0 && !this.portBreak, () => `${name} targets port(s) ${missing.map((p: J) => `${p.port}->${p.targetPort}`).join(', ')} that none of the ${selected.length} pod(s) it selects (${[...new Set(selected.map((p) => this.book.truthName(this.book.truth(p))))].join(', ')}) has`);
    }

    // paused (a RollingUpdate pauses its Deployment, which still scales the ReplicaSets it has:
    // their revisions were rolling out already)
    const hasReplicaSet = (rev: string) => spec.strategy.type === 'RollingUpdate'
      && w.store.list('ReplicaSet').some((rs: J) => rs.spec?.template?.metadata?.labels?.[LABEL_REVISION] === rev);
    if (obs.paused) {
      obs.allowed = prev?.paused && prev.allowed ? prev.allowed
        : new Set([...(prev?.revisionsWithPods ?? []), ...(prev?.desired ? [prev.desired] : []), ...(prev?.specRevisions?.keys() ?? []), ...(prev?.stable ? [prev.stable] : []), ...(stable ? [stable] : []), ...this.rollingWhenPaused]);
      const fresh = pods.filter((p) => !obs.allowed!.has(p.metadata.labels?.[LABEL_REVISION] ?? '') && !hasReplicaSet(p.metadata.labels?.[LABEL_REVISION] ?? ''));
      if (fresh.length > 0) {
        this.fail('paused', `paused (${spec.paused ? 'spec.paused' : 'kubectl coxswain pause'}), yet revision ${[...new Set(fresh.map((p) => this.book.name(p.metadata.labels?.[LABEL_REVISION])))].join(', ')} has ${fresh.length} pod(s); it was not rolling out when the pause began`);
      }
    }

    // refused: pods of such a revision would read a ConfigMap that is not there (or run a
    // revision that could not be kept): it gets none, and is never promoted
    const doomed = pods.filter((p) => this.refused.has(p.metadata.labels?.[LABEL_REVISION] ?? ''));
    if (doomed.length > 0) {
      this.fail('refused', `revision ${this.book.name(doomed[0]!.metadata.labels?.[LABEL_REVISION])}, whose own objects the API server refuses, has ${doomed.length} pod(s) (${doomed.filter(podReady).length} Ready)`);
    }
    if (stable && this.refused.has(stable)) this.fail('refused', `revision ${this.book.name(stable)}, whose own objects the API server refuses, became stable`);

    this.prev = obs;
    this.disrupted = false;
    this.undone = false;
  }

  /** A child (uid) was deleted or edited by hand: capacity is not Coxswain's until the operator's cache has that. */
  disrupt(w: World, kind: string, name: string | undefined, uid: string | undefined): void {
    this.disrupted = true;
    if (name && uid) this.unheard.push({ kind, name, uid, rv: w.store.get(kind, name)?.metadata.resourceVersion });
  }

  /** The operator held the rollout (spec.paused, kubectl coxswain pause) in its last reconcile. */
  private held = false;
  /** When the operator last resumed it. */
  resumedAt?: number;

  /** The spec the operator last acted on said paused; what it was rolling out when it first did. */
  private operatorPaused = false;
  private rollingWhenPaused: string[] = [];

  private eventsSeen = 0;

  /** Secrets: what slots and kept revisions name exists as a copy; no value where the operator speaks or keeps revisions. */
  private secrets(w: World): void {
    const revisions = w.owned().filter((o) => o.kind === 'ControllerRevision');
    const templates = [...['blue', 'green'].map((s) => (w.store.get('Deployment', `${w.name}-${s}`) as J)?.spec?.template), ...revisions.map((r: J) => r.data?.template)];
    for (const name of new Set(templates.flatMap((t) => [...secretsInTemplate(t)]))) {
      if (name === SECRET) this.fail('secrets', `a slot or kept revision names the user's Secret ${SECRET} itself, not a copy`);
      else if (!w.store.get('Secret', name)) this.fail('secrets', `a slot or kept revision names the copy ${name}, which does not exist`);
    }
    const said = JSON.stringify([w.microservice().status ?? {}, w.events.slice(this.eventsSeen), revisions]);
    this.eventsSeen = w.events.length;
    const leaked = [...SECRET_VALUES, ...SECRET_B64].find((v) => said.includes(v));
    if (leaked) this.fail('secrets', `a Secret's value (${leaked}) in status, an Event or a ControllerRevision`);
  }

  reconciled(w: World, r: Reconciled): void {
    if (r.read) {
      const paused = !!(r.read.spec as J)?.paused;
      if (paused && !this.operatorPaused) this.rollingWhenPaused = [r.read.status?.desiredRevision, r.read.status?.stableRevision].filter((x): x is string => !!x);
      this.operatorPaused = paused;
    }
    this.judged(w, r);
    // A reconcile that died midway is held to nothing more: the next one finishes its work.
    if (r.error) return;
    const msObj = w.microservice();
    const valid = validated(msObj);
    if (!valid.ok) return;
    const status = msObj.status ?? {};
    const stable = status.stableRevision;
    if (!stable || !status.activeSlot || valid.value.spec.strategy.type === 'RollingUpdate') return;
    // The reconcile read an earlier spec (the Microservice's watch lags): the one that reads this spec is held to it.
    if (status.observedGeneration !== msObj.metadata.generation) return;
    const d: J = w.store.get('Deployment', `${w.name}-${status.activeSlot}`);
    if (!d) return;
    const t = d.spec.template;
    // An edit this reconcile did not read (its watch lags; the edit may have reached the cache
    // during the reconcile, with the answer to one of its writes): the reconcile that reads it is held to this.
    const seen: J = r.readOwned ? r.readOwned.find((o) => o.kind === 'Deployment' && o.metadata.name === d.metadata.name) : w.cached('Deployment', d.metadata.name);
    if (stableJSON(seen?.spec.template) !== stableJSON(t)) return;
    const label = t.metadata?.labels?.[LABEL_REVISION];
    if (label !== stable) {
      this.fail('stableSlot', `the stable slot ${status.activeSlot} holds revision ${this.book.name(label)}'s template, not the stable revision ${this.book.name(stable)}`);
      return;
    }
    const want = this.book.get(stable);
    const c = t.spec?.containers?.[0] ?? {};
    if (want && c.image !== want.image) {
      this.fail('stableSlot', `the stable slot ${status.activeSlot} is labelled ${this.book.name(stable)} but runs image ${c.image}, not ${want.image}: it was edited and not repaired`);
    }
  }

  /**
   * judged: what this reconcile passed (an analysis step, a blue-green promotion or completion
   * under analysis), held to the world's log of measurements; and the resumes, as the operator
   * acted on them.
   */
  private judged(w: World, r: Reconciled): void {
    const read = r.read;
    if (!read) return;
    const valid = validated(read);
    if (!valid.ok) return;
    const spec: J = valid.value.spec;
    const before: MicroserviceStatus = read.status ?? {};
    const after: MicroserviceStatus = r.status ?? before;
    const held = !!spec.paused || !!after.rollout?.paused;
    if (!held && this.held) this.resumedAt = r.at;
    this.held = held;
    if (!r.status) return;
    const D = after.desiredRevision;
    const b = before.rollout;
    const a = after.rollout;
    if (!D || before.desiredRevision !== D || b?.step === undefined || b.abortedRevision === D || a?.abortedRevision === D) return;
    const last = after.lastAction;
    const acted = last && last.ok && last.id !== before.lastAction?.id ? last.action : undefined;
    if (acted === 'undo') return;
    const completed = after.stableRevision === D && before.stableRevision !== D;
    if (spec.strategy.type === 'Canary') {
      // promote-full skips every step on purpose; promote the one it was accepted at.
      const steps: Step[] = spec.strategy.canary.steps;
      if (acted === 'promote-full' || b.steps !== steps.length || (!completed && a?.steps !== b.steps)) return;
      const to = completed ? steps.length : a?.step ?? b.step;
      for (let j = b.step; j < to; j++) {
        const step = steps[j];
        if (!step || (j === b.step && acted === 'promote')) continue;
        if ('analysis' in step) this.judge(w, r.at, D, `step-${j}`, `went past step ${j}, an analysis ${describeGating(step.analysis)},`);
      }
    }
    if (spec.strategy.type === 'BlueGreen') {
      const bg = spec.strategy.blueGreen;
      if (completed && bg.postPromotionAnalysis) this.judge(w, r.at, D, 'postPromotion', 'became stable under post-promotion analysis');
      // The pre-promotion analysis is judged when it passes: status shows its run Passed, or (the
      // promotion in the same pass, its run already replaced) the candidate was promoted without
      // a promote. A promotion that waits autoPromotionSeconds after the pass is not judged again.
      const prePassed = (x: MicroserviceStatus['rollout']) => x?.analysis?.step?.id === 'prePromotion' && x.analysis.step.revision === D && x.analysis.step.phase === 'Passed';
      const promoted = b.step === 0 && (completed || (a?.step ?? 0) >= 1) && acted !== 'promote' && acted !== 'promote-full';
      if (bg.prePromotionAnalysis && !prePassed(b) && (prePassed(a) || promoted)) this.judge(w, r.at, D, 'prePromotion', 'passed its pre-promotion analysis');
    }
  }

  /** The last measurement of revision D for `run` (its latest start) handed back by `at`: taken since the resume, while D was good. */
  private judge(w: World, at: number, D: string, run: string, what: string): void {
    const taken = w.taken.filter((m) => m.revision === D && m.run === run && m.at <= at);
    const latest = taken.reduce((s, m) => (m.runStartedAt > s ? m.runStartedAt : s), '');
    const last = taken.filter((m) => m.runStartedAt === latest).at(-1);
    totals.judged++;
    if (this.resumedAt !== undefined) totals.judgedAfterResume++;
    const name = `revision ${this.book.name(D)}`;
    const when = (t: number) => clock(t - EPOCH).trim();
    if (!last) {
      this.fail('judged', `${name} ${what} with no measurement of it (${run}) taken at all`);
    } else if (this.resumedAt !== undefined && last.at < this.resumedAt) {
      this.fail('judged', `${name} ${what} on its last measurement (${run} #${last.seq}, ${last.health}), taken at ${when(last.at)}, before the rollout was resumed at ${when(this.resumedAt)}`);
    } else if (last.health !== 'good') {
      this.fail('judged', `${name} ${what} though its last measurement (${run} #${last.seq}, taken at ${when(last.at)}) found it ${healthWords[last.health]}`);
    }
  }

  /** After the moves, with time alone: the rollout ends, or waits for a person as the spec says. */
  final(w: World, quiet: boolean): void {
    const msObj = w.microservice();
    const valid = validated(msObj);
    if (!valid.ok) return;
    const spec: J = valid.value.spec;
    const status = msObj.status ?? {};
    const ready = status.conditions?.find((c) => c.type === 'Ready');
    const phase = status.phase;
    const r = status.rollout ?? {};
    const waitsForPerson = () => {
      if (spec.paused || r.paused) return true;
      if (spec.strategy.type === 'Canary') {
        const step = spec.strategy.canary.steps[r.step ?? -1];
        return !!step && 'pause' in step && !step.pause.duration;
      }
      if (spec.strategy.type === 'BlueGreen') return spec.strategy.blueGreen?.autoPromotionSeconds === undefined;
      return false;
    };
    const generationSeen = status.observedGeneration === msObj.metadata.generation;
    if (!generationSeen) this.fail('liveness', `status is for generation ${status.observedGeneration}, the spec is at ${msObj.metadata.generation}, 30 minutes after the last move`);
    else if (phase === 'Healthy' || phase === 'Degraded') {
      if (phase === 'Healthy') {
        const serving = w.servingPods(w.name);
        const desired = desiredRevision(w, valid.value);
        const others = serving.filter((p) => this.book.truth(p) !== desired);
        if (w.store.get('Service', w.name) && (serving.length !== spec.replicas || others.length > 0)) {
          this.fail('liveness', `Healthy, yet ${serving.length} pods serve behind ${w.name} (T ${spec.replicas}), ${others.length} of them not of revision ${this.book.name(desired)}`);
        }
      }
    } else if (phase === 'Paused' && waitsForPerson()) {
      // waiting for promotion or a resume, as the spec says
    } else if (r.analysis?.step?.phase === 'Running' && w.healthOf(desiredRevision(w, valid.value)) === 'nodata') {
      // an analysis holding on no data (noData: Hold), as the spec says
    } else {
      const message = (ready?.message ?? '').replace(/[0-9a-f]{10}/g, (h) => this.book.name(h));
      this.fail('liveness', `still ${phase} (${ready?.reason}: "${message}") 30 minutes after the last move${quiet ? ', with nothing left to wake it' : ''}`);
    }
  }
}

/** The revision the stored spec makes with what the user's Secret holds now (spec.trackSecrets). */
function desiredRevision(w: World, ms: Parameters<typeof revisionOf>[0]): string {
  return revisionOf(trackSecrets(ms, secretLookup((n) => w.store.get('Secret', n))).ms);
}

// ---- running a scenario ------------------------------------------------------------------------------

function content(s: SpecState): { revision: string; image: string; ports: Array<{ name?: string; containerPort: number }> } {
  const v = validateMicroservice({ apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', metadata: { name: 'orders', namespace: 'shop', uid: 'x' }, spec: toSpec(s) });
  if (!v.ok) throw new Error(`the test made an invalid spec: ${v.problems.join('; ')}`);
  // The revision reads the Secret's copy: its content is part of it.
  const ms = trackSecrets(v.value, (n) => (n === SECRET ? { type: 'Opaque', data: { password: Buffer.from(s.secret).toString('base64') } } : undefined)).ms;
  const c: J = (renderDeployment(ms, 'blue', 1).spec as J).template.spec.containers[0];
  return { revision: revisionOf(ms), image: c.image, ports: (c.ports ?? []).map((p: J) => ({ ...(p.name ? { name: p.name } : {}), containerPort: p.containerPort })) };
}

/** The spec's config is one the simulated API server refuses in the revision's own objects. */
const refusedConfig = (s: SpecState) => Object.values<string>(DENIED).includes(s.config ?? '');

/** With COXSWAIN_MODEL_TRACE: every ReplicaSet's size and Ready pods, after each instant. */
function rsSizes(w: World, book: RevisionBook): string {
  return `{${w.store.list('ReplicaSet').map((rs: J) => `${rs.metadata.name.replace(`${w.name}-`, '').slice(0, 9)}:${book.name(rs.spec.template.metadata.labels[LABEL_REVISION])}${rs.spec.template.spec.containers[0].image.endsWith(':edited') ? '~edited' : ''} ${rs.status?.readyReplicas ?? 0}/${rs.spec.replicas}`).join(' ')}}`;
}

/** Two ports that share neither name nor number: old and new pods have no port a Service could target in both. */
function sharesNone(a: { name: string; number: number } | undefined, b: { name: string; number: number }): boolean {
  return !!a && a.name !== b.name && a.number !== b.number;
}

/** What the runs covered, printed at the end. */
const totals = { sequences: 0, moves: 0, reconciles: 0, simulatedMs: 0, measurements: 0, judged: 0, judgedAfterResume: 0 };

function runScenario(sc: Scenario, only: ReadonlySet<Invariant>, trace?: (w: World, story: string[]) => void): string[] {
  const book = new RevisionBook();
  const checker = new Checker(only, book);
  const story: string[] = [];
  const traced = !!process.env.COXSWAIN_MODEL_TRACE;
  const w = new World({
    seed: sc.seed,
    onSettled: (x) => {
      if (traced) story.push(`${clock(x.now - EPOCH)}  ${'  · instant'.padEnd(44)} → ${snapshot(x, book)} ${rsSizes(x, book)}`);
      checker.settled(x);
    },
    onReconciled: (x, r) => checker.reconciled(x, r),
    trackSecrets: true,
  });
  const line = (what: string) => story.push(`${clock(w.now - EPOCH)}  ${what.padEnd(44)} → ${snapshot(w, book)}`);
  // Counterexamples recorded before the Secret move begin with its first value.
  let spec: SpecState = { ...sc.initial, secret: sc.initial.secret ?? SECRET_VALUES[0] };
  const history: SpecState[] = [spec];
  const learn = (s: SpecState) => {
    const c = content(s);
    book.add(c.revision, { label: labelOf(s), image: c.image, ports: c.ports });
    if (refusedConfig(s)) checker.refused.add(c.revision);
  };
  let actionId = 0;
  let during = 'the creation';
  try {
    learn(spec);
    w.setSecret(SECRET, spec.secret);
    w.createMicroservice(toSpec(spec));
    w.runUntilQuiet(600_000, (x) => x.microservice().status?.phase === 'Healthy');
    line(`create: ${labelOf(spec)} ×${spec.replicas} ${describeStrategy(spec.strategy)}`);
    for (const m of sc.moves) {
      during = describeMove(m);
      const edit = (next: SpecState) => {
        spec = next;
        history.push(next);
        learn(next);
        w.editSpec(() => toSpec(next));
      };
      const status = w.microservice().status ?? {};
      const stableSlot = status.activeSlot ?? 'blue';
      const stablePort = () => {
        const p = book.get(status.stableRevision)?.ports[0];
        return p ? { name: p.name ?? '', number: p.containerPort } : undefined;
      };
      switch (m.kind) {
        case 'image': edit({ ...spec, tag: m.tag }); break;
        case 'revert': {
          const tags = [...new Set(history.map((h) => h.tag).reverse())];
          edit({ ...spec, tag: tags[Math.min(m.back, tags.length - 1)] ?? spec.tag });
          break;
        }
        case 'config': edit(m.value ? { ...spec, config: m.value } : (({ config: _c, ...rest }) => rest)(spec)); break;
        case 'refusedConfig': edit({ ...spec, config: DENIED[m.which] }); break;
        case 'port':
          // `<name>` keeps the stable revision's ports until the roll is done: the port breaks
          // against those (two moves that each keep a name or a number can break it), or the spec's.
          if (spec.strategy.type === 'RollingUpdate' && (sharesNone(spec.port, m) || sharesNone(stablePort(), m))) checker.portBreak = true;
          edit({ ...spec, port: { name: m.name, number: m.number } });
          break;
        case 'metrics': edit({ ...spec, metrics: m.on }); break;
        case 'scale': edit({ ...spec, replicas: m.replicas }); break;
        case 'strategy':
          // A switch to RollingUpdate while the spec's port shares neither name nor number with the
          // stable revision's (a port move under another strategy, not yet promoted) rolls that port
          // natively: the same exemption as a port move under RollingUpdate.
          if (m.strategy.type === 'RollingUpdate' && sharesNone(stablePort(), spec.port)) checker.portBreak = true;
          edit({ ...spec, strategy: m.strategy });
          break;
        case 'steps': if (spec.strategy.type === 'Canary') edit({ ...spec, strategy: { ...spec.strategy, steps: m.steps } }); break;
        case 'paused': edit({ ...spec, paused: m.paused }); break;
        case 'minReady': edit({ ...spec, minReadySeconds: m.seconds }); break;
        case 'secret':
          // Not the spec: the user's Secret. The revision it makes is learnt like a spec's.
          spec = { ...spec, secret: m.value };
          history.push(spec);
          learn(spec);
          w.setSecret(SECRET, m.value);
          break;
        case 'action':
          if (m.action === 'undo') checker.undone = true;
          w.setAction(`${m.action}:${++actionId}`);
          break;
        case 'deleteChild': {
          const names: Record<(typeof CHILDREN)[number], [string, string | undefined]> = {
            'stable-slot': ['Deployment', `${w.name}-${stableSlot}`],
            'candidate-slot': ['Deployment', `${w.name}-${otherSlot(stableSlot)}`],
            service: ['Service', w.name],
            preview: ['Service', `${w.name}-preview`],
            configmap: ['ConfigMap', w.owned().find((o) => o.kind === 'ConfigMap')?.metadata.name],
            networkpolicy: ['NetworkPolicy', w.name],
          };
          const [kind, name] = names[m.which];
          const uid = name ? w.store.get(kind, name)?.metadata.uid : undefined;
          if (name) w.deleteObject(kind, name);
          checker.disrupt(w, kind, name, uid);
          break;
        }
        case 'editStable':
          w.editObject('Deployment', `${w.name}-${stableSlot}`, (d) => { d.spec.template.spec.containers[0].image = `${IMAGE}:${m.tag}`; });
          checker.disrupt(w, 'Deployment', `${w.name}-${stableSlot}`, w.store.get('Deployment', `${w.name}-${stableSlot}`)?.metadata.uid);
          break;
        case 'restart': w.restartOperator(m.crashAfterWrites); break;
        case 'lag': w.lagWatches(m.seconds * 1000, m.maxMs); break;
        case 'badness': w.setHealth(content(spec).revision, m.health); break;
        case 'pauseFor': {
          const candidate = content(spec).revision;
          if (m.measured) {
            // Until the candidate has been measured (an analysis under way), a minute at most.
            const before = w.taken.length;
            w.advanceUntil((x) => x.taken.slice(before).some((t) => t.revision === candidate), 60_000);
          }
          if (m.via === 'spec') edit({ ...spec, paused: true });
          else w.setAction(`pause:${++actionId}`);
          w.settle();
          line(`  pause (${m.via === 'spec' ? 'spec.paused' : 'kubectl coxswain pause'})`);
          w.advance(m.seconds * 1000);
          w.setHealth(candidate, m.health);
          if (m.via === 'spec') edit({ ...spec, paused: false });
          else w.setAction(`resume:${++actionId}`);
          break;
        }
        case 'wait': break;
      }
      if (m.kind === 'wait') w.advance(m.seconds * 1000);
      else w.settle();
      line(describeMove(m));
    }
    // Liveness, and everything else, is judged over 30 quiet minutes; judged alone needs only the
    // analyses under way to end (a minute each at most, a 5-minute pause or a 2-minute auto-promotion before them).
    const quiet = only.size === 1 && only.has('judged') ? 10 : 30;
    during = `${quiet} minutes with no move`;
    w.advance(quiet * 60_000);
    line(`${quiet} minutes with no move`);
    checker.final(w, w.nextDue() === undefined);
  } catch (err) {
    const why = err instanceof Violation ? `VIOLATED ${err.invariant} (${INVARIANTS[err.invariant]}):\n  ${err.message}` : `ERROR: ${err instanceof Error ? err.stack ?? err.message : String(err)}`;
    story.push(`${clock(w.now - EPOCH)}  ${`!! during: ${during}`.padEnd(44)} → ${snapshot(w, book)}`);
    throw new Error(`${why}\n\nstory (seed ${sc.seed}):\n${story.join('\n')}\n`);
  } finally {
    trace?.(w, story);
    totals.sequences++;
    totals.moves += story.length - 1;
    totals.reconciles += w.reconciles.length;
    totals.simulatedMs += w.now - EPOCH;
    totals.measurements += w.taken.length;
  }
  return story;
}

// ---- the properties ------------------------------------------------------------------------------------

const RUNS = Number(process.env.COXSWAIN_MODEL_RUNS ?? 150);
const SEED = process.env.COXSWAIN_MODEL_SEED ? Number(process.env.COXSWAIN_MODEL_SEED) : undefined;
const ONLY = process.env.COXSWAIN_MODEL_ONLY?.split(',');
/** Each invariant's time, shrinking included: a long shrink ends with the smallest story found so far. */
const SECONDS = Number(process.env.COXSWAIN_MODEL_SECONDS ?? (process.env.COXSWAIN_MODEL_RUNS ? 3600 : 120));
/** A counterexample as fast-check printed it (JSON): told with every reconcile's writes. */
const REPLAY = process.env.COXSWAIN_MODEL_REPLAY;

it.runIf(REPLAY)('replays COXSWAIN_MODEL_REPLAY', () => {
  const sc = JSON.parse(REPLAY!) as Scenario | Scenario[];
  runScenario(Array.isArray(sc) ? sc[0]! : sc, new Set(ONLY ?? Object.keys(INVARIANTS)) as Set<Invariant>, (w, story) => {
    console.log(story.join('\n'));
    for (const r of w.reconciles) {
      console.log(`${clock(r.at - EPOCH)} reconcile: ${r.writes.join('; ') || 'no writes'}${r.status ? `; status ${r.status.phase} "${r.status.rollout?.message ?? ''}"` : ''}${r.requeueAfterMs !== undefined ? `; requeue in ${r.requeueAfterMs}ms` : ''}${r.problems.length ? `; problems ${JSON.stringify(r.problems)}` : ''}${r.error ? `; ERROR ${r.error}` : ''}`);
    }
  });
});

describe('closed counterexamples', () => {
  // Each scenario a soak once found broken, replayed against every invariant, so none comes back.
  const file = new URL('./closed-counterexamples.txt', import.meta.url);
  const scenarios = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  it.each(scenarios.map((l, i) => [i + 1, l] as const))('no. %i holds every invariant', (_n, line) => {
    runScenario(JSON.parse(line) as Scenario, new Set(Object.keys(INVARIANTS)) as Set<Invariant>);
  });
});

describe('rollouts, model-based (issue 8)', () => {
  afterAll(() => {
    const { sequences, moves, reconciles, simulatedMs, measurements, judged, judgedAfterResume } = totals;
    console.log(`model: ${sequences} sequences, ${moves} moves, ${reconciles} reconciles, ${Math.round(simulatedMs / 3_600_000)} simulated hours, `
      + `${measurements} measurements, ${judged} analyses passed and judged (${judgedAfterResume} after a resume)`);
  });
  for (const invariant of (Object.keys(INVARIANTS) as Invariant[]).filter((i) => !ONLY || ONLY.includes(i))) {
    it(`${invariant}: ${INVARIANTS[invariant]}`, () => {
      fc.assert(fc.property(invariant === 'judged' ? arbAnalysisScenario : arbScenario, (sc) => {
        runScenario(sc, new Set([invariant]));
      }), { numRuns: RUNS, interruptAfterTimeLimit: SECONDS * 1000, ...(SEED !== undefined ? { seed: SEED } : {}) });
    }, SECONDS * 1000 + 300_000);
  }
});

// ---- the checks themselves: each catches what it is about, in a cluster tampered with by hand ----------

describe('the model\'s checks catch what they are about', () => {
  const base: SpecState = { tag: 'v1', replicas: 3, port: { name: 'http', number: 8080 }, metrics: false, paused: false, secret: SECRET_VALUES[0],
    strategy: { type: 'Canary', steps: [{ setWeight: 34 }, { pause: {} }], maxSurge: 1, maxUnavailable: 0 } };

  /** A Healthy Microservice, its checker on, its operator then switched off: the test does the damage. */
  function healthy(invariant: Invariant, spec: SpecState = base) {
    const book = new RevisionBook();
    const checker = new Checker(new Set([invariant]), book);
    const w = new World({ seed: 42, onSettled: (x) => checker.settled(x), onReconciled: (x, r) => checker.reconciled(x, r), trackSecrets: true });
    const learn = (s: SpecState) => {
      const c = content(s);
      book.add(c.revision, { label: labelOf(s), image: c.image, ports: c.ports });
      if (refusedConfig(s)) checker.refused.add(c.revision);
      return c.revision;
    };
    learn(spec);
    w.setSecret(SECRET, spec.secret);
    w.createMicroservice(toSpec(spec));
    w.runUntilQuiet(600_000);
    if (w.microservice().status?.phase !== 'Healthy') throw new Error('not Healthy to begin with');
    w.operatorEnabled = false;
    return { w, checker, learn };
  }
  const violates = (invariant: Invariant, f: () => void) => {
    try {
      f();
    } catch (err) {
      if (err instanceof Violation && err.invariant === invariant) return;
      throw err;
    }
    throw new Error(`the ${invariant} check did not fire`);
  };

  it('capacity: the stable slot shrunk under the pods that serve', () => {
    const { w } = healthy('capacity');
    violates('capacity', () => {
      w.editObject('Deployment', 'orders-blue', (d) => { d.spec.replicas = 1; });
      w.advance(5_000);
    });
  });

  it('capacity: not when the user deleted what serves, nor when T dropped', () => {
    const { w, checker } = healthy('capacity');
    checker.disrupted = true;
    w.deleteObject('Deployment', 'orders-blue');
    w.advance(10_000);
    w.operatorEnabled = true;
    w.runUntilQuiet(600_000);
    w.editSpec((s) => ({ ...s, replicas: 1 }));
    w.runUntilQuiet(600_000);
  });

  it('replaced: pods of a revision that is neither stable nor desired serve', () => {
    const { w, learn } = healthy('replaced');
    const old = learn({ ...base, tag: 'v0' });
    violates('replaced', () => {
      w.store.create({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'orders-green' }, spec: {
        replicas: 1, selector: { matchLabels: { 'coxswain.dev/slot': 'green' } },
        template: { metadata: { labels: { 'app.kubernetes.io/name': 'orders', 'app.kubernetes.io/managed-by': 'coxswain', 'coxswain.dev/slot': 'green', 'coxswain.dev/revision': old } },
          spec: { containers: [{ name: 'orders', image: `${IMAGE}:v0`, ports: [{ name: 'http', containerPort: 8080 }] }] } },
      } });
      w.advance(60_000);
    });
  });

  it('step: a revision reported at a pause with none of its pods Ready', () => {
    const { w, learn } = healthy('step');
    const v2 = learn({ ...base, tag: 'v2' });
    w.editSpec((s) => ({ ...s, image: `${IMAGE}:v2` }));
    violates('step', () => {
      const ms: J = structuredClone(w.microservice());
      ms.status = { ...ms.status, observedGeneration: ms.metadata.generation, desiredRevision: v2, rollout: { step: 1, steps: 2 },
        conditions: [{ type: 'Ready', status: 'False', reason: 'Paused', message: 'waiting for promotion at step 1', lastTransitionTime: 'x' }] };
      w.store.update(ms);
      w.settle();
    });
  });

  it('ports: <name> targets a port its pods do not have', () => {
    const { w } = healthy('ports');
    violates('ports', () => {
      w.editObject('Service', 'orders', (s) => { s.spec.ports[0].targetPort = 'web'; });
      w.advance(10_000);
    });
  });

  it('paused: a new revision gets pods while spec.paused', () => {
    const { w, learn } = healthy('paused');
    const v2 = learn({ ...base, tag: 'v2' });
    // The operator acts on the pause (it begins then), and is switched off again.
    w.operatorEnabled = true;
    w.editSpec((s) => ({ ...s, paused: true }));
    w.settle();
    w.operatorEnabled = false;
    violates('paused', () => {
      w.editObject('Deployment', 'orders-blue', (d) => { d.spec.template.metadata.labels['coxswain.dev/revision'] = v2; });
      w.advance(10_000);
    });
  });

  it('liveness: a spec change nothing acts on', () => {
    const { w, checker } = healthy('liveness');
    w.editSpec((s) => ({ ...s, image: `${IMAGE}:v2` }));
    w.runUntilQuiet(30 * 60_000);
    violates('liveness', () => checker.final(w, true));
  });

  it('refused: a slot given the template of a revision whose ConfigMap was refused', () => {
    const { w, learn } = healthy('refused');
    const doomed = learn({ ...base, config: DENIED.ConfigMap });
    violates('refused', () => {
      w.editObject('Deployment', 'orders-blue', (d) => { d.spec.template.metadata.labels['coxswain.dev/revision'] = doomed; });
      w.advance(10_000);
    });
  });

  describe('judged', () => {
    const analysed: SpecState = { ...base, strategy: { type: 'Canary', steps: [{ setWeight: 34 }, { analysis: { metrics: [METRIC], duration: '30s' } }], maxSurge: 1, maxUnavailable: 0 } };

    /** Healthy, then v2 rolled out with the operator on until the analysis at step 1 has measured it once. */
    function measured() {
      const h = healthy('judged', analysed);
      const v2 = h.learn({ ...analysed, tag: 'v2' });
      h.w.operatorEnabled = true;
      h.w.editSpec((s) => ({ ...s, image: `${IMAGE}:v2` }));
      if (!h.w.advanceUntil((x) => x.taken.some((t) => t.revision === v2), 300_000)) throw new Error('v2 never measured');
      if (h.w.microservice().status?.rollout?.step !== 1) throw new Error('not at the analysis step');
      return { ...h, v2 };
    }
    /** What a reconcile that read `read` and went past the analysis step would report. */
    const pastIt = (w: World, read: J): Reconciled => ({ at: w.now, read, status: { ...read.status, rollout: { ...read.status.rollout, step: 2 } }, writes: [], problems: [], events: [] });

    it('an analysis step passed on a measurement taken before the resume (issue 16, defect 1)', () => {
      const { w, checker, v2 } = measured();
      w.editSpec((s) => ({ ...s, paused: true }));
      w.advance(35_000);
      w.setHealth(v2, 'bad');
      w.editSpec((s) => ({ ...s, paused: false }));
      // The operator switched off before it reads the resume: the test writes what the defect did.
      w.operatorEnabled = false;
      violates('judged', () => checker.reconciled(w, pastIt(w, w.microservice())));
    });

    it('an analysis step passed though the candidate\'s last measurement was bad', () => {
      const { w, checker, v2 } = measured();
      const read = w.microservice();
      w.setHealth(v2, 'bad');
      const n = w.taken.length;
      w.advanceUntil((x) => x.taken.length > n, 60_000);
      violates('judged', () => checker.reconciled(w, pastIt(w, read)));
    });

    it('not when the step passes on a good measurement taken since the resume', () => {
      const { w, checker } = measured();
      w.editSpec((s) => ({ ...s, paused: true }));
      w.advance(35_000);
      w.editSpec((s) => ({ ...s, paused: false }));
      w.runUntilQuiet(600_000);
      if (w.microservice().status?.phase !== 'Healthy') throw new Error('v2 did not complete');
      if (checker.resumedAt === undefined) throw new Error('the resume went unseen');
    });
  });

  it('secrets: a copy the stable slot names deleted', () => {
    const { w } = healthy('secrets');
    const copy = w.store.list('Secret').find((s) => s.metadata.name.startsWith('orders-secret-'))!;
    violates('secrets', () => {
      w.deleteObject('Secret', copy.metadata.name);
      w.advance(1_000);
    });
  });

  it('secrets: a value in status', () => {
    const { w } = healthy('secrets');
    violates('secrets', () => {
      w.editObject('Microservice', 'orders', (o) => { o.status.rollout = { message: `password ${SECRET_B64[0]}` }; });
      w.advance(1_000);
    });
  });

  it('stableSlot: the stable slot edited and left so after a reconcile', () => {
    const { w, checker } = healthy('stableSlot');
    w.editObject('Deployment', 'orders-blue', (d) => { d.spec.template.spec.containers[0].image = `${IMAGE}:edited`; });
    violates('stableSlot', () => checker.reconciled(w, { at: w.now, writes: [], problems: [], events: [] }));
  });
});
