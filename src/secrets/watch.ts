// What the operator keeps of Secrets it watches (--track-secrets), and which Microservices a
// change of one concerns.
import type { MicroserviceSpec } from '../api/schema.js';
import type { KubeObject } from '../kube/object.js';
import { secretsInSpec } from './refs.js';
import type { SecretContent, SecretLookup } from './track.js';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * A Secret as cached: what a copy is made from and what ownership is told by; nothing else. Not
 * kubectl's last-applied annotation either: a Secret applied client-side holds its data there too.
 */
export function slimSecret(obj: KubeObject): KubeObject {
  const { name, namespace, uid, resourceVersion, labels, annotations, ownerReferences } = obj.metadata;
  const { [LAST_APPLIED]: _, ...kept } = annotations ?? {};
  return {
    apiVersion: obj.apiVersion, kind: obj.kind,
    metadata: { name, namespace, uid, resourceVersion, labels, ...(annotations ? { annotations: kept } : {}), ownerReferences },
    ...(obj.type !== undefined ? { type: obj.type } : {}),
    ...(obj.data !== undefined ? { data: obj.data } : {}),
    ...(obj.immutable !== undefined ? { immutable: obj.immutable } : {}),
  };
}

/** The keys of the Microservices in the Secret's namespace that track it (spec.trackSecrets and a reference). */
export function trackersOf(secret: KubeObject, microservices: readonly KubeObject[]): string[] {
  const ns = secret.metadata.namespace;
  return microservices.flatMap((m) => {
    if (m.metadata.namespace !== ns) return [];
    // As stored (the API server checked its shape): parsing every Microservice on every Secret event costs more than it tells.
    const spec = (m as { spec?: MicroserviceSpec }).spec;
    return spec?.trackSecrets === true && secretsInSpec(spec).includes(secret.metadata.name) ? [`${ns}/${m.metadata.name}`] : [];
  });
}

/**
 * The lookup a reconcile reads sources through. A Secret some Microservice owns is a copy, never
 * a source: tracking a copy would copy copies.
 */
export function secretLookup(get: (name: string) => KubeObject | undefined): SecretLookup {
  return (name) => {
    const s = get(name);
    if (!s || s.metadata.ownerReferences?.some((r) => r.controller && r.kind === 'Microservice')) return undefined;
    return { ...(typeof s.type === 'string' ? { type: s.type } : {}), data: (s.data as SecretContent['data']) ?? {} };
  };
}
