// Typed operations on the resources Coxswain reads and writes. Writes are server-side apply
// with field manager `coxswain`, so Coxswain owns exactly the fields it sets and no others.
import { randomBytes } from 'node:crypto';
import { GROUP, PLURAL, VERSION, type KubeEvent, type MicroserviceObject, type MicroserviceStatus } from '../api/schema.js';
import { MANAGER } from '../api/names.js';
import { type KubeObject } from './object.js';
import { ApiError, type KubeClient } from './client.js';

export interface Resource {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export const MICROSERVICES: Resource = { group: GROUP, version: VERSION, plural: PLURAL, kind: 'Microservice' };
export const DEPLOYMENTS: Resource = { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment' };
export const SERVICES: Resource = { group: '', version: 'v1', plural: 'services', kind: 'Service' };
export const CONFIGMAPS: Resource = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap' };
export const HPAS: Resource = { group: 'autoscaling', version: 'v2', plural: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler' };
export const NETWORKPOLICIES: Resource = { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', kind: 'NetworkPolicy' };
export const PDBS: Resource = { group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', kind: 'PodDisruptionBudget' };
export const CONTROLLERREVISIONS: Resource = { group: 'apps', version: 'v1', plural: 'controllerrevisions', kind: 'ControllerRevision' };

/** Analysis templates are only read: metrics defined once, referenced by name. */
export const ANALYSIS_TEMPLATES: Resource = { group: GROUP, version: VERSION, plural: 'analysistemplates', kind: 'AnalysisTemplate' };
export const CLUSTER_ANALYSIS_TEMPLATES: Resource = { group: GROUP, version: VERSION, plural: 'clusteranalysistemplates', kind: 'ClusterAnalysisTemplate' };

/** Pods are read (their containers' states tell a crash-looping candidate) and only their role label is patched. */
export const PODS: Resource = { group: '', version: 'v1', plural: 'pods', kind: 'Pod' };

/**
 * EndpointSlices are only read: with a route, a slot's weight moves only once its Service's
 * EndpointSlices publish its Ready pods (a gateway routes to those addresses, not to pods).
 */
export const ENDPOINTSLICES: Resource = { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', kind: 'EndpointSlice' };

/** Every kind a Microservice owns, in the order they are applied (config before the pods that mount it). */
export const OWNED: readonly Resource[] = [CONTROLLERREVISIONS, CONFIGMAPS, DEPLOYMENTS, SERVICES, HPAS, NETWORKPOLICIES, PDBS];

/** Owned with spec.traffic.gateway, and only where the Gateway API's CRDs are installed. */
export const HTTPROUTES: Resource = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes', kind: 'HTTPRoute' };

/** Owned with spec.monitoring, and only where the Prometheus Operator's CRDs are installed. */
export const PODMONITORS: Resource = { group: 'monitoring.coreos.com', version: 'v1', plural: 'podmonitors', kind: 'PodMonitor' };

/**
 * Read and owned only with --track-secrets: the Secrets pods reference, and the revisions'
 * immutable copies of them. Without it the operator makes no request for Secrets at all.
 */
export const SECRETS: Resource = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' };

export function resourceOf(kind: string): Resource {
  const r = [MICROSERVICES, ...OWNED, HTTPROUTES, PODMONITORS, SECRETS].find((x) => x.kind === kind);
  if (!r) throw new Error(`unknown kind ${kind}`);
  return r;
}

/** `/apis/apps/v1/namespaces/shop/deployments/orders-blue/scale`; namespace undefined = all namespaces. */
export function resourcePath(r: Resource, namespace?: string, name?: string, subresource?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const n = name ? `/${encodeURIComponent(name)}` : '';
  return `${base}${ns}/${r.plural}${n}${subresource ? `/${subresource}` : ''}`;
}

/** A resourceVersion no stored object carries: the create-only precondition of `applyNew`. */
const NO_OBJECT_HAS_IT = '1';

const APPLY = { contentType: 'application/apply-patch+yaml', query: { fieldManager: MANAGER, force: true } };

export class Kube {
  constructor(readonly client: KubeClient) {}

  /** Server-side apply; force, because on objects it owns Coxswain is the authority (drift comes back). */
  apply(obj: KubeObject): Promise<KubeObject> {
    const r = resourceOf(obj.kind);
    return this.client.request('PATCH', resourcePath(r, obj.metadata.namespace, obj.metadata.name), { ...APPLY, body: obj });
  }

  /**
   * Server-side apply that only creates: with any object of that name there, ours or not, the API
   * server answers 409 Conflict and leaves it untouched. The precondition is a resourceVersion no
   * object has (etcd's first write is revision 2): ignored on create, checked against an existing
   * object, and not tracked in managedFields. (A uid in the body does not do this: the API server
   * refuses it on create, 409 "uid mismatch ... no existing object was found".)
   */
  applyNew(obj: KubeObject): Promise<KubeObject> {
    return this.apply({ ...obj, metadata: { ...obj.metadata, resourceVersion: NO_OBJECT_HAS_IT } });
  }

  applyStatus(ms: MicroserviceObject, status: MicroserviceStatus): Promise<MicroserviceObject> {
    const body = { apiVersion: ms.apiVersion, kind: ms.kind, metadata: { name: ms.metadata.name, namespace: ms.metadata.namespace }, status };
    return this.client.request('PATCH', resourcePath(MICROSERVICES, ms.metadata.namespace, ms.metadata.name, 'status'), { ...APPLY, body });
  }

  /** Resizes a Deployment through /scale, leaving its pod template (an earlier revision) as it is. */
  resize(namespace: string, name: string, replicas: number): Promise<unknown> {
    return this.client.request('PATCH', resourcePath(DEPLOYMENTS, namespace, name, 'scale'), {
      contentType: 'application/merge-patch+json',
      query: { fieldManager: MANAGER },
      body: { spec: { replicas } },
    });
  }

  async get<T = KubeObject>(r: Resource, namespace: string, name: string): Promise<T | undefined> {
    try {
      return await this.client.request<T>('GET', resourcePath(r, namespace, name));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Deletes only the object with this uid: one recreated meanwhile under the same name is left alone. */
  async delete(r: Resource, namespace: string, name: string, uid: string): Promise<void> {
    try {
      await this.client.request('DELETE', resourcePath(r, namespace, name), {
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid }, propagationPolicy: 'Background' },
      });
    } catch (err) {
      if (!(err instanceof ApiError && (err.status === 404 || err.status === 409))) throw err;
    }
  }

  /**
   * Removes one annotation (or replaces it, with `replaceWith`) if it still holds `value`, with a JSON patch (not apply: the annotation
   * is the user's field). Returns false when it changed meanwhile (a newer action was written:
   * it stays, for the next reconcile) or is gone.
   */
  async removeAnnotation(r: Resource, namespace: string, name: string, key: string, value: string, replaceWith?: string): Promise<boolean> {
    const path = `/metadata/annotations/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    const change = replaceWith === undefined ? { op: 'remove', path } : { op: 'replace', path, value: replaceWith };
    try {
      await this.client.request('PATCH', resourcePath(r, namespace, name), {
        contentType: 'application/json-patch+json',
        body: [{ op: 'test', path, value }, change],
      });
      return true;
    } catch (err) {
      if (err instanceof ApiError && (err.status === 422 || err.status === 409)) return false;
      throw err;
    }
  }

  /**
   * A JSON patch, its `test` operations its preconditions. Returns false when one failed or the
   * object is gone: it changed meanwhile, and the next pass reads it again.
   */
  async jsonPatch(r: Resource, namespace: string, name: string, ops: readonly object[]): Promise<boolean> {
    try {
      await this.client.request('PATCH', resourcePath(r, namespace, name), { contentType: 'application/json-patch+json', query: { fieldManager: MANAGER }, body: ops });
      return true;
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 409 || err.status === 422)) return false;
      throw err;
    }
  }

  /** Adds or removes one finalizer of an object as read (its resourceVersion, or the finalizer's place, the precondition). */
  setFinalizer(r: Resource, obj: { metadata: KubeObject['metadata'] }, finalizer: string, held: boolean): Promise<boolean> {
    const list = obj.metadata.finalizers ?? [];
    const at = list.indexOf(finalizer);
    if (held === at >= 0) return Promise.resolve(true);
    const ops = held
      ? [{ op: 'test', path: '/metadata/resourceVersion', value: obj.metadata.resourceVersion }, list.length > 0 ? { op: 'add', path: '/metadata/finalizers/-', value: finalizer } : { op: 'add', path: '/metadata/finalizers', value: [finalizer] }]
      : [{ op: 'test', path: `/metadata/finalizers/${at}`, value: finalizer }, { op: 'remove', path: `/metadata/finalizers/${at}` }];
    return this.jsonPatch(r, obj.metadata.namespace ?? '', obj.metadata.name, ops);
  }

  /**
   * Sets one label of a pod (null removes it) with a merge patch of its metadata alone, so its
   * template and spec are untouched and it does not restart. The pod's uid in the patch is a
   * precondition: a pod replaced under the same name is left alone. Returns the patched pod, or
   * undefined when it is gone or replaced.
   */
  async labelPod(pod: KubeObject, key: string, value: string | null): Promise<KubeObject | undefined> {
    try {
      return await this.client.request<KubeObject>('PATCH', resourcePath(PODS, pod.metadata.namespace, pod.metadata.name), {
        contentType: 'application/merge-patch+json',
        query: { fieldManager: MANAGER },
        body: { metadata: { uid: pod.metadata.uid, labels: { [key]: value } } },
      });
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 409)) return undefined;
      throw err;
    }
  }

  async event(involved: MicroserviceObject, type: KubeEvent['type'], reason: string, message: string, now: Date): Promise<void> {
    const { name, namespace, uid, resourceVersion } = involved.metadata;
    const time = now.toISOString();
    await this.client.request('POST', resourcePath({ group: '', version: 'v1', plural: 'events', kind: 'Event' }, namespace), {
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `${name}.${randomBytes(8).toString('hex')}`, namespace },
        involvedObject: { apiVersion: involved.apiVersion, kind: involved.kind, name, namespace, uid, resourceVersion },
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component: MANAGER },
        reportingComponent: MANAGER,
        reportingInstance: process.env.HOSTNAME ?? MANAGER,
        firstTimestamp: time,
        lastTimestamp: time,
        count: 1,
      },
    });
  }
}
