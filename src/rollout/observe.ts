// Reading a slot's state off its Deployment.
import type { KubeObject } from '../render/meta.js';
import { LABEL_REVISION } from '../render/meta.js';
import type { ObservedSlot } from './types.js';

interface DeploymentShape {
  metadata: { generation?: number };
  spec?: { replicas?: number; template?: { metadata?: { labels?: Record<string, string> }; spec?: { containers?: Array<{ image?: string }> } } };
  status?: {
    observedGeneration?: number; replicas?: number; readyReplicas?: number; updatedReplicas?: number; availableReplicas?: number;
    conditions?: Array<{ type: string; status: string; reason?: string }>;
  };
}

export function observeSlot(obj: KubeObject): ObservedSlot {
  const d = obj as unknown as DeploymentShape;
  const st = d.status ?? {};
  return {
    revision: d.spec?.template?.metadata?.labels?.[LABEL_REVISION],
    image: d.spec?.template?.spec?.containers?.[0]?.image,
    replicas: d.spec?.replicas ?? 1,
    currentReplicas: st.replicas ?? 0,
    readyReplicas: st.readyReplicas ?? 0,
    updatedReplicas: st.updatedReplicas ?? 0,
    availableReplicas: st.availableReplicas ?? 0,
    settled: (st.observedGeneration ?? 0) >= (d.metadata.generation ?? 0),
    deadlineExceeded: !!st.conditions?.some((c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded'),
  };
}

/** ConfigMaps a pod template refers to (volumes and envFrom), so they are not deleted while in use. */
export function configMapsReferenced(obj: KubeObject): string[] {
  const spec = (obj as { spec?: { template?: { spec?: Record<string, unknown> } } }).spec?.template?.spec ?? {};
  const names: string[] = [];
  for (const v of (spec.volumes as Array<{ configMap?: { name?: string } }> | undefined) ?? []) if (v.configMap?.name) names.push(v.configMap.name);
  for (const c of (spec.containers as Array<{ envFrom?: Array<{ configMapRef?: { name?: string } }> }> | undefined) ?? []) {
    for (const e of c.envFrom ?? []) if (e.configMapRef?.name) names.push(e.configMapRef.name);
  }
  return names;
}
