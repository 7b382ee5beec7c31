// Pure rendering: (Microservice, plan) -> the child objects it should have.
import type { Microservice, Slot } from '../api/schema.js';
import type { Plan } from '../rollout/types.js';
import { ANNOTATION_APPLIED, contentHash, SLOTS } from '../api/names.js';
import { type KubeObject } from '../kube/object.js';
import { renderHPA, renderNetworkPolicy, renderPreviewService, renderService } from './network.js';
import { renderConfigMap, renderDeployment } from './workload.js';

export interface Rendered {
  /** Objects to apply in full. */
  objects: KubeObject[];
  /** Slots that keep their pod template (an earlier revision) and are only resized. */
  resize: Resize[];
}

export type Resize = { slot: Slot; replicas: number };

export function render(ms: Microservice, plan: Plan): Rendered {
  const objects: Array<KubeObject | undefined> = [renderConfigMap(ms)];
  const resize: Rendered['resize'] = [];
  for (const slot of SLOTS) {
    const p = plan.slots[slot];
    if (!p) continue;
    if (p.template === 'current') objects.push(renderDeployment(ms, slot, p.replicas, { paused: plan.pauseDeployments, restartedAt: plan.restartedAt }));
    else resize.push({ slot, replicas: p.replicas });
  }
  objects.push(
    renderService(ms, ms.metadata.name, plan.serviceSlot),
    plan.previewSlot ? renderPreviewService(ms, plan.previewSlot) : undefined,
    renderHPA(ms),
    renderNetworkPolicy(ms),
  );
  return { objects: objects.filter((o): o is KubeObject => o !== undefined).map(stamped), resize };
}

function stamped(o: KubeObject): KubeObject {
  return { ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, [ANNOTATION_APPLIED]: contentHash(o) } } };
}

export { ownedMeta } from './meta.js';
export { configMapNameFor, podTemplate, revisionOf } from './workload.js';
