// One reconcile of one Microservice, the I/O around the pure core: read the world from the
// caches, let `planReconcile` decide, carry out its writes in order, write status when it changed.
import type { Logger } from 'pino';
import type { MicroserviceObject, MicroserviceStatus } from '../api/schema.js';
import { ANNOTATION_ACTION, LABEL_ROLE } from '../api/names.js';
import { ApiError } from '../kube/client.js';
import { namespaceTerminating, refusalOf } from '../kube/refusal.js';
import type { KubeObject } from '../kube/object.js';
import { DEPLOYMENTS, ENDPOINTSLICES, HPAS, HTTPROUTES, type Kube, MICROSERVICES, PODMONITORS, PODS, resourceOf, type Resource, SECRETS, SERVICES } from '../kube/resources.js';
import type { Adopted } from '../adopt/takeover.js';
import { backOut, FINALIZER_ADOPTION } from '../adopt/backout.js';
import { secretLookup } from '../secrets/watch.js';
import type { Problem } from '../rollout/status.js';
import type { Cache } from './cache.js';
import { planReconcile, type ReconcilePlan, revisionWrites, type Write } from './core.js';
import type { AnalysisRunner } from '../analysis/runner.js';
import type { TemplateLookup } from '../analysis/refs.js';

export interface ReconcileOutcome {
  result: 'unchanged' | 'updated' | 'stalled' | 'gone';
  writes: number;
  /** Measurements folded into status (for the analysis metrics). */
  measured?: ReconcilePlan['measured'];
}

/** What the Reconciler needs for analysis: the runner that takes measurements, and the templates as cached. */
export interface AnalysisShell {
  runner: AnalysisRunner;
  templates: TemplateLookup;
}

export interface ReconcilerContext {
  kube: Kube;
  microservices: Cache;
  /** The caches of what the Microservice owns, and of pods; an optional kind's only while it is served. */
  children: ReadonlyMap<Resource, Cache>;
  log: Logger;
  clock?: () => Date;
  analysis?: AnalysisShell;
  /** Told of each status write that went through (src/notifications): returns at once. */
  notify?: (ms: MicroserviceObject, before: MicroserviceStatus | undefined, after: MicroserviceStatus, now: Date) => void;
}

export type Reconciled = { outcome: ReconcileOutcome; requeueAfterMs?: number };

export class Reconciler {
  /**
   * Microservices (key -> uid) in a namespace the API server said is being deleted: it creates
   * nothing there any more, so nothing more is tried for them; they go with their namespace.
   */
  private readonly terminating = new Map<string, string>();
  /** When this replica last wrote each Microservice's status: counts alone wait a moment after it (core.ts). */
  private readonly statusWrittenAt = new Map<string, Date>();

  constructor(private readonly ctx: ReconcilerContext) {}

  /**
   * A Microservice being deleted, or in a namespace being deleted, is no error and gets no
   * write: nothing to do, nothing to retry ('gone'). Anything else that fails is thrown, for a
   * retry with backoff.
   */
  async reconcile(key: string): Promise<Reconciled> {
    const [namespace = '', name = ''] = key.split('/');
    const ms = this.ctx.microservices.get(namespace, name) as MicroserviceObject | undefined;
    if (!ms) this.terminating.delete(key);
    if (ms?.metadata.deletionTimestamp && ms.metadata.finalizers?.includes(FINALIZER_ADOPTION)) return this.backOut(key, ms);
    if (!ms || ms.metadata.deletionTimestamp) return { outcome: { result: 'gone', writes: 0 } };
    if (this.terminating.get(key) === ms.metadata.uid) return { outcome: { result: 'gone', writes: 0 } };
    const done = { writes: 0 };
    try {
      return await this.run(key, ms, done);
    } catch (err) {
      if (!namespaceTerminating(err)) throw err;
      this.terminating.set(key, ms.metadata.uid ?? '');
      this.ctx.log.debug({ key }, 'namespace is being deleted: nothing more is created there; not reconciled');
      return { outcome: { result: 'gone', writes: done.writes } };
    }
  }

  /** Forgets what it knew of a Microservice that was deleted. */
  forget(key: string): void {
    this.terminating.delete(key);
    this.statusWrittenAt.delete(key);
  }

  /** One reconcile of `ms`; `done.writes` counts the writes made so far, should one throw. */
  private async run(key: string, ms: MicroserviceObject, done: { writes: number }): Promise<Reconciled> {
    const { kube, microservices, children, analysis, clock = () => new Date() } = this.ctx;
    const [namespace = '', name = ''] = key.split('/');
    const uid = ms.metadata.uid ?? '';
    const ownedBy = (o: KubeObject) => !!o.metadata.ownerReferences?.some((r) => r.uid === uid && r.controller);
    const secrets = children.get(SECRETS);
    const world = {
      ms,
      // From the caches' index by the Microservice each object belongs to (wiring's keyOf: the
      // controller owner, a pod's name label); owned objects are then held to this one's uid.
      owned: [...children].filter(([r]) => r !== PODS && r !== ENDPOINTSLICES).flatMap(([, cache]) => cache.owned(namespace, key).filter(ownedBy)),
      pods: children.get(PODS)?.owned(namespace, key) ?? [],
      endpointSlices: children.get(ENDPOINTSLICES)?.owned(namespace, key) ?? [],
      now: clock(),
      statusWrittenAt: this.statusWrittenAt.get(key),
      // HTTPRoutes are cached only while the API server serves them (and the operator may watch them).
      gatewayAPI: children.has(HTTPROUTES),
      // PodMonitors likewise, while the Prometheus Operator's CRDs are installed.
      podMonitors: children.has(PODMONITORS),
      // Results that came back since the last reconcile: folded into status by this one.
      measurements: analysis?.runner.results(key) ?? [],
      ...(analysis ? { templates: analysis.templates } : {}),
      // Secrets are cached only with --track-secrets: without it none is read.
      ...(secrets ? { secrets: secretLookup((n) => secrets.get(namespace, n)) } : {}),
      ...(await this.adopted(namespace, ms)),
    };
    // The revision's own objects first (its ControllerRevision, its ConfigMap): what the API
    // server made of them decides whether the revision may have pods at all.
    const refused: Problem[] = [];
    for (const write of revisionWrites(world)) {
      const result = await this.carryOut(namespace, write, ownedBy);
      if (result === 'written') done.writes++;
      else if (result) refused.push(result);
    }
    const plan = planReconcile({ ...world, refused });
    // Held before the takeover's first write: a deletion from then on puts back what it took.
    if (plan.adoptionFinalizer && !ms.metadata.finalizers?.includes(FINALIZER_ADOPTION)) {
      // Changed meanwhile (a status write of the last pass): read again, the takeover waits for it.
      if (!(await kube.setFinalizer(MICROSERVICES, ms, FINALIZER_ADOPTION, true))) return { outcome: { result: 'unchanged', writes: done.writes }, requeueAfterMs: 1_000 };
      done.writes++;
    }

    const problems: Problem[] = [];
    for (const write of plan.writes) {
      const result = await this.carryOut(namespace, write, ownedBy);
      if (result === 'written') done.writes++;
      else if (result) problems.push(result);
    }
    const { status, events, stalled, requeueAfterMs, relabels } = plan.finish(problems);
    if (status) {
      const updated = await kube.applyStatus(ms, status);
      microservices.remember(updated as unknown as KubeObject);
      this.statusWrittenAt.set(key, world.now);
      done.writes++;
      // The transition is the one this very write records: told once, by the replica that wrote it.
      this.ctx.notify?.(ms, ms.status, status, world.now);
      for (const e of events) {
        await kube.event(ms, e.type, e.reason, e.message, world.now).catch((err: unknown) => {
          if (namespaceTerminating(err)) this.ctx.log.debug({ key }, 'namespace is being deleted: event not recorded');
          else this.ctx.log.warn({ err: String(err) }, 'could not record event');
        });
      }
    }
    // Roles last: they follow the status just written. Only pods whose label differs; a pod
    // gone or replaced meanwhile is skipped (its successor is judged on the next pass).
    for (const { pod, role } of relabels) {
      const patched = await kube.labelPod(pod, LABEL_ROLE, role);
      if (!patched) continue;
      children.get(PODS)?.remember(patched);
      done.writes++;
    }
    // Done (or refused) and recorded in status.lastAction: clear the annotation, so it runs once.
    // Only the value acted on: a newer action written meanwhile stays, and runs next. Not when the
    // cache (the watch, or the answer to the status write) already shows it gone: a pass that read
    // the Microservice before an earlier pass's clearing landed would only meet a failed test.
    if (plan.clearAction !== undefined && microservices.get(namespace, name)?.metadata.annotations?.[ANNOTATION_ACTION] === plan.clearAction) {
      await kube.removeAnnotation(MICROSERVICES, namespace, name, ANNOTATION_ACTION, plan.clearAction);
      done.writes++;
    }
    if (plan.nameAction) {
      await kube.removeAnnotation(MICROSERVICES, namespace, name, ANNOTATION_ACTION, plan.nameAction.from, plan.nameAction.to);
      done.writes++;
    }
    if (plan.adoptionFinalizer === false && ms.metadata.finalizers?.includes(FINALIZER_ADOPTION)) {
      // The takeover is done (or none is asked): a deletion is an ordinary one again.
      if (await kube.setFinalizer(MICROSERVICES, ms, FINALIZER_ADOPTION, false)) done.writes++;
    }
    if (analysis) {
      // The results offered are in status now (or were stale): the inbox lets them go. The
      // measurements due start off the reconcile; each one that lands asks for the next.
      analysis.runner.ack(key, world.measurements);
      analysis.runner.take(key, plan.measurements);
    }
    const result = stalled ? 'stalled' : done.writes > 0 ? 'updated' : 'unchanged';
    return { outcome: { result, writes: done.writes, ...(plan.measured.length > 0 ? { measured: plan.measured } : {}) }, requeueAfterMs };
  }

  /**
   * Deleted half-way through a takeover: what it took is put back (src/adopt/backout.ts), and the
   * finalizer goes once the old Deployment serves again. Nothing else is written for it.
   */
  private async backOut(key: string, ms: MicroserviceObject): Promise<Reconciled> {
    const { kube, log, clock = () => new Date() } = this.ctx;
    const namespace = ms.metadata.namespace ?? '';
    const plan = backOut(ms, (await this.adopted(namespace, ms)).adopted ?? {}, clock());
    let writes = 0;
    for (const w of plan.writes) {
      // Gone meanwhile (its namespace being deleted, say): the next pass finds nothing to put back.
      if ('resize' in w) await kube.resize(namespace, w.resize.name, w.resize.replicas).catch((err: unknown) => { if (!(err instanceof ApiError && err.status === 404)) throw err; });
      else await kube.jsonPatch(resourceOf(w.patch.kind), namespace, w.patch.name, w.patch.ops);
      writes++;
    }
    log.info({ key, done: plan.done }, `deleted mid-takeover: ${plan.message}`);
    if (!plan.done) return { outcome: { result: 'updated', writes }, requeueAfterMs: 1_000 };
    if (await kube.setFinalizer(MICROSERVICES, ms, FINALIZER_ADOPTION, false)) writes++;
    return { outcome: { result: 'gone', writes } };
  }

  /**
   * With spec.adopt, the objects it names, read afresh (managedFields kept, to name who revived
   * the old Deployment): they carry none of Coxswain's labels, so no cache holds them.
   */
  private async adopted(namespace: string, ms: MicroserviceObject): Promise<{ adopted?: Adopted }> {
    const adopt = (ms.spec as { adopt?: { deployment?: unknown; service?: unknown; hpa?: unknown } } | undefined)?.adopt;
    if (!adopt || typeof adopt.deployment !== 'string') return {};
    const { kube } = this.ctx;
    const read = (r: Resource, n: unknown) => (typeof n === 'string' ? kube.get<KubeObject>(r, namespace, n) : Promise.resolve(undefined));
    const [deployment, service, hpa] = await Promise.all([read(DEPLOYMENTS, adopt.deployment), read(SERVICES, adopt.service), read(HPAS, adopt.hpa)]);
    return { adopted: { ...(deployment ? { deployment } : {}), ...(service ? { service } : {}), ...(hpa ? { hpa } : {}) } };
  }

  /**
   * One write. Returns 'written', nothing (no write needed after all), or the problem that stopped
   * it: a same-named object we do not own is never taken over, and a refusal by the API server of
   * something rendered from an accepted spec is for a person to fix.
   */
  private async carryOut(namespace: string, write: Write, ownedBy: (o: KubeObject) => boolean): Promise<'written' | Problem | undefined> {
    const { kube, log } = this.ctx;
    if ('resize' in write) {
      await kube.resize(namespace, write.resize.name, write.resize.replicas);
      return 'written';
    }
    if ('delete' in write) {
      const o = write.delete;
      await kube.delete(resourceOf(o.kind), namespace, o.metadata.name, o.metadata.uid ?? '');
      log.info({ kind: o.kind, name: o.metadata.name, namespace }, 'deleted object no longer wanted');
      return 'written';
    }
    const desired = write.apply;
    const resource = resourceOf(desired.kind);
    try {
      if (write.create && !write.takeOver) {
        // None of ours in the caches (they hold only labelled objects): created in one request,
        // refused (409, untouched) when any object holds the name. Only then is it read: ours,
        // not yet cached (labels stripped, say), is applied below; anyone else's is never touched.
        const created = await kube.applyNew(desired).catch((err: unknown) => {
          if (err instanceof ApiError && err.status === 409) return undefined;
          throw err;
        });
        if (created) return this.remember(resource, created);
        const found = await kube.get(resource, namespace, desired.metadata.name);
        if (found && !ownedBy(found)) {
          return { reason: 'NameConflict', message: `${desired.kind} ${namespace}/${desired.metadata.name} exists and is not owned by this Microservice; rename or remove it` };
        }
      }
      return this.remember(resource, await kube.apply(desired));
    } catch (err) {
      // Refused for good (a person must fix the spec): Stalled with the Microservice's field named.
      // Anything else (overload, a restarting API server) is retried with backoff.
      const refusal = refusalOf(err, desired);
      if (refusal) return refusal;
      throw err;
    }
  }

  /** An object just written, in its cache (when one holds the kind) before the informer brings it. */
  private remember(resource: Resource, written: KubeObject): 'written' {
    this.ctx.children.get(resource)?.remember(written);
    return 'written';
  }
}
