// The Microservice controller's wiring, declared in one place: what it is for, what it owns, what
// else it watches and how each event maps to the key of the Microservice to reconcile; and which
// changes of its own object need no reconcile. The runtime (manager.ts) knows none of this.
import { KIND } from '../api/schema.js';
import { LABEL_MANAGED_BY, LABEL_NAME, LABEL_SLOT, MANAGER, stableJSON } from '../api/names.js';
import type { KubeObject } from '../kube/object.js';
import { slimEndpointSlice, slimPod } from '../rollout/observe.js';
import { ENDPOINTSLICES, HTTPROUTES, MICROSERVICES, OWNED, PODMONITORS, PODS, type Resource, SECRETS } from '../kube/resources.js';
import { slimSecret, trackersOf } from '../secrets/watch.js';

export interface Watch {
  resource: Resource;
  /** Only objects with these labels are cached. */
  labelSelector?: string;
  /** Trims an object to what reconciles read before it is cached (managedFields always go). */
  transform?: (obj: KubeObject) => KubeObject;
  /** The key (namespace/name) of the object to reconcile for an event on `obj`, if any. */
  keyOf(obj: KubeObject): string | undefined;
  /** An optional watch's operator flag (ManagerOptions): false turns the watch off. */
  option?: 'gatewayAPI' | 'podMonitors';
  /** Keys of other Microservices an event on `obj` concerns (those that read it), given all of them. */
  readersOf?(obj: KubeObject, microservices: readonly KubeObject[]): string[];
}

export interface ControllerWiring {
  /** The resource reconciled, keyed by its own namespace/name. */
  for: Resource;
  /** A change of the reconciled object that needs no reconcile. */
  ignoreUpdate(old: KubeObject, obj: KubeObject): boolean;
  /** Objects it owns (controller ownerReference) and other objects it watches. */
  watches: Watch[];
  /**
   * Watched only while the API server serves them: kinds whose CRDs may be missing, installed or
   * removed while the operator runs (the manager asks discovery, and starts or stops the cache).
   */
  optionalWatches?: Watch[];
}

const MANAGED = `${LABEL_MANAGED_BY}=${MANAGER}`;

/** The Microservice a child belongs to: its controller ownerReference. */
const owner = (obj: KubeObject) => {
  const ref = obj.metadata.ownerReferences?.find((r) => r.controller && r.kind === KIND);
  return ref ? `${obj.metadata.namespace}/${ref.name}` : undefined;
};

/** A pod's Microservice is in its name label (its owner is a ReplicaSet): failing pods abort rollouts. */
const podOwner = (obj: KubeObject) => {
  const name = obj.metadata.labels?.[LABEL_NAME];
  return name ? `${obj.metadata.namespace}/${name}` : undefined;
};

/** A status write (ours, mostly) needs no reconcile; spec, labels and annotations (actions) do. */
export function onlyStatusChanged(old: KubeObject, obj: KubeObject): boolean {
  const a = old.metadata;
  const b = obj.metadata;
  return a.generation === b.generation && !b.deletionTimestamp
    && stableJSON(a.annotations ?? {}) === stableJSON(b.annotations ?? {}) && stableJSON(a.labels ?? {}) === stableJSON(b.labels ?? {});
}

export const MICROSERVICE_CONTROLLER: ControllerWiring = {
  for: MICROSERVICES,
  ignoreUpdate: onlyStatusChanged,
  watches: [
    ...OWNED.map((resource) => ({ resource, labelSelector: MANAGED, keyOf: owner })),
    { resource: PODS, labelSelector: MANAGED, keyOf: podOwner, transform: slimPod },
    // A Service's EndpointSlices carry its labels (the EndpointSlice controller copies them): only
    // the slot Services' (a route's backends) carry the slot label, and only those are read.
    { resource: ENDPOINTSLICES, labelSelector: `${MANAGED},${LABEL_SLOT}`, keyOf: podOwner, transform: slimEndpointSlice },
  ],
  // The route of spec.traffic.gateway: only where the Gateway API's CRDs are installed; the
  // PodMonitor of spec.monitoring: only where the Prometheus Operator's are.
  optionalWatches: [
    { resource: HTTPROUTES, labelSelector: MANAGED, keyOf: owner, option: 'gatewayAPI' },
    { resource: PODMONITORS, labelSelector: MANAGED, keyOf: owner, option: 'podMonitors' },
  ],
};

/**
 * With --track-secrets: every Secret of the watched namespaces, the revisions' copies (owned) and
 * the ones pods reference (read, so a change rolls out). Without it Secrets are not watched.
 */
export function microserviceController(opts: { trackSecrets?: boolean } = {}): ControllerWiring {
  if (!opts.trackSecrets) return MICROSERVICE_CONTROLLER;
  const secrets: Watch = { resource: SECRETS, keyOf: owner, transform: slimSecret, readersOf: trackersOf };
  return { ...MICROSERVICE_CONTROLLER, watches: [...MICROSERVICE_CONTROLLER.watches, secrets] };
}
