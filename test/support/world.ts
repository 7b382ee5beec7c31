// An honest simulated cluster for model-based tests: Kubernetes-shaped objects (plain JSON, as the
// API server returns them) in one namespace, the controllers that move them, and the operator
// running the very pure core production runs (`planReconcile`), carried out as the Reconciler
// carries it out. What is simulated, and how faithfully:
//
// - the API server: an object store with uid, generation (bumped when spec changes), and
//   resourceVersion (bumped on every real change, none on a no-op); server-side apply replaces the
//   fields Coxswain renders and keeps the rest; defaults are filled in as the API server fills them;
//   objects are frozen, so nothing that reads them can change them behind the store's back;
// - the Deployment controller: one ReplicaSet per pod template (pod-template-hash), rolled under the
//   Deployment's own maxSurge/maxUnavailable exactly as pkg/controller/deployment does it (new RS
//   scaled up within the surge, unhealthy old pods cleaned up first, old RSs scaled down oldest
//   first within maxUnavailable, proportional scaling when spec.replicas changes mid-rollout,
//   paused Deployments neither create nor roll a ReplicaSet), and its status and Progressing
//   condition (ProgressDeadlineExceeded) as it writes them, from the ReplicaSets' own (lagging)
//   status;
// - the ReplicaSet controller: creates and deletes pods (unscheduled, pending, unready, then the
//   most recently Ready first), status computed from the pods seen before its own changes;
// - kubelets: a pod starts after a short delay and becomes Ready after a seeded random delay, or
//   never (an image tagged `hang…`), or crash-loops (`crash…`: containerStatuses waiting
//   CrashLoopBackOff), or is slow (`slow…`); a deleted pod lingers as terminating for a moment;
// - the garbage collector (background propagation) and the EndpointSlice controller (per Service,
//   the pods its selector matches, Ready ones marked ready, terminating ones not; per port, a pod
//   counts for a named targetPort only if it has a container port of that name);
// - the operator: a work queue as src/controller/queue.ts has it (de-duplicated adds, addAfter where
//   the earlier timer wins, a requeue dropped when an event came in during the run, exponential
//   backoff on errors), fed as the informers feed it (a Microservice change that is not only
//   status, any event of an object it owns, any event of one of its pods). There is NO resync: a
//   rollout that needs another pass must ask for it. A restart keeps nothing but the store and
//   reconciles everything once;
// - the operator's informer caches: a reconcile reads them, not the store. The watch fills them and
//   so do the answers to the operator's own writes, through the rule production's informers use
//   (src/controller/freshness.ts: nothing older replaces what a cache holds). Events arrive at once,
//   unless `lagWatches` delays them: then each kind's watch delivers in order but late, other kinds'
//   and the answers to the operator's writes overtake them, and some events come twice;
// - the application's metrics and the analysis shell (src/analysis/runner.ts): each revision has a
//   health the scenario sets (good, bad, no data); a measurement the engine asks for is taken
//   after a seeded query time, reads the health of its revision at that moment (an error rate of
//   0.01, 0.5, or no series at all), and waits in an inbox that the next reconcile is handed, as
//   the runner's is; a finished measurement queues a reconcile. A restart loses the inbox and the
//   measurements in flight, as a dead process does. Every result handed back is logged.
//
// Time is simulated and events are discrete: `advance` jumps from one due thing (a pod's timer, a
// requeue, a late controller, a progress deadline) to the next, and at each instant every actor runs,
// in a seeded random order, until nothing changes. Controllers may be a second late.
import { createHash } from 'node:crypto';
import type { MicroserviceObject, MicroserviceStatus } from '../../src/api/schema.js';
import { ANNOTATION_ACTION, LABEL_MANAGED_BY, LABEL_NAME, MANAGER, stableJSON } from '../../src/api/names.js';
import { planReconcile, revisionWrites, type Event as CoreEvent, type Write } from '../../src/controller/core.js';
import type { KubeObject } from '../../src/kube/object.js';
import { onlyStatusChanged } from '../../src/controller/wiring.js';
import { Freshness } from '../../src/controller/freshness.js';
import { secretLookup, trackersOf } from '../../src/secrets/watch.js';
import { prng } from './cluster.js';
export { prng };
import type { Problem } from '../../src/rollout/status.js';
import type { MeasurementRequest, MeasurementResult, Sample } from '../../src/analysis/types.js';

export const NAMESPACE = 'shop';
export const EPOCH = Date.parse('2030-01-01T00:00:00Z');
export const HASH_LABEL = 'pod-template-hash';
const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';

/* eslint-disable @typescript-eslint/no-explicit-any */
/** Plain JSON, read and written freely inside the simulation. */
type J = any;

export class ApiError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** Kubernetes timestamps have second precision. */
export const stamp = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

const clone = <T>(o: T): T => structuredClone(o);

/** The uid of an object's controller, if it has one. */
export function controllerOf(o: KubeObject): { kind: string; name: string; uid: string } | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller);
}

export const isTerminating = (o: KubeObject) => !!o.metadata.deletionTimestamp;

/** A pod's Ready condition is True. */
export function podReady(p: KubeObject): boolean {
  return !!(p as J).status?.conditions?.some((c: J) => c.type === 'Ready' && c.status === 'True');
}

/** Kinds whose metadata.generation the API server bumps on a spec change. */
const GENERATION = new Set(['Deployment', 'ReplicaSet', 'Microservice', 'HorizontalPodAutoscaler', 'NetworkPolicy']);

type Listener = (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject, old?: KubeObject) => void;

/** The API server's storage for one namespace. Stored objects are frozen; updates replace them. */
export class Store {
  private readonly objects = new Map<string, KubeObject>();
  private readonly uids = new Map<string, KubeObject>();
  private lastUid = 0;
  private rv = 0;
  private readonly listeners: Listener[] = [];

  constructor(private readonly clock: () => number) {}

  on(l: Listener): void {
    this.listeners.push(l);
  }

  get(kind: string, name: string): KubeObject | undefined {
    return this.objects.get(`${kind}/${name}`);
  }

  byUid(uid: string): KubeObject | undefined {
    return this.uids.get(uid);
  }

  list(kind?: string): KubeObject[] {
    const all = [...this.objects.values()];
    return kind ? all.filter((o) => o.kind === kind) : all;
  }

  create(obj: KubeObject): KubeObject {
    const key = `${obj.kind}/${obj.metadata.name}`;
    if (this.objects.has(key)) throw new ApiError(409, `${key} already exists`);
    const o: J = clone(obj);
    o.metadata = { ...o.metadata, namespace: NAMESPACE, uid: `uid-${String(++this.lastUid).padStart(4, '0')}`, resourceVersion: String(++this.rv), creationTimestamp: stamp(this.clock()) };
    if (GENERATION.has(o.kind)) o.metadata.generation = 1;
    delete o.metadata.deletionTimestamp;
    deepFreeze(o);
    this.objects.set(key, o);
    this.uids.set(o.metadata.uid, o);
    for (const l of this.listeners) l('ADDED', o);
    return o;
  }

  /** Stores `next` (a changed copy of the stored object). A change of nothing is no write at all. */
  update(next: KubeObject): KubeObject {
    const key = `${next.kind}/${next.metadata.name}`;
    const cur = this.objects.get(key) as J;
    if (!cur) throw new ApiError(404, `${key} not found`);
    const o: J = clone(next);
    o.metadata = { ...o.metadata, uid: cur.metadata.uid, resourceVersion: cur.metadata.resourceVersion, creationTimestamp: cur.metadata.creationTimestamp };
    if (GENERATION.has(o.kind)) o.metadata.generation = cur.metadata.generation;
    if (stableJSON(o) === stableJSON(cur)) return cur;
    if (GENERATION.has(o.kind) && stableJSON(o.spec) !== stableJSON(cur.spec)) o.metadata.generation = cur.metadata.generation + 1;
    o.metadata.resourceVersion = String(++this.rv);
    deepFreeze(o);
    this.objects.set(key, o);
    this.uids.set(o.metadata.uid, o);
    for (const l of this.listeners) l('MODIFIED', o, cur);
    return o;
  }

  remove(kind: string, name: string): void {
    const key = `${kind}/${name}`;
    const cur = this.objects.get(key);
    if (!cur) return;
    this.objects.delete(key);
    this.uids.delete(cur.metadata.uid ?? '');
    // As the API server's watch tells it: the object as it was, at the delete's own resourceVersion.
    const gone = deepFreeze({ ...cur, metadata: { ...cur.metadata, resourceVersion: String(++this.rv) } });
    for (const l of this.listeners) l('DELETED', gone);
  }
}

// ---------------------------------------------------------------------------------------------
// Server-side apply, defaulting and the validation the API server does that Coxswain relies on.

/** Fields the API server fills in; kept from the stored object when it already has them (clusterIP). */
function withDefaults(o: J, existing?: J): J {
  if (o.kind === 'Deployment') {
    const s = o.spec;
    s.replicas ??= 1;
    s.strategy ??= { type: 'RollingUpdate' };
    if (s.strategy.type === 'RollingUpdate') s.strategy.rollingUpdate = { maxSurge: '25%', maxUnavailable: '25%', ...s.strategy.rollingUpdate };
    s.revisionHistoryLimit ??= 10;
    s.progressDeadlineSeconds ??= 600;
    defaultPodSpec(s.template.spec);
  }
  if (o.kind === 'Service') {
    const s = o.spec;
    s.type ??= 'ClusterIP';
    s.clusterIP = existing?.spec?.clusterIP ?? `10.96.0.${(parseInt(shortHash(o.metadata.name), 16) % 250) + 1}`;
    s.sessionAffinity ??= 'None';
    s.internalTrafficPolicy ??= 'Cluster';
    for (const p of s.ports ?? []) {
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port;
    }
  }
  return o;
}

function defaultPodSpec(spec: J): void {
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  for (const c of spec.containers ?? []) {
    c.imagePullPolicy ??= 'IfNotPresent';
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    for (const p of c.ports ?? []) p.protocol ??= 'TCP';
  }
}

/**
 * An admission policy of the simulated cluster (a webhook's 400): the config value `deny-configmap`
 * is refused in a ConfigMap, `deny-revision` in a ControllerRevision, as a config over the API
 * server's size limit is, whatever the schema let through.
 */
export const DENIED = { ConfigMap: 'deny-configmap', ControllerRevision: 'deny-revision' } as const;

function denied(o: J): string | undefined {
  const values = Object.values<unknown>((o.kind === 'ConfigMap' ? o.data : o.kind === 'ControllerRevision' ? o.data?.config?.data : undefined) ?? {});
  return values.includes(DENIED[o.kind as keyof typeof DENIED]) ? `admission webhook "policy.example" denied the request: ${o.kind} holds ${DENIED[o.kind as keyof typeof DENIED]}` : undefined;
}

/** What the API server refuses (422, or a policy's 400) that a rendered object could run into. */
function refusal(o: J, existing: J | undefined): string | undefined {
  const policy = denied(o);
  if (policy) return policy;
  if (o.kind === 'Service') {
    const seen = new Set<string>();
    for (const [i, p] of (o.spec?.ports ?? []).entries()) {
      const k = `${p.port}/${p.protocol ?? 'TCP'}`;
      if (seen.has(k)) return `spec.ports[${i}]: Duplicate value: ${JSON.stringify({ port: p.port, protocol: p.protocol ?? 'TCP' })}`;
      seen.add(k);
    }
  }
  if (o.kind === 'Deployment' && existing && stableJSON(existing.spec.selector) !== stableJSON(o.spec.selector)) {
    return 'spec.selector: Invalid value: field is immutable';
  }
  if (o.kind === 'ConfigMap' && existing?.immutable && stableJSON(existing.data ?? {}) !== stableJSON(o.data ?? {})) {
    return 'data: Forbidden: field is immutable when `immutable` is set';
  }
  if (o.kind === 'Secret' && existing?.immutable && (stableJSON(existing.data ?? {}) !== stableJSON(o.data ?? {}) || existing.type !== o.type)) {
    return 'data: Forbidden: field is immutable when `immutable` is set';
  }
  if (o.kind === 'ControllerRevision' && existing && stableJSON(existing.data ?? null) !== stableJSON(o.data ?? null)) {
    return 'data: Invalid value: field is immutable';
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Pods' fates.

export type PodKind = 'good' | 'slow' | 'never' | 'crash';

/** How pods of an image behave, from its tag: `hang…` never Ready, `crash…` crash-loops, `slow…` takes minutes. */
export function podKindOfImage(image: string): PodKind {
  const tag = image.slice(image.lastIndexOf(':') + 1);
  if (tag.startsWith('hang')) return 'never';
  if (tag.startsWith('crash')) return 'crash';
  if (tag.startsWith('slow')) return 'slow';
  return 'good';
}

interface Fate {
  startAt: number;
  readyAt?: number;
  crashAt?: number;
  goneAt?: number;
}

// ---------------------------------------------------------------------------------------------
// The application's metrics, as the analysis providers read them.

/** How a revision's metric reads: an error rate within any sane threshold, far above it, or no series. */
export type Health = 'good' | 'bad' | 'nodata';

/** The error rate a query returns for a revision of this health. */
export const ERROR_RATE: Record<Health, Sample> = { good: { values: [0.01] }, bad: { values: [0.5] }, nodata: { values: [] } };

/** A measurement taken and handed back to the operator: what the world knew of it. */
export interface Taken {
  /** When the query finished (the result's `at`). */
  at: number;
  key: string;
  revision: string;
  run: string;
  runStartedAt: string;
  metric: string;
  seq: number;
  /** The revision's health when it was taken. */
  health: Health;
}

// ---------------------------------------------------------------------------------------------
// The operator's work queue and what one reconcile did.

export interface Reconciled {
  at: number;
  /** The Microservice as this reconcile read it from its cache (status before, spec acted on). */
  read?: MicroserviceObject;
  /** Its children as it read them (what reaches the cache during the reconcile is not among them). */
  readOwned?: KubeObject[];
  writes: string[];
  problems: Problem[];
  status?: MicroserviceStatus;
  events: CoreEvent[];
  requeueAfterMs?: number;
  error?: string;
}

class Crash extends Error {}

interface OperatorState {
  dirty: boolean;
  timerAt?: number;
  /** When this operator last wrote the status (a restart forgets it, as the Reconciler's memory goes). */
  statusWrittenAt?: Date;
  attempt: number;
  /** The next reconcile dies before this many of its writes (status and the action's clearing included). */
  crashAfterWrites?: number;
}

export interface WorldOptions {
  seed: number;
  name?: string;
  podKind?: (image: string) => PodKind;
  /** A good pod's time from start to Ready, ms. */
  readyDelayMs?: [number, number];
  /** The chance that the Deployment or ReplicaSet controller is a second late at an instant. */
  lateness?: number;
  /** Called after every reconcile (the stable-slot invariant), one that crashed too (with `error`, having written what it wrote). */
  onReconciled?: (w: World, r: Reconciled) => void;
  /** Called after every instant has settled. */
  onSettled?: (w: World) => void;
  /** The operator runs with --track-secrets: it watches Secrets, and reads those the spec references. */
  trackSecrets?: boolean;
}

export interface Deleted {
  /** Background propagation: children go through the garbage collector. */
  kind: string;
  name: string;
}

export class World {
  now = EPOCH;
  readonly name: string;
  readonly store: Store;
  readonly rand: () => number;
  readonly reconciles: Reconciled[] = [];
  readonly events: Array<CoreEvent & { at: number }> = [];
  private readonly fates = new Map<string, Fate>();
  private op: OperatorState = { dirty: false, attempt: 0 };
  private inRun = false;
  private eventDuringRun = false;
  private changed = false;
  private late = new Map<string, number>();
  private lastIp = 0;
  private podSeq = 0;
  /** Top-level fields and metadata keys Coxswain applied last, per object: SSA removes what it no longer sends. */
  private readonly applied = new Map<string, { fields: string[]; labels: string[]; annotations: string[] }>();
  /** The operator's informer caches: every object of the kinds they watch, by kind/name, as last told. */
  private cache = new Map<string, KubeObject>();
  private freshness = new Freshness();
  /** Watch events on their way, per kind (one watch each), in delivery order. */
  private inFlight = new Map<string, Array<{ at: number; type: WatchType; obj: KubeObject }>>();
  private lag = { until: -Infinity, maxMs: 0 };
  /** What the operator's caches refused as older than what they held: answers to its writes, watch events. */
  readonly stale = { answers: 0, events: 0 };
  restarts = 0;
  /** Each revision's health (good unless set). */
  private readonly health = new Map<string, Health>();
  /** The runner's inbox: results waiting for a reconcile to fold them in. */
  private inbox: MeasurementResult[] = [];
  /** Measurements in flight, by request key, with when they finish. */
  private measuring = new Map<string, { dueAt: number; req: MeasurementRequest }>();
  /** Every measurement handed back to the operator, in the order taken. */
  readonly taken: Taken[] = [];
  /** Off: no operator at all (to test the controllers, or the model's checks, on their own). */
  operatorEnabled = true;

  constructor(readonly opts: WorldOptions) {
    this.name = opts.name ?? 'orders';
    this.rand = prng(opts.seed);
    this.store = new Store(() => this.now);
    this.store.on((type, obj) => this.onEvent(type, obj));
  }

  // ---- what a user does ---------------------------------------------------------------------

  /** `kubectl apply` of a new Microservice. */
  createMicroservice(spec: unknown, annotations?: Record<string, string>): void {
    this.store.create({ apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', metadata: { name: this.name, ...(annotations ? { annotations } : {}) }, spec });
  }

  microservice(): MicroserviceObject {
    return this.store.get('Microservice', this.name) as unknown as MicroserviceObject;
  }

  /** `kubectl apply` of an edited spec (GitOps sync, `kubectl scale` through /scale). */
  editSpec(edit: (spec: J) => J): void {
    const ms: J = clone(this.microservice());
    ms.spec = edit(ms.spec);
    this.store.update(ms);
  }

  /** `kubectl apply` of the user's Secret `name` holding `password: value` (created, or its data replaced). */
  setSecret(name: string, value: string): void {
    const data = { password: Buffer.from(value).toString('base64') };
    const cur = this.store.get('Secret', name);
    if (cur) this.store.update({ ...clone(cur), data });
    else this.store.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name }, type: 'Opaque', data });
  }

  /** `kubectl coxswain <action>`: the annotation `<action>:<id>`. */
  setAction(value: string): void {
    const ms: J = clone(this.microservice());
    ms.metadata.annotations = { ...ms.metadata.annotations, [ANNOTATION_ACTION]: value };
    this.store.update(ms);
  }

  /** `kubectl delete` (background propagation). */
  deleteObject(kind: string, name: string): boolean {
    const o = this.store.get(kind, name);
    if (!o) return false;
    this.deleteNow(o);
    return true;
  }

  /** `kubectl edit` / `kubectl set image`: someone else changes an object. */
  editObject(kind: string, name: string, edit: (o: J) => void): boolean {
    const cur = this.store.get(kind, name);
    if (!cur) return false;
    const o: J = clone(cur);
    edit(o);
    this.store.update(o);
    return true;
  }

  /** The operator restarts: its queue, timers and backoff are gone; everything is reconciled once. */
  restartOperator(crashAfterWrites?: number): void {
    if (crashAfterWrites !== undefined) {
      // It dies in the middle of its next reconcile, then starts again.
      this.op.crashAfterWrites = crashAfterWrites;
      this.op.dirty = true;
      return;
    }
    this.restarts++;
    this.op = { dirty: true, attempt: 0 };
    this.relist();
  }

  /**
   * For the next `ms`, the operator's watches lag: each event arrives up to `maxMs` late (each
   * kind's in order), and one in four comes again later, after newer ones (a replay).
   */
  lagWatches(ms: number, maxMs: number): void {
    this.lag = { until: this.now + ms, maxMs };
  }

  /** The application's metric for a revision turns good, bad or silent, from now on. */
  setHealth(revision: string, health: Health): void {
    this.health.set(revision, health);
  }

  /** Measurements being taken now (the runner's queries in flight). */
  get measurementsInFlight(): number {
    return this.measuring.size;
  }

  healthOf(revision: string | undefined): Health {
    return (revision && this.health.get(revision)) || 'good';
  }

  // ---- reading the world --------------------------------------------------------------------

  /** Objects whose controller is the Microservice (what its informers hold, labelled managed-by). */
  owned(from: KubeObject[] = this.store.list(), uid = this.microservice()?.metadata.uid): KubeObject[] {
    return from.filter((o) => o.kind !== 'Pod' && o.metadata.labels?.[LABEL_MANAGED_BY] === MANAGER && controllerOf(o)?.uid === uid);
  }

  pods(from: KubeObject[] = this.store.list('Pod')): KubeObject[] {
    return from.filter((p) => p.kind === 'Pod' && p.metadata.labels?.[LABEL_NAME] === this.name && p.metadata.labels?.[LABEL_MANAGED_BY] === MANAGER);
  }

  /** What the operator's cache holds of an object (it may lag behind the store). */
  cached(kind: string, name: string): KubeObject | undefined {
    return this.cache.get(`${kind}/${name}`);
  }

  /** Everything the operator's cache holds. */
  cachedAll(): KubeObject[] {
    return [...this.cache.values()];
  }

  endpointSlices(service: string): KubeObject[] {
    return this.store.list('EndpointSlice').filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === service);
  }

  /**
   * The pods that serve every port of a Service: Ready endpoints in its EndpointSlices, once per
   * Service port. Returns, per port name, the pod names that are ready endpoints for it.
   */
  readyEndpoints(service: string): Map<string, string[]> {
    const svc: J = this.store.get('Service', service);
    const out = new Map<string, string[]>();
    if (!svc) return out;
    for (const p of svc.spec.ports ?? []) out.set(p.name ?? '', []);
    for (const slice of this.endpointSlices(service) as J[]) {
      for (const port of slice.ports ?? []) {
        const list = out.get(port.name ?? '');
        if (!list) continue;
        for (const e of slice.endpoints ?? []) if (e.conditions?.ready) list.push(e.targetRef.name);
      }
    }
    return out;
  }

  /**
   * The pods `service` sends traffic to: the Ready endpoints of its first port (the one a port
   * that is added later, such as metrics, does not take away).
   */
  servingPods(service: string): KubeObject[] {
    const first = [...this.readyEndpoints(service).values()][0] ?? [];
    return first.map((n) => this.store.get('Pod', n)).filter((p): p is KubeObject => !!p);
  }

  /** When the operator is due to reconcile by itself (its requeue), if it is. */
  get requeueAt(): number | undefined {
    return this.op.timerAt;
  }

  // ---- time -------------------------------------------------------------------------------

  /** Runs the cluster for `ms` of simulated time, instant by instant. */
  advance(ms: number): void {
    const end = this.now + ms;
    this.settle();
    for (;;) {
      const next = this.nextDue();
      if (next === undefined || next > end) break;
      this.now = Math.max(next, this.now);
      this.settle();
    }
    this.now = end;
    this.settle();
  }

  /** Runs until nothing is due any more, or `maxMs` has passed; returns true if it went quiet. */
  runUntilQuiet(maxMs: number, quiet: (w: World) => boolean = () => true): boolean {
    const end = this.now + maxMs;
    this.settle();
    for (;;) {
      if (quiet(this) && this.nextDue() === undefined) return true;
      const next = this.nextDue();
      if (next === undefined || next > end) {
        this.now = end;
        this.settle();
        return quiet(this) && this.nextDue() === undefined;
      }
      this.now = Math.max(next, this.now);
      this.settle();
    }
  }

  /** Runs the cluster until `done` holds after an instant, or `maxMs` has passed; returns whether it held. */
  advanceUntil(done: (w: World) => boolean, maxMs: number): boolean {
    const end = this.now + maxMs;
    this.settle();
    while (!done(this)) {
      const next = this.nextDue();
      if (next === undefined || next > end) {
        this.now = end;
        this.settle();
        return done(this);
      }
      this.now = Math.max(next, this.now);
      this.settle();
    }
    return true;
  }

  /** The next instant at which something is due: a pod's timer, a requeue, a late controller, a deadline. */
  nextDue(): number | undefined {
    let next = Infinity;
    const after = (t: number | undefined) => {
      if (t !== undefined && t > this.now && t < next) next = t;
    };
    for (const p of this.store.list('Pod')) {
      const f = this.fates.get(p.metadata.uid ?? '');
      if (!f) continue;
      const st = (p as J).status ?? {};
      if (isTerminating(p)) after(f.goneAt);
      else if (st.phase === 'Pending') after(f.startAt);
      else {
        if (!podReady(p)) after(f.readyAt);
        if (!st.containerStatuses?.[0]?.state?.waiting) after(f.crashAt);
      }
    }
    if (this.op.timerAt !== undefined && this.operatorEnabled) next = Math.min(next, Math.max(this.op.timerAt, this.now + 1));
    if (this.op.dirty && this.operatorEnabled) next = Math.min(next, this.now + 1);
    for (const t of this.late.values()) after(t);
    for (const q of this.inFlight.values()) after(q[0]?.at);
    if (this.operatorEnabled) for (const m of this.measuring.values()) after(m.dueAt);
    for (const d of this.store.list('Deployment') as J[]) {
      const c = (d.status?.conditions ?? []).find((x: J) => x.type === 'Progressing');
      // DeploymentTimedOut counts from the condition's last update, a resume's (Unknown, DeploymentResumed) included.
      if (!d.spec.paused && c && c.reason !== 'NewReplicaSetAvailable' && c.reason !== 'ProgressDeadlineExceeded') {
        after(Date.parse(c.lastUpdateTime) + d.spec.progressDeadlineSeconds * 1000 + 1000);
      }
    }
    return next === Infinity ? undefined : next;
  }

  /** Everything that happens at this instant, until nothing changes. */
  settle(): void {
    this.kubelets();
    const actors: Array<[string, () => void]> = [
      ['deployment', () => this.deploymentController()],
      ['replicaset', () => this.replicaSetController()],
      ['gc', () => this.garbageCollector()],
      ['endpoints', () => this.endpointSliceController()],
      ['operator', () => this.operator()],
    ];
    const lateness = this.opts.lateness ?? 0.15;
    for (const [name] of actors) {
      if ((name === 'deployment' || name === 'replicaset') && !this.late.has(name) && this.rand() < lateness) this.late.set(name, this.now + 1000);
    }
    for (let round = 0; ; round++) {
      if (round > 80) throw new Error(`the cluster did not settle at ${stamp(this.now)}: something writes on every pass (last reconcile: ${JSON.stringify(this.reconciles.at(-1)?.writes)})`);
      this.changed = false;
      this.deliverDue();
      this.measurementsDue();
      for (let i = actors.length - 1; i > 0; i--) {
        const j = Math.floor(this.rand() * (i + 1));
        [actors[i], actors[j]] = [actors[j]!, actors[i]!];
      }
      let ran = 0;
      for (const [name, run] of actors) {
        const until = this.late.get(name);
        if (until !== undefined && until > this.now) continue;
        this.late.delete(name);
        run();
        ran++;
      }
      if (!this.changed || ran === 0) break;
    }
    this.opts.onSettled?.(this);
  }

  // ---- the operator ---------------------------------------------------------------------------

  private onEvent(type: WatchType, obj: KubeObject): void {
    this.changed = true;
    if (!WATCHED_KINDS.has(obj.kind)) return;
    const queue = this.inFlight.get(obj.kind) ?? [];
    if (this.now >= this.lag.until && queue.length === 0) return this.deliver(type, obj);
    // Late, after what this kind's watch has still to deliver; the others' go their own pace.
    const at = Math.max(this.now + Math.floor(this.rand() * (this.lag.maxMs + 1)), queue.at(-1)?.at ?? 0);
    queue.push({ at, type, obj });
    if (this.rand() < 0.25) {
      const again = { at: this.now + Math.floor(this.rand() * (2 * this.lag.maxMs + 1)), type, obj };
      const i = queue.findIndex((e) => e.at > again.at);
      queue.splice(i < 0 ? queue.length : i, 0, again);
    }
    this.inFlight.set(obj.kind, queue);
  }

  /** Watch events due by `until` (now, unless an answer is on its way meanwhile), each kind's in order. */
  private deliverDue(until = this.now): void {
    for (const [kind, queue] of this.inFlight) {
      while (queue.length > 0 && queue[0]!.at <= until) {
        const e = queue.shift()!;
        this.deliver(e.type, e.obj);
      }
      if (queue.length === 0) this.inFlight.delete(kind);
    }
  }

  /** An event reaches the operator's informer: its cache, then (if the cache took it) the work queue, as manager.ts routes it. */
  private deliver(type: WatchType, obj: KubeObject): void {
    const key = `${obj.kind}/${obj.metadata.name}`;
    const old = this.cache.get(key);
    const rv = obj.metadata.resourceVersion;
    const fresh = type === 'DELETED' ? this.freshness.delete(key, rv, old?.metadata.resourceVersion) : this.freshness.put(key, rv, old?.metadata.resourceVersion);
    if (!fresh) return void this.stale.events++;
    if (type === 'DELETED') this.cache.delete(key);
    else this.cache.set(key, obj);
    const labels = obj.metadata.labels ?? {};
    let mine = false;
    const ms = this.cache.get(`Microservice/${this.name}`);
    if (obj.kind === 'Secret' && labels[LABEL_MANAGED_BY] !== MANAGER) mine = !!this.opts.trackSecrets && !!ms && trackersOf(obj, [ms]).length > 0;
    else if (obj.kind === 'Microservice') mine = obj.metadata.name === this.name && (type === 'DELETED' || !old || !onlyStatusChanged(old, obj));
    else if (labels[LABEL_MANAGED_BY] !== MANAGER) mine = false;
    else if (obj.kind === 'Pod') mine = labels[LABEL_NAME] === this.name;
    else if (OWNED_KINDS.has(obj.kind)) {
      const owner = obj.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'Microservice');
      mine = owner?.name === this.name;
    }
    if (!mine) return;
    if (this.inRun) this.eventDuringRun = true;
    else this.op.dirty = true;
  }

  /**
   * The answer to one of the operator's writes reaches it. While the watches lag, it may take a
   * while: the Deployment and ReplicaSet controllers act on the write meanwhile, and what the watch
   * delivers in that time is in the cache before the answer (which is then the older).
   */
  private answer(obj: KubeObject): void {
    if (this.now < this.lag.until && this.rand() < 0.5) {
      for (const [name, run] of [['deployment', () => this.deploymentController()], ['replicaset', () => this.replicaSetController()]] as const) {
        if ((this.late.get(name) ?? 0) <= this.now) run();
      }
      this.deliverDue(this.now + Math.floor(this.rand() * (this.lag.maxMs + 1)));
    }
    this.remember(obj);
  }

  /** The answer to one of the operator's writes goes into its cache (Informer.remember), unless the cache holds newer. */
  private remember(obj: KubeObject): void {
    const key = `${obj.kind}/${obj.metadata.name}`;
    if (this.freshness.put(key, obj.metadata.resourceVersion, this.cache.get(key)?.metadata.resourceVersion)) this.cache.set(key, obj);
    else this.stale.answers++;
  }

  /** A new operator process lists everything afresh; events on their way to the old one are lost. */
  private relist(): void {
    this.cache = new Map(this.store.list().filter((o) => WATCHED_KINDS.has(o.kind)).map((o) => [`${o.kind}/${o.metadata.name}`, o]));
    this.freshness = new Freshness();
    this.inFlight.clear();
    // The runner's inbox and its queries in flight died with the process: status says what is still due.
    this.inbox = [];
    this.measuring.clear();
  }

  private operator(): void {
    if (!this.operatorEnabled) return;
    const op = this.op;
    const due = op.timerAt !== undefined && op.timerAt <= this.now;
    if (!op.dirty && !due) return;
    if (due) op.timerAt = undefined;
    op.dirty = false;
    this.inRun = true;
    this.eventDuringRun = false;
    let retryAfter: number | undefined;
    try {
      retryAfter = this.reconcile();
      op.attempt = 0;
    } catch (err) {
      this.inRun = false;
      if (err instanceof Crash) {
        this.restarts++;
        this.op = { dirty: true, attempt: 0 };
        this.relist();
        return;
      }
      if (!(err instanceof ApiError)) throw err;
      this.reconciles.push({ at: this.now, writes: [], problems: [], events: [], error: err.message });
      // The queue's backoff: 200ms doubling up to a minute, full jitter.
      const ceiling = Math.min(60_000, 200 * 2 ** op.attempt);
      op.attempt = Math.min(op.attempt + 1, 30);
      retryAfter = Math.round(ceiling / 2 + (this.rand() * ceiling) / 2);
    }
    this.inRun = false;
    // An event seen while it ran queues it again, and its requeue is dropped (the next run asks
    // again); one that came just after leaves the requeue in place. Which is up to the network.
    if (this.eventDuringRun && this.rand() < 0.5) op.dirty = true;
    else {
      if (this.eventDuringRun) op.dirty = true;
      if (retryAfter !== undefined) {
        if (retryAfter <= 0) op.dirty = true;
        else if (op.timerAt === undefined || op.timerAt > this.now + retryAfter) op.timerAt = this.now + retryAfter;
      }
    }
  }

  /** One reconcile, as src/controller/reconcile.ts carries out planReconcile. Returns its requeue. */
  private reconcile(): number | undefined {
    const ms = this.cached('Microservice', this.name) as MicroserviceObject | undefined;
    if (!ms || ms.metadata.deletionTimestamp) return undefined;
    const uid = ms.metadata.uid ?? '';
    const ownedBy = (o: KubeObject) => !!o.metadata.ownerReferences?.some((r) => r.uid === uid && r.controller);
    const cached = [...this.cache.values()];
    const offered = [...this.inbox];
    const owned = this.owned(cached, uid);
    const secrets = this.opts.trackSecrets ? { secrets: secretLookup((n) => this.cache.get(`Secret/${n}`)) } : {};
    const world = { ms, owned, pods: this.pods(cached), now: new Date(this.now), measurements: offered, ...secrets, ...(this.op.statusWrittenAt ? { statusWrittenAt: this.op.statusWrittenAt } : {}) };
    const record: Reconciled = { at: this.now, read: ms, readOwned: owned, writes: [], problems: [], events: [] };
    let budget = this.op.crashAfterWrites;
    const crash = (error: string): never => {
      const crashed = { ...record, error };
      this.reconciles.push(crashed);
      this.opts.onReconciled?.(this, crashed);
      throw new Crash();
    };
    const spend = () => {
      if (budget !== undefined && budget-- <= 0) crash('operator crashed mid-reconcile');
    };
    // The revision's own objects first; what they ran into is the plan's input.
    const refused: Problem[] = [];
    for (const w of revisionWrites(world)) {
      spend();
      const result = this.carryOut(w, ownedBy);
      if (result === 'written') record.writes.push(describeWrite(w));
      else if (result) refused.push(result);
    }
    record.problems.push(...refused);
    const plan = planReconcile({ ...world, refused });
    const problems: Problem[] = [];
    for (const w of plan.writes) {
      spend();
      const result = this.carryOut(w, ownedBy);
      if (result === 'written') record.writes.push(describeWrite(w));
      else if (result) problems.push(result);
    }
    record.problems.push(...problems);
    const finished = plan.finish(problems);
    const { status, events } = finished;
    // The requeue comes with the finish (it may depend on the writes' problems), or with the plan.
    const requeueAfterMs: number | undefined = (finished as J).requeueAfterMs ?? (plan as J).requeueAfterMs;
    if (status) {
      spend();
      const cur: J = clone(this.microservice());
      cur.status = status;
      this.answer(this.store.update(cur));
      this.op.statusWrittenAt = new Date(this.now);
      record.status = status;
      record.events = events;
      for (const e of events) this.events.push({ ...e, at: this.now });
    }
    if (plan.clearAction !== undefined) {
      spend();
      const cur: J = clone(this.microservice());
      if (cur.metadata.annotations?.[ANNOTATION_ACTION] === plan.clearAction) {
        delete cur.metadata.annotations[ANNOTATION_ACTION];
        this.store.update(cur);
        record.writes.push('clear action');
      }
    }
    if (budget !== undefined) {
      // It had more budget than writes: it dies all the same, before anything else.
      crash('operator crashed at the end of a reconcile');
    }
    // As the Reconciler ends a pass: the results offered are in status now (or were stale), and
    // the measurements due start.
    this.inbox = this.inbox.filter((r) => !offered.includes(r));
    this.take(plan.measurements);
    if (requeueAfterMs !== undefined) record.requeueAfterMs = requeueAfterMs;
    this.reconciles.push(record);
    this.opts.onReconciled?.(this, record);
    return requeueAfterMs;
  }

  /** AnalysisRunner.take: each request neither in flight nor waiting in the inbox starts; a query takes 50 ms to 3 s. */
  private take(requests: readonly MeasurementRequest[]): void {
    for (const req of requests) {
      if (this.measuring.has(req.key) || this.inbox.some((r) => r.key === req.key)) continue;
      this.measuring.set(req.key, { dueAt: this.now + 50 + Math.floor(this.rand() * 2950), req });
    }
  }

  /** Queries that finish now read their revision's health now; each result lands in the inbox and queues a reconcile. */
  private measurementsDue(): void {
    if (!this.operatorEnabled) return;
    for (const [key, { dueAt, req }] of [...this.measuring].sort((a, b) => a[1].dueAt - b[1].dueAt)) {
      if (dueAt > this.now) continue;
      this.measuring.delete(key);
      const health = this.healthOf(req.revision);
      const at = new Date(this.now).toISOString();
      this.inbox.push({ key, run: req.run, runStartedAt: req.runStartedAt, revision: req.revision, metric: req.metric.name, seq: req.seq, at, candidate: ERROR_RATE[health],
        ...(req.stableVars ? { stable: ERROR_RATE[this.healthOf(req.stableVars.revision)] } : {}) });
      this.taken.push({ at: this.now, key, revision: req.revision, run: req.run, runStartedAt: req.runStartedAt, metric: req.metric.name, seq: req.seq, health });
      this.changed = true;
      if (this.inRun) this.eventDuringRun = true;
      else this.op.dirty = true;
    }
  }

  private carryOut(write: Write, ownedBy: (o: KubeObject) => boolean): 'written' | Problem | undefined {
    if ('resize' in write) {
      const d: J = this.store.get('Deployment', write.resize.name);
      if (!d) throw new ApiError(404, `deployments.apps "${write.resize.name}" not found`);
      this.store.update({ ...d, spec: { ...d.spec, replicas: write.resize.replicas } });
      return 'written';
    }
    if ('delete' in write) {
      const o = this.store.get(write.delete.kind, write.delete.metadata.name);
      if (o && o.metadata.uid === write.delete.metadata.uid) this.deleteNow(o);
      return 'written';
    }
    const desired = write.apply;
    const found = this.store.get(desired.kind, desired.metadata.name);
    if (write.create && found && !ownedBy(found)) {
      return { reason: 'NameConflict', message: `${desired.kind} ${NAMESPACE}/${desired.metadata.name} exists and is not owned by this Microservice; rename or remove it` };
    }
    const refused = this.serverSideApply(desired);
    return refused ? { reason: 'ApplyFailed', message: `${desired.kind} ${desired.metadata.name}: ${refused}` } : 'written';
  }

  /** Server-side apply with force: Coxswain's fields become what it sent, fields it no longer sends go, others stay. */
  private serverSideApply(desired: KubeObject): string | undefined {
    const key = `${desired.kind}/${desired.metadata.name}`;
    const existing: J = this.store.get(desired.kind, desired.metadata.name);
    const { apiVersion: _a, kind: _k, metadata: dm, ...body } = clone(desired) as J;
    const before = this.applied.get(key) ?? { fields: [], labels: [], annotations: [] };
    const next: J = existing ? clone(existing) : { apiVersion: desired.apiVersion, kind: desired.kind, metadata: { name: dm.name } };
    for (const f of before.fields) if (!(f in body)) delete next[f];
    Object.assign(next, body);
    const merge = (have: Record<string, string> | undefined, mine: string[], want: Record<string, string> | undefined) => {
      const out: Record<string, string> = { ...have };
      for (const k of mine) delete out[k];
      Object.assign(out, want);
      return Object.keys(out).length ? out : undefined;
    };
    next.metadata.labels = merge(existing?.metadata.labels, existing ? before.labels : [], dm.labels);
    next.metadata.annotations = merge(existing?.metadata.annotations, existing ? before.annotations : [], dm.annotations);
    if (!next.metadata.labels) delete next.metadata.labels;
    if (!next.metadata.annotations) delete next.metadata.annotations;
    next.metadata.ownerReferences = dm.ownerReferences;
    withDefaults(next, existing);
    const refused = refusal(next, existing);
    if (refused) return refused;
    this.answer(existing ? this.store.update(next) : this.store.create(next));
    this.applied.set(key, { fields: Object.keys(body), labels: Object.keys(dm.labels ?? {}), annotations: Object.keys(dm.annotations ?? {}) });
    return undefined;
  }

  // ---- the API server's deletes and the garbage collector --------------------------------------

  private deleteNow(o: KubeObject): void {
    if (o.kind === 'Pod') {
      if (isTerminating(o)) return;
      // Not yet started: gone at once; otherwise it takes a moment to stop.
      if ((o as J).status?.phase === 'Pending') {
        this.store.remove('Pod', o.metadata.name);
        this.fates.delete(o.metadata.uid ?? '');
        return;
      }
      const f = this.fates.get(o.metadata.uid ?? '');
      if (f) f.goneAt = this.now + 500 + Math.floor(this.rand() * 2500);
      const p: J = clone(o);
      p.metadata.deletionTimestamp = stamp(this.now);
      this.store.update(p);
      return;
    }
    this.store.remove(o.kind, o.metadata.name);
    this.applied.delete(`${o.kind}/${o.metadata.name}`);
  }

  private garbageCollector(): void {
    for (const o of this.store.list()) {
      const refs = o.metadata.ownerReferences ?? [];
      if (refs.length > 0 && refs.every((r) => this.store.byUid(r.uid) === undefined)) this.deleteNow(o);
    }
  }

  // ---- kubelets -------------------------------------------------------------------------------

  private kubelets(): void {
    for (const p0 of this.store.list('Pod')) {
      const f = this.fates.get(p0.metadata.uid ?? '');
      if (!f) continue;
      if (isTerminating(p0)) {
        if ((f.goneAt ?? Infinity) <= this.now) {
          this.store.remove('Pod', p0.metadata.name);
          this.fates.delete(p0.metadata.uid ?? '');
        }
        continue;
      }
      const p: J = clone(p0);
      const st = p.status;
      const c = st.containerStatuses?.[0];
      if (st.phase === 'Pending' && f.startAt <= this.now) {
        st.phase = 'Running';
        st.podIP = `10.244.${(++this.lastIp >> 8) & 255}.${this.lastIp & 255}`;
        st.startTime = stamp(this.now);
        p.spec.nodeName = 'node-1';
        setCondition(st, 'PodScheduled', 'True', this.now);
        setCondition(st, 'Ready', 'False', this.now);
        st.containerStatuses = p.spec.containers.map((ct: J) => ({ name: ct.name, image: ct.image, ready: false, restartCount: 0, started: true, state: { running: { startedAt: stamp(this.now) } } }));
      }
      if (st.phase === 'Running' && c !== undefined) {
        if (f.crashAt !== undefined && f.crashAt <= this.now && !c.state.waiting) {
          for (const cs of st.containerStatuses) {
            cs.restartCount++;
            cs.ready = false;
            cs.started = false;
            cs.state = { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container' } };
            cs.lastState = { terminated: { exitCode: 1, reason: 'Error' } };
          }
        } else if (f.readyAt !== undefined && f.readyAt <= this.now && !podReady(p)) {
          setCondition(st, 'Ready', 'True', this.now);
          setCondition(st, 'ContainersReady', 'True', this.now);
          for (const cs of st.containerStatuses) cs.ready = true;
        }
      }
      this.store.update(p);
    }
  }

  private makePod(rs: J): void {
    const t = rs.spec.template;
    const name = `${rs.metadata.name}-${(++this.podSeq).toString(36).padStart(5, '0')}`;
    const image: string = t.spec.containers?.[0]?.image ?? '';
    const kind = (this.opts.podKind ?? podKindOfImage)(image);
    const startAt = this.now + 200 + Math.floor(this.rand() * 1800);
    const [lo, hi] = kind === 'slow' ? [90_000, 300_000] : this.opts.readyDelayMs ?? [1000, 30_000];
    const fate: Fate = { startAt };
    if (kind === 'good' || kind === 'slow') fate.readyAt = startAt + lo + Math.floor(this.rand() * (hi - lo));
    if (kind === 'crash') fate.crashAt = startAt + 2000 + Math.floor(this.rand() * 8000);
    const pod = this.store.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        labels: { ...t.metadata?.labels },
        ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: clone(t.spec),
      status: { phase: 'Pending', qosClass: 'BestEffort' },
    });
    this.fates.set(pod.metadata.uid ?? '', fate);
  }

  // ---- the ReplicaSet controller --------------------------------------------------------------

  private replicaSetController(): void {
    for (const rs0 of this.store.list('ReplicaSet')) {
      const rs: J = rs0;
      const pods = this.store.list('Pod').filter((p) => controllerOf(p)?.uid === rs.metadata.uid);
      const active = pods.filter((p) => !isTerminating(p) && !['Failed', 'Succeeded'].includes((p as J).status?.phase));
      const diff = active.length - rs.spec.replicas;
      if (diff < 0) for (let i = 0; i < -diff; i++) this.makePod(rs);
      const deleted = diff > 0 ? rankForDeletion(active, this.fates).slice(0, diff) : [];
      for (const p of deleted) this.deleteNow(p);
      // Status from the pods as seen before this sync's own creations. (The real controller counts
      // the pods it just deleted too, until its next sync a moment later; left out here, so that
      // the Deployment controller never scales down on availability that is already gone: a race
      // real clusters lose only within milliseconds would otherwise be blamed on Coxswain.)
      const counted = active.filter((p) => !deleted.includes(p));
      const ready = counted.filter(podReady).length;
      const status = { replicas: counted.length, fullyLabeledReplicas: counted.length, readyReplicas: ready, availableReplicas: ready, observedGeneration: rs.metadata.generation };
      const cur: J = this.store.get('ReplicaSet', rs.metadata.name);
      if (cur && cur.metadata.uid === rs.metadata.uid) this.store.update({ ...cur, status: { ...cur.status, ...status } });
    }
  }

  // ---- the Deployment controller -------------------------------------------------------------

  private deploymentController(): void {
    for (const d of this.store.list('Deployment')) this.syncDeployment(d.metadata.name);
  }

  private syncDeployment(name: string): void {
    let d: J = this.store.get('Deployment', name);
    const rsOf = () => this.store.list('ReplicaSet').filter((rs) => controllerOf(rs)?.uid === d.metadata.uid) as J[];
    const hash = templateHash(d.spec.template, d.status?.collisionCount);
    const split = () => {
      const all = rsOf();
      return { all, newRS: all.find((rs) => rs.metadata.labels?.[HASH_LABEL] === hash), old: all.filter((rs) => rs.metadata.labels?.[HASH_LABEL] !== hash) };
    };
    d = this.checkPausedConditions(d);
    let { newRS, old } = split();
    if (d.spec.paused || this.isScalingEvent(d, newRS ? [...old, newRS] : old)) {
      this.scale(d, newRS, old);
      ({ newRS, old } = split());
      this.syncStatus(d, newRS, old, false);
      return;
    }
    if (!newRS) {
      const taken = this.store.get('ReplicaSet', `${d.metadata.name}-${hash}`);
      if (taken) {
        // A ReplicaSet of that name that is not ours (the Deployment was deleted and made again
        // before the garbage collector came by): count a collision, and hash again next sync.
        this.store.update({ ...d, status: { ...d.status, collisionCount: (d.status?.collisionCount ?? 0) + 1 } });
        return;
      }
      newRS = this.createNewRS(d, hash, old);
      d = this.setProgressing(d, 'True', 'NewReplicaSetCreated', `Created new replica set "${newRS.metadata.name}"`);
    }
    const scaledUp = this.reconcileNewRS(d, newRS, old);
    ({ newRS, old } = split());
    if (!scaledUp && newRS) {
      this.reconcileOldRSs(d, newRS, old);
      ({ newRS, old } = split());
    }
    this.cleanup(d, old);
    ({ newRS, old } = split());
    this.syncStatus(d, newRS, old, true);
  }

  private createNewRS(d: J, hash: string, old: J[]): J {
    const template = clone(d.spec.template);
    template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [HASH_LABEL]: hash } };
    const surge = maxSurge(d);
    const current = sum(old, (rs) => rs.spec.replicas);
    const replicas = Math.max(0, Math.min(d.spec.replicas + surge - current, d.spec.replicas));
    return this.store.create({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        labels: { ...template.metadata.labels },
        annotations: { [DESIRED_REPLICAS]: String(d.spec.replicas), [MAX_REPLICAS]: String(d.spec.replicas + surge) },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name, uid: d.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: { replicas, selector: { matchLabels: { ...d.spec.selector.matchLabels, [HASH_LABEL]: hash } }, template },
      status: { replicas: 0 },
    });
  }

  private scaleRS(d: J, rs: J, replicas: number): boolean {
    const ann = { ...rs.metadata.annotations, [DESIRED_REPLICAS]: String(d.spec.replicas), [MAX_REPLICAS]: String(d.spec.replicas + maxSurge(d)) };
    const changed = rs.spec.replicas !== replicas;
    this.store.update({ ...rs, metadata: { ...rs.metadata, annotations: ann }, spec: { ...rs.spec, replicas } });
    return changed;
  }

  private isScalingEvent(d: J, all: J[]): boolean {
    return all.filter((rs) => rs.spec.replicas > 0).some((rs) => {
      const want = rs.metadata.annotations?.[DESIRED_REPLICAS];
      return want !== undefined && Number(want) !== d.spec.replicas;
    });
  }

  /** dc.scale: the one active ReplicaSet takes the whole size, or all of them proportionally. */
  private scale(d: J, newRS: J | undefined, old: J[]): void {
    const all = newRS ? [...old, newRS] : old;
    const active = all.filter((rs) => rs.spec.replicas > 0);
    const activeOrLatest = active.length === 1 ? active[0] : active.length === 0 ? newRS ?? byAge(old).at(-1) : undefined;
    if (activeOrLatest) {
      if (activeOrLatest.spec.replicas !== d.spec.replicas) this.scaleRS(d, activeOrLatest, d.spec.replicas);
      return;
    }
    // deploymentutil.IsSaturated: its desired-replicas annotation must say this size too.
    if (newRS && newRS.spec.replicas === d.spec.replicas && Number(newRS.metadata.annotations?.[DESIRED_REPLICAS]) === d.spec.replicas
      && newRS.status?.availableReplicas === d.spec.replicas) {
      for (const rs of old.filter((x) => x.spec.replicas > 0)) this.scaleRS(d, rs, 0);
      return;
    }
    const allowed = d.spec.replicas > 0 ? d.spec.replicas + maxSurge(d) : 0;
    const toAdd = allowed - sum(active, (rs) => rs.spec.replicas);
    const sorted = [...active].sort((a, b) => b.spec.replicas - a.spec.replicas || (toAdd > 0 ? -ageOrder(a, b) : ageOrder(a, b)));
    const sizes = new Map<string, number>();
    let added = 0;
    for (const rs of sorted) {
      let proportion = 0;
      if (toAdd !== 0 && toAdd !== added && rs.spec.replicas > 0) {
        let fraction: number;
        if (d.spec.replicas === 0) fraction = -rs.spec.replicas;
        else {
          let before = Number(rs.metadata.annotations?.[MAX_REPLICAS] ?? 0);
          if (!before) before = d.status?.replicas ?? 0;
          fraction = before === 0 ? 0 : Math.round((rs.spec.replicas * (d.spec.replicas + maxSurge(d))) / before) - rs.spec.replicas;
        }
        const allowedLeft = toAdd - added;
        proportion = toAdd > 0 ? Math.min(fraction, allowedLeft) : Math.max(fraction, allowedLeft);
      }
      sizes.set(rs.metadata.name, rs.spec.replicas + proportion);
      added += proportion;
    }
    sorted.forEach((rs, i) => {
      let size = sizes.get(rs.metadata.name) ?? rs.spec.replicas;
      if (i === 0 && toAdd !== 0) size = Math.max(0, size + toAdd - added);
      this.scaleRS(d, rs, size);
    });
  }

  private reconcileNewRS(d: J, newRS: J, old: J[]): boolean {
    if (newRS.spec.replicas === d.spec.replicas) return false;
    if (newRS.spec.replicas > d.spec.replicas) return this.scaleRS(d, newRS, d.spec.replicas);
    const current = sum([...old, newRS], (rs) => rs.spec.replicas);
    const maxTotal = d.spec.replicas + maxSurge(d);
    if (current >= maxTotal) return false;
    const up = Math.min(maxTotal - current, d.spec.replicas - newRS.spec.replicas);
    return this.scaleRS(d, newRS, newRS.spec.replicas + up);
  }

  private reconcileOldRSs(d: J, newRS: J, old0: J[]): boolean {
    let old = byAge(old0.filter((rs) => rs.spec.replicas > 0));
    if (sum(old, (rs) => rs.spec.replicas) === 0) return false;
    const allPods = sum([...old, newRS], (rs) => rs.spec.replicas);
    const minAvailable = d.spec.replicas - maxUnavailable(d);
    const newUnavailable = newRS.spec.replicas - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = allPods - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    // Unhealthy replicas first: they would block the rollout.
    let cleaned = 0;
    old = old.map((rs) => {
      if (cleaned >= maxScaledDown || rs.spec.replicas === (rs.status?.availableReplicas ?? 0)) return rs;
      const down = Math.min(maxScaledDown - cleaned, rs.spec.replicas - (rs.status?.availableReplicas ?? 0));
      cleaned += down;
      this.scaleRS(d, rs, rs.spec.replicas - down);
      return this.store.get('ReplicaSet', rs.metadata.name) as J;
    });
    // Then as far as availability allows, oldest first.
    const available = sum([...old, newRS], (rs) => rs.status?.availableReplicas ?? 0);
    let scaled = 0;
    if (available > minAvailable) {
      const total = available - minAvailable;
      for (const rs of old) {
        if (scaled >= total) break;
        if (rs.spec.replicas === 0) continue;
        const down = Math.min(rs.spec.replicas, total - scaled);
        this.scaleRS(d, rs, rs.spec.replicas - down);
        scaled += down;
      }
    }
    return cleaned + scaled > 0;
  }

  /** Old ReplicaSets at zero beyond revisionHistoryLimit go, oldest first. */
  private cleanup(d: J, old: J[]): void {
    const idle = byAge(old.filter((rs) => rs.spec.replicas === 0 && (rs.status?.replicas ?? 0) === 0));
    for (const rs of idle.slice(0, Math.max(0, idle.length - d.spec.revisionHistoryLimit))) this.store.remove('ReplicaSet', rs.metadata.name);
  }

  private checkPausedConditions(d: J): J {
    const c = (d.status?.conditions ?? []).find((x: J) => x.type === 'Progressing');
    if (d.spec.paused && c?.reason !== 'DeploymentPaused') return this.setProgressing(d, 'Unknown', 'DeploymentPaused', 'Deployment is paused');
    if (!d.spec.paused && c?.reason === 'DeploymentPaused') return this.setProgressing(d, 'Unknown', 'DeploymentResumed', 'Deployment is resumed');
    return d;
  }

  private setProgressing(d: J, status: string, reason: string, message: string): J {
    const conditions = [...(d.status?.conditions ?? [])].filter((x: J) => x.type !== 'Progressing');
    const before = (d.status?.conditions ?? []).find((x: J) => x.type === 'Progressing');
    const t = stamp(this.now);
    conditions.push({ type: 'Progressing', status, reason, message, lastUpdateTime: t, lastTransitionTime: before?.status === status ? before.lastTransitionTime : t });
    return this.store.update({ ...d, status: { ...d.status, conditions } });
  }

  private syncStatus(d0: J, newRS: J | undefined, old: J[], rolling: boolean): void {
    const d: J = this.store.get('Deployment', d0.metadata.name);
    const all = newRS ? [...old, newRS] : old;
    const available = sum(all, (rs) => rs.status?.availableReplicas ?? 0);
    const status: J = {
      ...d.status,
      observedGeneration: d.metadata.generation,
      replicas: sum(all, (rs) => rs.status?.replicas ?? 0),
      updatedReplicas: newRS?.status?.replicas ?? 0,
      readyReplicas: sum(all, (rs) => rs.status?.readyReplicas ?? 0),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, sum(all, (rs) => rs.spec.replicas) - available),
    };
    for (const k of ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas']) if (status[k] === 0) delete status[k];
    const availableOk = available >= d.spec.replicas - maxUnavailable(d);
    const conditions = (status.conditions ?? []).filter((c: J) => c.type !== 'Available');
    const prevAvail = (d.status?.conditions ?? []).find((c: J) => c.type === 'Available');
    const t = stamp(this.now);
    const as = availableOk ? 'True' : 'False';
    conditions.unshift({ type: 'Available', status: as, reason: availableOk ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
      message: availableOk ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.',
      lastUpdateTime: prevAvail?.status === as ? prevAvail.lastUpdateTime : t, lastTransitionTime: prevAvail?.status === as ? prevAvail.lastTransitionTime : t });
    status.conditions = conditions;
    if (rolling && !d.spec.paused) {
      const prog = conditions.find((c: J) => c.type === 'Progressing');
      const complete = (status.updatedReplicas ?? 0) === d.spec.replicas && (status.replicas ?? 0) === d.spec.replicas && available === d.spec.replicas;
      const old = d.status ?? {};
      const progressing = (status.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0)
        || (status.replicas ?? 0) - (status.updatedReplicas ?? 0) < (old.replicas ?? 0) - (old.updatedReplicas ?? 0)
        || (status.readyReplicas ?? 0) > (old.readyReplicas ?? 0) || available > (old.availableReplicas ?? 0);
      const put = (st: string, reason: string, message: string, update: boolean) => {
        const i = conditions.indexOf(prog);
        const c = { type: 'Progressing', status: st, reason, message, lastUpdateTime: update || !prog ? t : prog.lastUpdateTime, lastTransitionTime: prog?.status === st ? prog.lastTransitionTime : t };
        if (i >= 0) conditions[i] = c;
        else conditions.push(c);
      };
      if (newRS && complete) {
        if (prog?.reason !== 'NewReplicaSetAvailable') put('True', 'NewReplicaSetAvailable', `ReplicaSet "${newRS.metadata.name}" has successfully progressed.`, true);
      } else if (progressing) {
        put('True', 'ReplicaSetUpdated', `ReplicaSet "${newRS?.metadata.name}" is progressing.`, true);
      } else if (prog && prog.reason !== 'NewReplicaSetAvailable' && prog.reason !== 'ProgressDeadlineExceeded'
        && Date.parse(prog.lastUpdateTime) + d.spec.progressDeadlineSeconds * 1000 < this.now) {
        put('False', 'ProgressDeadlineExceeded', `ReplicaSet "${newRS?.metadata.name}" has timed out progressing.`, true);
      }
    }
    this.store.update({ ...d, status });
  }

  // ---- the EndpointSlice controller -----------------------------------------------------------

  private endpointSliceController(): void {
    const pods = this.store.list('Pod') as J[];
    for (const svc of this.store.list('Service') as J[]) {
      const selector: Record<string, string> | undefined = svc.spec.selector;
      const want = new Map<string, J>();
      if (selector && Object.keys(selector).length > 0) {
        for (const pod of pods) {
          if (!Object.entries(selector).every(([k, v]) => pod.metadata.labels?.[k] === v)) continue;
          if (!pod.status?.podIP || ['Failed', 'Succeeded'].includes(pod.status.phase)) continue;
          const ports = (svc.spec.ports ?? []).flatMap((sp: J) => {
            const n = resolveTargetPort(pod, sp.targetPort);
            return n === undefined ? [] : [{ name: sp.name ?? '', port: n, protocol: sp.protocol ?? 'TCP' }];
          });
          const key = stableJSON(ports);
          const name = `${svc.metadata.name}-${shortHash(key)}`;
          let slice = want.get(name);
          if (!slice) {
            slice = {
              apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
              metadata: {
                name,
                labels: { 'kubernetes.io/service-name': svc.metadata.name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
                ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc.metadata.name, uid: svc.metadata.uid, controller: true, blockOwnerDeletion: true }],
              },
              addressType: 'IPv4', ports, endpoints: [],
            };
            want.set(name, slice);
          }
          const terminating = isTerminating(pod);
          slice.endpoints.push({
            addresses: [pod.status.podIP],
            conditions: { ready: podReady(pod) && !terminating, serving: podReady(pod), terminating },
            targetRef: { kind: 'Pod', namespace: NAMESPACE, name: pod.metadata.name, uid: pod.metadata.uid },
          });
        }
      }
      for (const s of this.endpointSlices(svc.metadata.name)) {
        if (controllerOf(s)?.uid !== svc.metadata.uid || !want.has(s.metadata.name)) this.store.remove('EndpointSlice', s.metadata.name);
      }
      for (const [name, slice] of want) {
        const cur = this.store.get('EndpointSlice', name);
        if (!cur) this.store.create(slice);
        else this.store.update({ ...cur, ports: slice.ports, endpoints: slice.endpoints });
      }
    }
  }
}

/** The kinds the operator's informers watch for objects it owns. */
const OWNED_KINDS = new Set(['Secret', 'ConfigMap', 'Deployment', 'Service', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'PodDisruptionBudget', 'ControllerRevision']);
/** Every kind the operator's informers watch. */
const WATCHED_KINDS = new Set([...OWNED_KINDS, 'Microservice', 'Pod']);

type WatchType = 'ADDED' | 'MODIFIED' | 'DELETED';

function describeWrite(w: Write): string {
  if ('resize' in w) return `resize ${w.resize.name} to ${w.resize.replicas}`;
  if ('delete' in w) return `delete ${w.delete.kind}/${w.delete.metadata.name}`;
  return `${w.create ? 'create' : 'apply'} ${w.apply.kind}/${w.apply.metadata.name}`;
}

function setCondition(st: J, type: string, status: string, now: number): void {
  st.conditions ??= [];
  const c = st.conditions.find((x: J) => x.type === type);
  if (c) {
    if (c.status !== status) Object.assign(c, { status, lastTransitionTime: stamp(now) });
  } else st.conditions.push({ type, status, lastTransitionTime: stamp(now) });
}

/** The container port a Service's targetPort reaches on a pod: by name only if the pod has one of that name. */
export function resolveTargetPort(pod: KubeObject, target: number | string | undefined): number | undefined {
  if (typeof target === 'number') return target;
  for (const c of ((pod as J).spec?.containers ?? []) as J[]) {
    for (const p of c.ports ?? []) if (p.name === target) return p.containerPort;
  }
  return undefined;
}

const shortHash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 5);

/** The pod-template-hash of a template (the real one is an FNV hash of the template; any stable hash will do). */
export function templateHash(template: unknown, collisionCount = 0): string {
  return createHash('sha256').update(stableJSON(template) + (collisionCount ? `/${collisionCount}` : '')).digest('hex').slice(0, 10);
}

const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((n, x) => n + f(x), 0);

function resolve(v: number | string | undefined, total: number, round: (x: number) => number): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  return round((total * Number(v.replace('%', ''))) / 100);
}

/** ResolveFenceposts: surge rounds up, unavailable down; both 0 -> unavailable 1. */
export function fenceposts(maxSurgeV: number | string | undefined, maxUnavailableV: number | string | undefined, replicas: number): { surge: number; unavailable: number } {
  const surge = resolve(maxSurgeV, replicas, Math.ceil);
  let unavailable = resolve(maxUnavailableV, replicas, Math.floor);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

function maxSurge(d: J): number {
  const r = d.spec.strategy?.rollingUpdate ?? {};
  return fenceposts(r.maxSurge, r.maxUnavailable, d.spec.replicas).surge;
}

function maxUnavailable(d: J): number {
  if (d.spec.replicas === 0) return 0;
  const r = d.spec.strategy?.rollingUpdate ?? {};
  return Math.min(d.spec.replicas, fenceposts(r.maxSurge, r.maxUnavailable, d.spec.replicas).unavailable);
}

/** ReplicaSetsByCreationTimestamp: older first, the name breaking ties. */
function ageOrder(a: J, b: J): number {
  const t = Date.parse(a.metadata.creationTimestamp) - Date.parse(b.metadata.creationTimestamp);
  return t !== 0 ? t : a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

const byAge = (rss: J[]) => [...rss].sort(ageOrder);

/** getPodsToDelete: unscheduled, then pending, then not Ready, then the most recently Ready, then the newest. */
function rankForDeletion(pods: KubeObject[], fates: Map<string, Fate>): KubeObject[] {
  const rank = (p: J) => [p.spec.nodeName ? 1 : 0, p.status?.phase === 'Running' ? 1 : 0, podReady(p) ? 1 : 0];
  return [...pods].sort((a: J, b: J) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
    const readyA = fates.get(a.metadata.uid)?.readyAt ?? 0;
    const readyB = fates.get(b.metadata.uid)?.readyAt ?? 0;
    if (readyA !== readyB) return readyB - readyA;
    const restarts = (p: J) => p.status?.containerStatuses?.[0]?.restartCount ?? 0;
    if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
    return b.metadata.name < a.metadata.name ? -1 : 1;
  });
}
