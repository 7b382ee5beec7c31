// The PodDisruptionBudget <name> from spec.disruption: one budget over every pod of the
// Microservice, both slots, so a drain mid-rollout counts stable and candidate pods together.
import type { Microservice } from '../api/schema.js';
import { baseLabels } from '../api/names.js';
import type { KubeObject } from '../kube/object.js';
import { ownedMeta } from './meta.js';

type Budget = number | string;

/**
 * The budget as rendered: never one that forbids every eviction, so a node drain is never blocked
 * for good by a budget alone. `maxUnavailable: 0` becomes 1; a `minAvailable` that would leave
 * no eviction at `replicas` pods (1 replica, minAvailable equal to replicas, 100%) becomes
 * `replicas - 1`. Any other value is kept as written (a percentage stays one, so it scales with
 * the pods of both slots mid-rollout).
 */
export function budgetFor(d: { maxUnavailable?: Budget; minAvailable?: Budget }, replicas: number): { maxUnavailable: Budget } | { minAvailable: Budget } {
  if (d.maxUnavailable !== undefined) return { maxUnavailable: d.maxUnavailable === 0 || d.maxUnavailable === '0%' ? 1 : d.maxUnavailable };
  const m = d.minAvailable ?? 0;
  // As the disruption controller reads a percentage: rounded up.
  const need = typeof m === 'number' ? m : Math.ceil((replicas * Number(m.slice(0, -1))) / 100);
  return need >= replicas && need > 0 ? { minAvailable: Math.max(0, replicas - 1) } : { minAvailable: m };
}

export function renderPodDisruptionBudget(ms: Microservice): KubeObject | undefined {
  const d = ms.spec.disruption;
  if (!d) return undefined;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: ownedMeta(ms, ms.metadata.name),
    spec: {
      selector: { matchLabels: baseLabels(ms.metadata.name) },
      ...budgetFor(d, ms.spec.replicas),
      // A pod that is not Ready serves nothing: evicting it costs no availability, and a
      // crash-looping pod never holds up a drain (the default, IfHealthyBudget, lets it).
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  };
}
