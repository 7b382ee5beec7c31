// Traffic routers: how a plan's traffic fields reach the slots. The default router is the Service
// selector: `<name>` selects the serving slot (or every slot, traffic by replica weight) on the
// stable revision's ports, `<name>-preview` the candidate on its own. Another router (a Gateway
// API route) implements the same interface over the same plan.
import type { Microservice } from '../api/schema.js';
import type { KubeObject } from '../kube/object.js';
import type { Plan } from '../rollout/types.js';
import { renderPreviewService, renderService } from './network.js';
import type { Revision } from './revision.js';

export interface TrafficRouter {
  objects(ms: Microservice, plan: Plan, revisions: ReadonlyMap<string, Revision>): Array<KubeObject | undefined>;
}

export const serviceRouter: TrafficRouter = {
  objects(ms, plan, revisions) {
    const serving = revisions.get(plan.servingRevision)?.ports ?? ms.spec.ports ?? [];
    const preview = revisions.get(plan.previewRevision)?.ports ?? serving;
    // `<name>` on the serving revision's ports, aimed so that the other revision's pods it may
    // select (a canary's candidate, a RollingUpdate's new pods) match them where they can.
    const others = plan.selectedRevisions ?? Object.values(plan.slots).flatMap((p) => (p.revision ? [p.revision] : []));
    const other = others.flatMap((r) => (r !== plan.servingRevision ? revisions.get(r)?.ports ?? [] : []));
    return [
      renderService(ms, ms.metadata.name, serving, plan.serviceSlot, other),
      plan.previewSlot ? renderPreviewService(ms, preview, plan.previewSlot) : undefined,
    ];
  },
};
