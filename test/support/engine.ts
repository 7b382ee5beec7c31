// What the engine's table tests share: revisions, a clock, slot fixtures, specs and statuses in
// the shapes the engine writes, and a one-line view of a plan's slot sizes.
import type { MicroserviceSpecInput, MicroserviceStatus, Slot } from '../../src/api/schema.js';
import { decide, type Decision, type RolloutStatus } from '../../src/rollout/engine.js';
import type { ObservedSlot, ObservedSlots } from '../../src/rollout/types.js';
import { actionOf, microservice, readySlot } from './fixtures.js';

export const OLD = 'rev-old';
export const NEW = 'rev-new';
export const NEWER = 'rev-newer';
export const T0 = new Date('2024-05-01T12:00:00.000Z');
export const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
export const iso = (seconds: number) => at(seconds).toISOString();
export const atMs = (ms: number) => new Date(T0.getTime() + ms);

/** A candidate slot whose pods exist but are not Ready. */
export const unready = (revision: string, replicas: number, over: Partial<ObservedSlot> = {}) =>
  readySlot(revision, replicas, { readyReplicas: 0, availableReplicas: 0, ...over });
export const crashing = (revision: string, replicas: number, over: Partial<ObservedSlot> = {}) =>
  unready(revision, replicas, { failingPods: replicas, failure: 'CrashLoopBackOff', ...over });

/** The steps every canary table below walks through, at 4 replicas: targets 1, 1, 2, 2, 3, then 4. */
export const STEPS = [{ setWeight: 25 }, { pause: { duration: '5m' } }, { setWeight: 50 }, { pause: {} }, { setWeight: 75 }];

export type Strategy = NonNullable<MicroserviceSpecInput['strategy']>;
export const spec = (strategy: Strategy, over: Partial<MicroserviceSpecInput> = {}): MicroserviceSpecInput =>
  ({ image: 'registry.example/orders:2', replicas: 4, strategy, ...over });
type CanaryOver = Omit<Partial<MicroserviceSpecInput>, 'strategy'> & { canary?: Partial<NonNullable<Strategy['canary']>>; strategy?: Partial<Strategy> };
export const canarySpec = (over: CanaryOver = {}) => {
  const { canary, strategy, ...rest } = over;
  return spec({ type: 'Canary', canary: { steps: STEPS, maxSurge: 1, maxUnavailable: 0, ...canary }, ...strategy }, rest);
};
export const blueGreenSpec = (blueGreen: Strategy['blueGreen'] = { previewReplicas: 1, autoPromotionSeconds: 60, scaleDownDelaySeconds: 30 }, over: Partial<MicroserviceSpecInput> = {}) =>
  spec({ type: 'BlueGreen', blueGreen }, { replicas: 3, ...over });

/** Status of a Microservice whose stable revision is OLD in blue, rolling out NEW into green. */
/** A rollout under way as the engine writes it: a step begun at T0 (or at stepStartedAt), its clock with it. */
export const rolling = (rollout: RolloutStatus = {}, over: MicroserviceStatus = {}): MicroserviceStatus => {
  const started = rollout.stepStartedAt ?? T0.toISOString();
  return {
    stableRevision: OLD, desiredRevision: NEW, activeSlot: 'blue', ...over,
    rollout: { candidateSlot: 'green', step: 0, steps: STEPS.length, stepStartedAt: started, unreadySince: started, ...rollout },
  };
};
export const steadyOn = (revision: string, activeSlot: Slot = 'blue', over: MicroserviceStatus = {}): MicroserviceStatus =>
  ({ stableRevision: revision, desiredRevision: revision, activeSlot, ...over });

export interface Case {
  spec: MicroserviceSpecInput;
  status?: MicroserviceStatus;
  observed?: ObservedSlots;
  desired?: string;
  now?: Date;
  action?: string;
  /** The slot the live Service selects ('all': every slot, as a canary's does). */
  served?: Slot | 'all';
}
export function run({ spec: s, status, observed = {}, desired = NEW, now = T0, action, served }: Case): Decision {
  return decide({ ms: microservice(s, {}, status), observed, desiredRevision: desired, now, action: actionOf(action), servedSlot: served });
}
/** The planned sizes, as `{ blue: '4 keep', green: '1 current' }`, for tables that read well. */
export const sizes = (d: Decision, desired = NEW) => Object.fromEntries(Object.entries(d.plan.slots).map(([slot, p]) => [slot, `${p.replicas} ${p.revision === desired ? 'current' : 'keep'}`]));
