// The PodMonitor <name> from spec.monitoring (monitoring.coreos.com/v1, the Prometheus
// Operator's): one scrape config over every pod of the Microservice, both slots, that keeps the
// pods' revision, slot and role as target labels, so analysis queries and dashboards select by
// `revision="..."` or `role="canary"` with no hand-written relabelling.
import type { Microservice } from '../api/schema.js';
import { baseLabels, LABEL_REVISION, LABEL_ROLE, LABEL_SLOT } from '../api/names.js';
import { MONITORING_GROUP } from '../api/monitoring.js';
import type { KubeObject } from '../kube/object.js';
import { ownedMeta } from './meta.js';

export const PODMONITOR_API_VERSION = `${MONITORING_GROUP}/v1`;

/** The pod labels kept, by the target label they become. */
export const TARGET_LABELS: ReadonlyArray<[target: string, podLabel: string]> = [['revision', LABEL_REVISION], ['slot', LABEL_SLOT], ['role', LABEL_ROLE]];

/** How Prometheus' Kubernetes discovery names a pod label: every character not allowed in a label name becomes `_`. */
export const podLabelMeta = (label: string) => `__meta_kubernetes_pod_label_${label.replace(/[^a-zA-Z0-9_]/g, '_')}`;

export function renderPodMonitor(ms: Microservice): KubeObject | undefined {
  const m = ms.spec.monitoring;
  if (!m) return undefined;
  return {
    apiVersion: PODMONITOR_API_VERSION,
    kind: 'PodMonitor',
    metadata: ownedMeta(ms, ms.metadata.name),
    spec: {
      selector: { matchLabels: baseLabels(ms.metadata.name) },
      podMetricsEndpoints: [{
        port: m.port,
        path: m.path,
        ...(m.interval ? { interval: m.interval } : {}),
        // `action` written out (the CRD defaults it), so the stored object is exactly what was applied.
        relabelings: TARGET_LABELS.map(([target, label]) => ({ action: 'replace', sourceLabels: [podLabelMeta(label)], targetLabel: target })),
      }],
    },
  };
}
