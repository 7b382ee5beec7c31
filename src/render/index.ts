// Pure rendering: (Microservice, plan, kept revisions) -> the child objects it should have.
import type { Microservice, Slot } from '../api/schema.js';
import { ANNOTATION_APPLIED, contentHash, SLOTS } from '../api/names.js';
import type { KubeObject } from '../kube/object.js';
import type { Plan } from '../rollout/types.js';
import { renderHPA, renderNetworkPolicy } from './network.js';
import { revisionOfSpec, type Revision } from './revision.js';
import { gatewayRouter } from './gateway.js';
import { serviceRouter, type TrafficRouter } from './traffic.js';
import { renderConfigMap, renderDeployment } from './workload.js';
import { renderPodDisruptionBudget } from './disruption.js';
import { renderPodMonitor } from './monitoring.js';

export interface Rendered {
  /** Objects to apply in full. */
  objects: KubeObject[];
  /** Slots that keep their pod template (a revision not kept) and are only resized. */
  resize: Resize[];
}

export type Resize = { slot: Slot; replicas: number };

/**
 * Every slot the plan gives a revision is rendered from that revision's kept template (the
 * spec's own revision is always at hand); the ConfigMaps of those revisions with them.
 */
export function render(ms: Microservice, plan: Plan, kept: ReadonlyMap<string, Revision> = new Map(), router: TrafficRouter = routerFor(ms)): Rendered {
  const spec = revisionOfSpec(ms);
  const revisions = new Map(kept).set(spec.revision, spec);
  const objects: Array<KubeObject | undefined> = [];
  const resize: Resize[] = [];
  const running = new Map<string, Revision>();
  for (const slot of SLOTS) {
    const p = plan.slots[slot];
    if (!p) continue;
    const rev = p.revision !== undefined ? revisions.get(p.revision) : undefined;
    if (!rev) { resize.push({ slot, replicas: p.replicas }); continue; }
    const ours = rev.revision === spec.revision;
    // Paused whatever revision it runs: a paused slot handed a kept template instead of the spec's
    // (the spec's refused) must not resume and roll it.
    const paused = plan.pauseDeployments ? { paused: true } : {};
    objects.push(renderDeployment(ms, slot, p.replicas, { template: rev.template, ...paused, ...(ours ? { restartedAt: plan.restartedAt } : p.restartedAt ? { restartedAt: p.restartedAt } : {}) }));
    if (!running.has(rev.revision)) running.set(rev.revision, rev);
  }
  const serving = revisions.get(plan.servingRevision) ?? spec;
  running.set(serving.revision, serving);
  // Pods `<name>` still selects (a slot draining after an abort) are admitted on their own ports.
  const selected = (plan.selectedRevisions ?? []).flatMap((r) => revisions.get(r)?.ports ?? []);
  objects.unshift(...[...running.values()].map((r) => renderConfigMap(ms, r.config)));
  objects.push(
    ...router.objects(ms, plan, revisions),
    renderHPA(ms),
    renderNetworkPolicy(ms, [...[serving, ...running.values()].flatMap((r) => r.ports), ...selected]),
    renderPodDisruptionBudget(ms),
    renderPodMonitor(ms),
  );
  return { objects: objects.filter((o): o is KubeObject => o !== undefined).map(stamped), resize };
}

/** A revision's ConfigMap as render() renders it, or undefined when the revision has no config. */
export function renderRevisionConfig(ms: Microservice, rev: Revision): KubeObject | undefined {
  const cm = renderConfigMap(ms, rev.config);
  return cm && stamped(cm);
}

/** The Gateway API route with spec.traffic.gateway, else the Service selector. */
export function routerFor(ms: Microservice): TrafficRouter {
  return ms.spec.traffic?.gateway ? gatewayRouter : serviceRouter;
}

function stamped(o: KubeObject): KubeObject {
  return { ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, [ANNOTATION_APPLIED]: contentHash(o) } } };
}

export { ownedMeta } from './meta.js';
export { configMapNameFor, podTemplate, revisionOf } from './workload.js';
