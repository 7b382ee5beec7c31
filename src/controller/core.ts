// The pure part of one reconcile: the observed world and the time in, the writes in order, the
// status and the events out. The Reconciler (I/O) and the simulated cluster of the model tests
// both run this very function, so the tests exercise what runs in production.
import type { KubeEvent, Microservice, MicroserviceObject, MicroserviceStatus } from '../api/schema.js';
import { validateMicroservice } from '../api/validate.js';
import { ANNOTATION_ACTION, ANNOTATION_EJECT, deploymentName, formatAction, LABEL_SLOT, parseAction, revisionName, SLOTS, stableJSON } from '../api/names.js';
import type { KubeObject } from '../kube/object.js';
import { render, renderRevisionConfig, revisionOf } from '../render/index.js';
import { planHistory, revisionOfSpec } from '../render/revision.js';
import { reaches } from '../render/network.js';
import { upToDate } from '../render/diff.js';
import { configMapsReferenced, observeSlot, publishedReady, servedSlotOf } from '../rollout/observe.js';
import { decide, type Decision, type EngineInput } from '../rollout/engine.js';
import { answerBlocked } from '../rollout/actions.js';
import { blockedStatus, computeStatus, converged, invalidSpecStatus, onlyCountsChanged, statusEvents, type Problem } from '../rollout/status.js';
import { observeRoute, wantsRoute } from '../rollout/traffic.js';
import { writeOrder } from '../rollout/plan.js';
import type { ObservedSlots } from '../rollout/types.js';
import type { MeasurementRequest, MeasurementResult } from '../analysis/types.js';
import { resolveMetrics, type TemplateLookup } from '../analysis/refs.js';
import { type Relabel, relabels, releaseOf } from '../rollout/roles.js';
import { type SecretLookup, trackSecrets } from '../secrets/track.js';
import { secretsInTemplate } from '../secrets/refs.js';
import { type Adopted, takeover } from '../adopt/takeover.js';
import { guardService } from '../adopt/rewrites.js';
import { holdsTakeover } from '../adopt/backout.js';

export interface World {
  /** The Microservice as stored: status included, spec not yet validated. */
  ms: MicroserviceObject;
  /** Every object whose controller ownerReference is this Microservice. */
  owned: KubeObject[];
  /** Pods labelled with the Microservice's name. */
  pods: KubeObject[];
  /** The EndpointSlices of its Services (labelled with its name); unset: not read, as offline. */
  endpointSlices?: KubeObject[];
  now: Date;
  /** Whether the API server serves HTTPRoutes (and the operator watches them); unset: assumed, as offline. */
  gatewayAPI?: boolean;
  /** Whether the API server serves PodMonitors (and the operator watches them); unset: assumed, as offline. */
  podMonitors?: boolean;
  /** The AnalysisTemplates and ClusterAnalysisTemplates as read (unset: none are read). */
  templates?: TemplateLookup;
  /** Measurements that came back since the last reconcile (src/analysis/runner.ts). */
  measurements?: readonly MeasurementResult[];
  /**
   * What the spec's revision's own objects (`revisionWrites`: its ControllerRevision, its
   * ConfigMap) ran into when the shell wrote them ahead of everything else: empty when all went
   * in. A revision any of whose own objects was refused gets no pods and cannot be promoted.
   * Unset: they are among the plan's writes, first (the core run on its own, in tests).
   */
  refused?: readonly Problem[];
  /**
   * The Secrets of the Microservice's namespace, when the install tracks them (--track-secrets);
   * unset, no Secret is read and the spec is rendered as written.
   */
  secrets?: SecretLookup;
  /** With spec.adopt: the objects it names, as read (src/adopt/takeover.ts); unset, no takeover is run. */
  adopted?: Adopted;
  /** When this operator last wrote the Microservice's status (unset: not since it started). */
  statusWrittenAt?: Date;
}

export type Event = KubeEvent;

export type Write =
  /**
   * Server-side apply of a whole object. `create`: none of ours by that name exists (one not ours
   * might). `takeOver`: one not ours is taken over (spec.adopt named it), not a NameConflict.
   */
  | { apply: KubeObject; create: boolean; takeOver?: boolean }
  /** A slot Deployment resized through /scale, its pod template left as it is. */
  | { resize: { name: string; replicas: number } }
  /** An owned object no longer wanted, deleted by uid. */
  | { delete: KubeObject };

export interface ReconcilePlan {
  writes: Write[];
  /**
   * Status, events and when to come back, given the problems the writes ran into (World.refused
   * counts too); status undefined when unchanged.
   */
  finish(problems: Problem[]): Finished;
  /** The action annotation's value acted on: the shell clears it only if it still holds it. */
  clearAction?: string;
  /**
   * A bare action (`kubectl annotate ... coxswain.dev/action=pause`) has no id to run it once by:
   * the shell gives it one (only if the annotation still holds `from`), and the next pass runs it.
   */
  nameAction?: { from: string; to: string };
  /**
   * Whether the Microservice holds the adoption finalizer (src/adopt/backout.ts): true while a
   * takeover is under way, false when none is; undefined leaves it as it is (a blocked pass).
   */
  adoptionFinalizer?: boolean;
  /** Measurements due now, for the shell to take (with a timeout, off the reconcile). */
  measurements: MeasurementRequest[];
  /** Measurements folded into status by this reconcile. */
  measured: NonNullable<Decision['measured']>;
}

export interface Finished {
  status?: MicroserviceStatus;
  events: Event[];
  stalled: boolean;
  requeueAfterMs?: number;
  /** Pods whose coxswain.dev/role label is to change: patched on the pods, after the status. */
  relabels: Relabel[];
}

/**
 * A status write is no event the operator hears (status-only changes are filtered out), so a
 * pass that changed status comes back once more by itself: whatever the new state allows next
 * never waits for an unrelated event. A write that met a problem (a name taken by an object we do
 * not own) is looked at again, so its removal is noticed.
 */
const AFTER_CHANGE_MS = 1000;
/**
 * A change of counts alone (a pod Ready, a weight) is written at most this often: in a rollout
 * every pod would otherwise cost a status write, and each write holds the key while the next
 * step waits. Anything else (a step, a phase, a revision, a condition's status, an event) is
 * written at once, with the counts as they are then.
 */
export const COUNTS_EVERY_MS = 1000;
const AFTER_PROBLEM_MS = 15_000;

const id = (o: KubeObject) => `${o.kind}/${o.metadata.name}`;

/**
 * The spec's revision's own objects that are not in place yet: the ControllerRevision that keeps
 * it and its ConfigMap. The shell writes them before anything else and hands what they ran into
 * to `planReconcile` (World.refused): pods of a revision whose ConfigMap the API server refused
 * would read a ConfigMap that does not exist, so the engine gives that revision none. Nothing
 * while the Microservice is blocked (an invalid spec, no Gateway API, an eject), as nothing else is written.
 */
export function revisionWrites(world: World): Write[] {
  if (world.ms.metadata.annotations?.[ANNOTATION_EJECT]) return [];
  const valid = validateMicroservice(world.ms);
  if (!valid.ok || (wantsRoute(valid.value) && world.gatewayAPI === false)) return [];
  const tracked = trackSecrets(valid.value, world.secrets);
  return writesFor(ownObjects(tracked.ms, world.owned, tracked.copies), new Map(world.owned.map((o) => [id(o), o])));
}

/**
 * The spec's revision's own objects: its Secret copies (with spec.trackSecrets), the
 * ControllerRevision that keeps it (when none does yet) and its ConfigMap (when it has config).
 */
function ownObjects(ms: Microservice, owned: readonly KubeObject[], copies: readonly KubeObject[]): KubeObject[] {
  const { create } = planHistory(ms, owned.filter((o) => o.kind === 'ControllerRevision'), new Set(), ms.spec.revisionHistoryLimit);
  return [...copies, create, renderRevisionConfig(ms, revisionOfSpec(ms))].filter((o) => o !== undefined);
}

/** The applies that bring `objects` about: those not already held by what is observed. */
function writesFor(objects: readonly KubeObject[], mine: ReadonlyMap<string, KubeObject>): Write[] {
  return objects.flatMap((o) => {
    const current = mine.get(id(o));
    return current && upToDate(current, o) ? [] : [{ apply: o, create: !current }];
  });
}

export function planReconcile(world: World): ReconcilePlan {
  const { ms: obj, owned, pods, endpointSlices, now, gatewayAPI } = world;
  const ejectTo = obj.metadata.annotations?.[ANNOTATION_EJECT];
  if (ejectTo) return blocked(obj, blockedStatus(obj.status, obj.metadata.generation, ejecting(obj.metadata.name, ejectTo), now, 'the eject deletes the Microservice'));
  const valid = validateMicroservice(obj);
  if (!valid.ok) return blocked(obj, invalidSpecStatus(obj.status, obj.metadata.generation, valid.problems, now));
  // With spec.trackSecrets the pod reads the revision's copies of its Secrets: from here on, the
  // Microservice is the one that references them.
  const tracked = trackSecrets(valid.value, world.secrets);
  const ms = tracked.ms;
  const name = ms.metadata.name;
  const desiredRevision = revisionOf(ms);
  const actionValue = ms.metadata.annotations?.[ANNOTATION_ACTION];
  const request = parseAction(actionValue);
  const bare = !!request && !request.id;
  const action = request?.id ? { ...request, id: request.id } : undefined;
  const actionPlan = {
    ...(action && actionValue ? { clearAction: actionValue } : {}),
    ...(bare && actionValue ? { nameAction: { from: actionValue, to: formatAction({ ...request, id: `rv${ms.metadata.resourceVersion ?? '0'}` }) } } : {}),
  };
  if (wantsRoute(ms) && gatewayAPI === false) {
    const status = blockedStatus(obj.status, obj.metadata.generation, gatewayAPIMissing, now, 'the Gateway API is installed');
    // Blocked, a person is still answered: every action, abort included.
    const answered = action ? answerBlocked(status, action, desiredRevision, name, 'the Gateway API is missing', now) : { status, events: [] };
    return { ...blocked(obj, answered.status, answered.events), ...actionPlan };
  }
  const mine = new Map(owned.map((o) => [id(o), o]));
  const own = ownObjects(ms, owned, tracked.copies);
  const ownIds = new Set(own.map(id));
  const refused = world.refused?.[0];
  const observed: ObservedSlots = {};
  for (const slot of SLOTS) {
    const dep = mine.get(`Deployment/${deploymentName(name, slot)}`);
    if (dep) observed[slot] = observeSlot(dep, pods.filter((p) => p.metadata.labels?.[LABEL_SLOT] === slot), { now, minReadySeconds: ms.spec.minReadySeconds ?? 0 });
    // With a route, what the gateway can reach: the Ready addresses the slot's Service publishes.
    if (dep && endpointSlices && wantsRoute(ms)) observed[slot]!.publishedReady = publishedReady(endpointSlices, deploymentName(name, slot)); // the slot Service is named as its Deployment
  }
  const servedSlot = servedSlotOf(mine.get(`Service/${name}`));
  const inUse = new Set([ms.status?.stableRevision, ...SLOTS.map((s) => observed[s]?.revision)].filter((r) => r !== undefined));
  const history = planHistory(ms, owned.filter((o) => o.kind === 'ControllerRevision'), inUse, ms.spec.revisionHistoryLimit);
  const route = wantsRoute(ms) ? observeRoute(mine.get(`HTTPRoute/${name}`), name) : undefined;
  const resolved = resolveMetrics(ms.spec, ms.metadata.namespace ?? '', world.templates);
  const analysis = { metrics: resolved.metrics, results: world.measurements ?? [], ...(resolved.unresolved ? { unresolved: resolved.unresolved } : {}) };
  const stablePorts = history.kept.get(ms.status?.stableRevision ?? '')?.ports;
  const reachable = !stablePorts || reaches(stablePorts, history.kept.get(desiredRevision)?.ports ?? []);
  const decision = decide({
    ms, observed, desiredRevision, now, action, servedSlot, kept: new Set(history.kept.keys()), analysis, reachable, route, ...(refused ? { refused } : {}),
  });
  const activeSlot = decision.activeSlot;
  const rendered = render(ms, decision.plan, history.kept);
  // No PodMonitor where none can be: everything else goes on, and the status says why (below).
  const noPodMonitor = !!ms.spec.monitoring && world.podMonitors === false;
  if (noPodMonitor) rendered.objects = rendered.objects.filter((o) => o.kind !== 'PodMonitor');
  // The revision is kept before any slot runs it.
  if (history.create) rendered.objects.unshift(history.create);

  // The revision's own objects first (or already written by the shell): a slot runs it only once they are in.
  const writes: Write[] = world.refused === undefined ? writesFor(own, mine) : [];
  for (const w of writeOrder(rendered, observed)) {
    if ('resize' in w) writes.push({ resize: { name: deploymentName(name, w.resize.slot), replicas: w.resize.replicas } });
    else if (!ownIds.has(id(w.apply))) writes.push(...writesFor([w.apply], mine));
  }
  // Unwanted objects go; slot Deployments stay (the idle one is the rollback target), and so do
  // the ConfigMaps they use. Stale ConfigMaps go only once the rollout is done: pods of the old
  // revision may still read them.
  const done = converged(ms, desiredRevision, activeSlot, observed);
  const wanted = new Set([...rendered.objects.map(id), ...ownIds, ...[...history.kept.keys()].map((r) => `ControllerRevision/${revisionName(name, r)}`)]);
  for (const r of rendered.resize) {
    const dep = mine.get(`Deployment/${deploymentName(name, r.slot)}`);
    for (const cm of dep ? configMapsReferenced(dep) : []) wanted.add(`ConfigMap/${cm}`);
  }
  // A revision's Secret copies live as long as the revision is kept: their values are nowhere
  // else (not in the ControllerRevision), so undo to a kept revision finds them. So do those of
  // the slots' Deployments, whatever revision they run. Stale ones, like ConfigMaps, go only once
  // the rollout is done: a mounted Secret is read by running pods too.
  const templates = [...[...history.kept.values()].map((r) => r.template), ...SLOTS.map((s) => (mine.get(`Deployment/${deploymentName(name, s)}`) as { spec?: { template?: unknown } } | undefined)?.spec?.template)];
  for (const t of templates) for (const s of secretsInTemplate(t)) wanted.add(`Secret/${s}`);
  for (const [key, o] of mine) {
    if (wanted.has(key) || o.kind === 'Deployment' || ((o.kind === 'ConfigMap' || o.kind === 'Secret') && !done)) continue;
    writes.push({ delete: o });
  }
  // Capacity counted across both: every slot's Ready pods of its own revision serve behind the old
  // Service (they carry its labels); a canary's or blue-green's candidate is in green.
  const newReady = SLOTS.reduce((n, s) => n + (observed[s]?.readyReplicas ?? 0), 0);
  const adoption = ms.spec.adopt && world.adopted
    ? takeover({ ms, adopted: world.adopted, newReady, total: ms.spec.replicas, desiredRevision, now })
    : undefined;
  // A taken-over Service another field manager keeps rewriting: put back with a doubling wait, not fought.
  const serviceId = `Service/${ms.spec.adopt?.service}`;
  const guard = adoption && ms.spec.adopt?.service && !adoption.withhold.has(serviceId)
    ? guardService({ service: world.adopted?.service, wanted: writes.some((w) => 'apply' in w && id(w.apply) === serviceId), previous: ms.status?.adoption?.serviceRewrites, now })
    : undefined;
  if (adoption) {
    if (guard && !guard.write) adoption.withhold.add(serviceId);
    const engine = writes.splice(0).filter((w) => !('apply' in w) || !adoption.withhold.has(id(w.apply)));
    writes.push(...adoption.writes, ...engine.map((w) => ('apply' in w && adoption.takeOver.has(id(w.apply)) ? { ...w, takeOver: true } : w)));
  }
  // Kept while the Service is withheld for another reason (a revived Deployment): the wait goes on from where it was.
  const adoptionStatus = adoption && { ...adoption.status, serviceRewrites: guard ? guard.record : ms.status?.adoption?.serviceRewrites };
  if (adoptionStatus && !adoptionStatus.serviceRewrites) delete adoptionStatus.serviceRewrites;
  const adoptionProblems = [adoption?.problem, guard?.problem].filter((p) => p !== undefined);
  // Until the Service is Coxswain's, the move is not done: Ready stays False, so `kubectl wait`
  // and a pipeline do not take the old chart's objects for gone while they still serve.
  const underWay = adoptionStatus && (adoptionStatus.phase === 'ScalingDown' || adoptionStatus.phase === 'TakingOverService');
  const adopting = underWay ? `taking over deployment/${adoptionStatus.deployment}: ${adoptionStatus.message ?? adoptionStatus.phase}` : undefined;

  return {
    writes,
    finish: (problems) => {
      // The own objects' refusals first (the shell wrote them first); a template that is missing
      // or invalid stalls the Microservice as a refused write does.
      const met = [...(world.refused ?? []), ...problems];
      const all = [...met, ...resolved.problems, ...adoptionProblems, ...(noPodMonitor ? [podMonitorMissing] : [])];
      // A missing PodMonitor holds up no pod: the progress deadline runs on through it.
      const computed = statusAfter({ ms, observed, desiredRevision, now }, decision, all, noPodMonitor ? [podMonitorMissing] : [], adopting);
      const status = { ...computed, ...(adoptionStatus ? { adoption: adoptionStatus } : {}), ...(tracked.status ? { secrets: tracked.status } : {}) };
      const changedTo = changed(ms.status, status);
      const events = changedTo ? [...decision.events, ...statusEvents(ms.status, status)] : [];
      const holdMs = changedTo && events.length === 0 && onlyCountsChanged(ms.status, status) && world.statusWrittenAt
        ? world.statusWrittenAt.getTime() + COUNTS_EVERY_MS - now.getTime() : 0;
      const written = holdMs > 0 ? undefined : changedTo;
      const requeue = Math.min(decision.requeueAfterMs ?? Infinity, written ? AFTER_CHANGE_MS : Infinity, holdMs > 0 ? holdMs : Infinity,
        met.length > 0 ? AFTER_PROBLEM_MS : Infinity, adoption?.requeueAfterMs || Infinity, guard?.requeueAfterMs ?? Infinity);
      return {
        status: written, events: written ? events : [], stalled: !!decision.problem || all.length > 0,
        ...(requeue < Infinity ? { requeueAfterMs: requeue } : {}),
        // Roles follow the status this pass arrives at (a promotion relabels in the very pass that makes it).
        relabels: relabels(pods, releaseOf(ms.spec.strategy.type, status), name),
      };
    },
    ...actionPlan,
    adoptionFinalizer: holdsTakeover(adoptionStatus?.phase),
    measurements: decision.measurements ?? [],
    measured: decision.measured ?? [],
  };
}

/**
 * The status a decision leads to, given the problems its writes met. Blocked by something other
 * than its pods, the rollout's progress-deadline clock is not kept, so it starts again once the
 * block is gone; `besidePods` are those of `problems` that hold up no pod, and stop no clock.
 */
export function statusAfter(input: Pick<EngineInput, 'ms' | 'observed' | 'desiredRevision' | 'now'>, decision: Decision, problems: Problem[] = [], besidePods: Problem[] = [], adopting?: string): MicroserviceStatus {
  const { ms, observed, desiredRevision, now } = input;
  const all = decision.problem ? [decision.problem, ...problems] : problems;
  const blocking = problems.filter((p) => !besidePods.includes(p));
  const outcome = blocking.length > 0 && decision.rollout?.unreadySince ? { ...decision, rollout: { ...decision.rollout, unreadySince: undefined } } : decision;
  return computeStatus({ ms, desiredRevision, activeSlot: decision.activeSlot, observed, problems: all, now, outcome, ...(adopting ? { adopting } : {}) });
}

const gatewayAPIMissing: Problem = {
  reason: 'GatewayAPIMissing',
  message: 'spec.traffic.gateway needs the Gateway API: HTTPRoutes (gateway.networking.k8s.io/v1) are not served by this cluster, '
    + 'or the operator runs with --gateway-api=false; install the Gateway API CRDs (standard channel) and it goes on by itself',
};

const podMonitorMissing: Problem = {
  reason: 'PodMonitorMissing',
  message: 'spec.monitoring needs the Prometheus Operator: PodMonitors (monitoring.coreos.com/v1) are not served by this cluster, '
    + 'or the operator runs with --pod-monitors=false; everything else is applied. Install the Prometheus Operator CRDs and it goes on by itself',
};

/** Being ejected: its Service is the plugin's to hand over, so nothing more is written for it (docs/adopt.md). */
export function ejecting(name: string, to: string): Problem {
  return {
    reason: 'Ejecting',
    message: `kubectl coxswain eject is handing ${name} over to deployment/${to}: Coxswain writes nothing more for it; `
      + `run the eject again to finish it, or remove the ${ANNOTATION_EJECT} annotation to cancel it`,
  };
}

/** Nothing is written until the problem goes (an invalid spec, no Gateway API): the status says why, once. */
function blocked(obj: MicroserviceObject, status: MicroserviceStatus, events: KubeEvent[] = []): ReconcilePlan {
  return {
    writes: [],
    finish: () => {
      const written = changed(obj.status, status);
      return { status: written, events: written ? [...events, ...statusEvents(obj.status, status)] : [], stalled: true, relabels: [] };
    },
    measurements: [],
    measured: [],
  };
}

function changed(before: MicroserviceStatus | undefined, after: MicroserviceStatus): MicroserviceStatus | undefined {
  return stableJSON(before ?? {}) === stableJSON(after) ? undefined : after;
}
