// The view model of a Microservice: what `kubectl coxswain list` / `get` print and what the
// dashboard draws, computed once from the object so the two can never disagree. Pure.
import type { AdoptionStatus, MicroserviceObject, MicroserviceStatus, Slot } from '../api/schema.js';
import { validateMicroservice } from '../api/validate.js';
import { SLOTS } from '../api/names.js';
import { stepPlan } from '../rollout/steps.js';
import { routeStepPlan } from '../rollout/traffic.js';

export const strategyOf = (obj: MicroserviceObject) => (obj.spec as { strategy?: { type?: string } } | undefined)?.strategy?.type ?? 'RollingUpdate';

/** What needs a person, most urgent first: a stalled or degraded release, then one waiting for a promote. */
export type Attention = 'stalled' | 'degraded' | 'waiting';

/** One line of the overview (and of `kubectl coxswain list`). */
export interface Summary {
  namespace: string;
  name: string;
  strategy: string;
  phase: string;
  /** The Ready condition's reason and message: why it is in this phase. */
  reason?: string;
  message?: string;
  ready?: string;
  step?: number;
  steps?: number;
  weight?: number;
  desiredWeight?: number;
  /** spec.image: what was asked for. */
  image: string;
  stableImage?: string;
  candidateImage?: string;
  /** When the Ready condition last changed: how long it has been in this state. */
  since?: string;
  attention?: Attention;
}

export function summarize(obj: MicroserviceObject): Summary {
  const st = obj.status ?? {};
  const r = st.rollout;
  const ready = st.conditions?.find((c) => c.type === 'Ready');
  const stalled = st.conditions?.find((c) => c.type === 'Stalled')?.status === 'True';
  const phase = st.phase ?? 'Pending';
  const attention: Attention | undefined = stalled ? 'stalled' : phase === 'Degraded' ? 'degraded' : phase === 'Paused' ? 'waiting' : undefined;
  const candidate = r?.candidateSlot ? st.slots?.[r.candidateSlot]?.image : undefined;
  return {
    namespace: obj.metadata.namespace ?? '',
    name: obj.metadata.name,
    strategy: strategyOf(obj),
    phase,
    ...(ready ? { reason: ready.reason, message: ready.message, since: ready.lastTransitionTime } : {}),
    ...(st.ready !== undefined ? { ready: st.ready } : {}),
    ...(r?.step !== undefined ? { step: r.step, steps: r.steps } : {}),
    ...(r?.weight !== undefined ? { weight: r.weight } : {}),
    ...(r?.desiredWeight !== undefined ? { desiredWeight: r.desiredWeight } : {}),
    image: (obj.spec as { image?: string } | undefined)?.image ?? '',
    ...(st.activeSlot && st.slots?.[st.activeSlot]?.image ? { stableImage: st.slots[st.activeSlot]!.image } : {}),
    ...(candidate ? { candidateImage: candidate } : {}),
    ...(attention ? { attention } : {}),
  };
}

export interface SlotView {
  slot: Slot;
  role: 'stable' | 'candidate' | 'idle';
  revision?: string;
  image?: string;
  readyReplicas: number;
  replicas: number;
}

export interface PlanRow {
  step: number;
  what: string;
  weight: number;
  stable: number;
  candidate: number;
  headers: string[];
  /** The step the rollout is at (only while a new revision rolls out). */
  current: boolean;
}

type AnalysisRun = NonNullable<NonNullable<NonNullable<MicroserviceStatus['rollout']>['analysis']>['step']>;

/** A Microservice's page and `kubectl coxswain get`: the summary, slots, revisions, the plan, route, analysis and last action. */
export interface Detail extends Summary {
  rolloutMessage?: string;
  stableRevision?: string;
  desiredRevision?: string;
  abortedRevision?: string;
  stalled?: { reason: string; message: string };
  slots: SlotView[];
  plan?: { replicas: number; routed: boolean; rows: PlanRow[] };
  traffic?: MicroserviceStatus['traffic'];
  /** The takeover spec.adopt asked for, in one line: "deployment/orders ScalingDown (at 2 of 4 replicas) - why". */
  adoption?: string;
  analysis: AnalysisRun[];
  lastAction?: MicroserviceStatus['lastAction'];
  conditions: NonNullable<MicroserviceStatus['conditions']>;
}

export function detail(obj: MicroserviceObject): Detail {
  const st = obj.status ?? {};
  const r = st.rollout;
  const stalled = st.conditions?.find((c) => c.type === 'Stalled');
  const slots = SLOTS.filter((s) => st.slots?.[s]).map((slot): SlotView => {
    const s = st.slots![slot]!;
    return {
      slot, role: slot === st.activeSlot ? 'stable' : r?.candidateSlot === slot ? 'candidate' : 'idle',
      ...(s.revision !== undefined ? { revision: s.revision } : {}), ...(s.image !== undefined ? { image: s.image } : {}),
      readyReplicas: s.readyReplicas ?? 0, replicas: s.replicas ?? 0,
    };
  });
  const valid = validateMicroservice(obj);
  let plan: Detail['plan'];
  if (valid.ok && valid.value.spec.strategy.type === 'Canary') {
    const routed = !!valid.value.spec.traffic?.gateway;
    const steps = routed ? routeStepPlan(valid.value.spec) : stepPlan(valid.value.spec).map((p) => ({ ...p, headers: [] as string[] }));
    const rollingOut = st.desiredRevision !== st.stableRevision;
    plan = {
      replicas: valid.value.spec.replicas, routed,
      rows: steps.map((p) => ({ step: p.step, what: p.what, weight: p.weight, stable: p.stable, candidate: p.candidate, headers: p.headers, current: r?.step === p.step && rollingOut })),
    };
  }
  return {
    ...summarize(obj),
    ...(r?.message ? { rolloutMessage: r.message } : {}),
    ...(st.stableRevision ? { stableRevision: st.stableRevision } : {}),
    ...(st.desiredRevision ? { desiredRevision: st.desiredRevision } : {}),
    ...(r?.abortedRevision ? { abortedRevision: r.abortedRevision } : {}),
    ...(stalled?.status === 'True' ? { stalled: { reason: stalled.reason, message: stalled.message } } : {}),
    slots,
    ...(plan ? { plan } : {}),
    ...(st.traffic ? { traffic: st.traffic } : {}),
    ...(st.adoption ? { adoption: adoptionLine(st.adoption) } : {}),
    analysis: [r?.analysis?.step, r?.analysis?.background].filter((x) => x !== undefined),
    ...(st.lastAction ? { lastAction: st.lastAction } : {}),
    conditions: st.conditions ?? [],
  };
}

const adoptionLine = (ad: AdoptionStatus) =>
  `deployment/${ad.deployment} ${ad.phase}${ad.scaledTo !== undefined ? ` (at ${ad.scaledTo} of ${ad.replicas ?? '-'} replicas)` : ''}${ad.message ? ` - ${ad.message}` : ''}`;
