// One reconcile of one Microservice: observe (from the caches), plan and render (pure), apply
// only what differs, delete what is no longer wanted, write status only when it changed.
import type { Logger } from 'pino';
import type { MicroserviceObject, MicroserviceStatus } from '../api/schema.js';
import { validateMicroservice } from '../api/validate.js';
import { ANNOTATION_ACTION, deploymentName, LABEL_NAME, LABEL_SLOT, SLOTS, stableJSON } from '../api/names.js';
import { render, revisionOf } from '../render/index.js';
import { type KubeObject } from '../kube/object.js';
import { upToDate } from '../render/diff.js';
import { ApiError } from '../kube/client.js';
import { CONFIGMAPS, DEPLOYMENTS, type Kube, MICROSERVICES, resourceOf, type Resource } from '../kube/resources.js';
import { configMapsReferenced, observeSlot, servedSlotOf } from '../rollout/observe.js';
import { decide, parseAction, type Decision } from '../rollout/engine.js';
import { computeStatus, converged, invalidSpecStatus, statusEvents, type Problem } from '../rollout/status.js';
import { writeOrder } from '../rollout/plan.js';
import type { ObservedSlots } from '../rollout/types.js';
import type { Cache } from './cache.js';

export interface ReconcileOutcome {
  result: 'unchanged' | 'updated' | 'stalled' | 'gone';
  writes: number;
}

export class Reconciler {
  constructor(
    private readonly kube: Kube,
    private readonly microservices: Cache,
    private readonly owned: ReadonlyMap<Resource, Cache>,
    private readonly pods: Cache,
    private readonly log: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async reconcile(key: string): Promise<{ outcome: ReconcileOutcome; requeueAfterMs?: number }> {
    const [namespace = '', name = ''] = key.split('/');
    const obj = this.microservices.get(namespace, name) as MicroserviceObject | undefined;
    if (!obj || obj.metadata.deletionTimestamp) return { outcome: { result: 'gone', writes: 0 } };
    const now = this.clock();
    let writes = 0;

    const valid = validateMicroservice(obj);
    if (!valid.ok) {
      writes += await this.writeStatus(obj, invalidSpecStatus(obj.status, obj.metadata.generation, valid.problems, now), now);
      return { outcome: { result: 'stalled', writes } };
    }
    const ms = valid.value;
    const uid = ms.metadata.uid ?? '';
    const ownedBy = (o: KubeObject) => !!o.metadata.ownerReferences?.some((r) => r.uid === uid && r.controller);
    const mine = new Map<string, KubeObject>();
    for (const [r, cache] of this.owned) for (const o of cache.list(namespace).filter(ownedBy)) mine.set(`${r.kind}/${o.metadata.name}`, o);

    const pods = this.pods.list(namespace).filter((p) => p.metadata.labels?.[LABEL_NAME] === name);
    const observed: ObservedSlots = {};
    for (const slot of SLOTS) {
      const dep = mine.get(`Deployment/${deploymentName(name, slot)}`);
      if (dep) observed[slot] = observeSlot(dep, pods.filter((p) => p.metadata.labels?.[LABEL_SLOT] === slot));
    }
    const desiredRevision = revisionOf(ms);
    const action = parseAction(ms.metadata.annotations?.[ANNOTATION_ACTION]);
    const servedSlot = servedSlotOf(mine.get(`Service/${name}`));
    const decision = decide({ ms, observed, desiredRevision, now, action, servedSlot });
    const activeSlot = decision.activeSlot;
    const rendered = render(ms, decision.plan);

    const problems: Problem[] = decision.problem ? [decision.problem] : [];
    for (const write of writeOrder(rendered, observed)) {
      if ('resize' in write) {
        await this.kube.resize(namespace, deploymentName(name, write.resize.slot), write.resize.replicas);
        writes++;
        continue;
      }
      const result = await this.applyIfChanged(namespace, write.apply, mine, ownedBy);
      if (result === 'applied') writes++;
      else if (result) problems.push(result);
    }

    const done = converged(ms, desiredRevision, activeSlot, observed);
    const keptDeployments = rendered.resize.map((r) => mine.get(`Deployment/${deploymentName(name, r.slot)}`));
    writes += await this.deleteUnwanted(namespace, mine, rendered.objects, keptDeployments, done);

    const status = computeStatus({ ms, desiredRevision, activeSlot, observed, problems, now, outcome: decision });
    writes += await this.writeStatus(ms, status, now, decision.events);
    if (action) {
      // Done (or refused) and recorded in status.lastAction: clear the annotation, so it runs once.
      // Only the value acted on: a newer action written meanwhile stays, and runs next.
      await this.kube.removeAnnotation(MICROSERVICES, namespace, name, ANNOTATION_ACTION, ms.metadata.annotations![ANNOTATION_ACTION]!);
      writes++;
    }
    const result = problems.length > 0 ? 'stalled' : writes > 0 ? 'updated' : 'unchanged';
    return { outcome: { result, writes }, requeueAfterMs: decision.requeueAfterMs };
  }

  /**
   * Applies one desired object unless the live one already holds it. Returns 'applied', nothing
   * (up to date), or the problem that stopped it: a same-named object we do not own is never
   * taken over, and a refusal by the API server of something rendered from an accepted spec is
   * for a person to fix.
   */
  private async applyIfChanged(namespace: string, desired: KubeObject, mine: Map<string, KubeObject>, ownedBy: (o: KubeObject) => boolean): Promise<'applied' | Problem | undefined> {
    const id = `${desired.kind}/${desired.metadata.name}`;
    const resource = resourceOf(desired.kind);
    let current = mine.get(id);
    if (!current) {
      // Not in our caches (they hold only labelled objects): look it up before creating it.
      const found = await this.kube.get(resource, namespace, desired.metadata.name);
      if (found && !ownedBy(found)) {
        return { reason: 'NameConflict', message: `${desired.kind} ${namespace}/${desired.metadata.name} exists and is not owned by this Microservice; rename or remove it` };
      }
      current = found;
    }
    if (current && upToDate(current, desired)) return undefined;
    try {
      const applied = await this.kube.apply(desired);
      this.owned.get(resource)?.remember(applied);
      mine.set(id, applied);
      return 'applied';
    } catch (err) {
      if (err instanceof ApiError && (err.status === 422 || err.status === 400)) {
        return { reason: 'ApplyFailed', message: `${desired.kind} ${desired.metadata.name}: ${err.message}` };
      }
      throw err;
    }
  }

  /**
   * Deletes owned objects the plan no longer wants. Slot Deployments stay (the idle one is the
   * rollback target), and so do the ConfigMaps they use; stale ConfigMaps go only once the
   * rollout is done, since pods of the old revision may still read them.
   */
  private async deleteUnwanted(namespace: string, mine: Map<string, KubeObject>, desired: KubeObject[], kept: Array<KubeObject | undefined>, done: boolean): Promise<number> {
    const wanted = new Set(desired.map((o) => `${o.kind}/${o.metadata.name}`));
    for (const dep of kept) for (const cm of dep ? configMapsReferenced(dep) : []) wanted.add(`ConfigMap/${cm}`);
    let deletes = 0;
    for (const [id, obj] of mine) {
      if (wanted.has(id) || obj.kind === DEPLOYMENTS.kind) continue;
      if (obj.kind === CONFIGMAPS.kind && !done) continue;
      await this.kube.delete(resourceOf(obj.kind), namespace, obj.metadata.name, obj.metadata.uid ?? '');
      this.log.info({ kind: obj.kind, name: obj.metadata.name, namespace }, 'deleted object no longer wanted');
      deletes++;
    }
    return deletes;
  }

  private async writeStatus(ms: MicroserviceObject, status: MicroserviceStatus, now: Date, events: Decision['events'] = []): Promise<number> {
    if (stableJSON(ms.status ?? {}) === stableJSON(status)) return 0;
    const updated = await this.kube.applyStatus(ms, status);
    this.microservices.remember(updated as unknown as KubeObject);
    for (const e of [...events, ...statusEvents(ms.status, status)]) {
      await this.kube.event(ms, e.type, e.reason, e.message, now).catch((err: unknown) => this.log.warn({ err: String(err) }, 'could not record event'));
    }
    return 1;
  }
}
