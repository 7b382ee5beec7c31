// The AnalysisTemplates (namespaced) and ClusterAnalysisTemplates the operator reads, as caches:
// what a reconcile resolves templateRefs against. They are not part of the readiness gate (a
// cluster without their CRDs still runs every Microservice that uses none), and a reference
// resolved before they have listed holds its analyses instead of calling the template missing.
// Watching only some namespaces (--namespaces), the operator has no cluster-wide read, so
// ClusterAnalysisTemplates are not read (unless --cluster-analysis-templates says it may), and a
// reference to one says so.
import type { Logger } from 'pino';
import { templateRefsOf, type TemplateRef } from './api.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';
import { ANALYSIS_TEMPLATES, CLUSTER_ANALYSIS_TEMPLATES } from '../kube/resources.js';
import { Cache } from '../controller/cache.js';
import type { TemplateLookup } from './refs.js';

export class TemplateCaches implements TemplateLookup {
  readonly namespaced: Cache;
  readonly cluster?: Cache;

  /** clusterWide: read ClusterAnalysisTemplates (by default only when watching every namespace). */
  constructor(client: KubeClient, namespaces: string[], log: Logger, clusterWide = namespaces.length === 0) {
    this.namespaced = new Cache(client, ANALYSIS_TEMPLATES, namespaces, log);
    if (clusterWide) this.cluster = new Cache(client, CLUSTER_ANALYSIS_TEMPLATES, [], log);
  }

  get(ref: TemplateRef, namespace: string): KubeObject | undefined {
    if (ref.kind === 'ClusterAnalysisTemplate') return this.cluster?.get('', ref.name);
    return this.namespaced.get(namespace, ref.name);
  }

  get clusterWide(): boolean {
    return this.cluster !== undefined;
  }

  get synced(): boolean {
    return this.namespaced.synced && (this.cluster?.synced ?? true);
  }

  /** Calls back with each template added, changed or deleted, and whether it is cluster-wide. */
  on(handler: (obj: KubeObject, cluster: boolean) => void): void {
    this.namespaced.on((_e, obj) => handler(obj, false));
    this.cluster?.on((_e, obj) => handler(obj, true));
  }

  start(): void {
    this.namespaced.start();
    this.cluster?.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.namespaced.stop(), this.cluster?.stop()]);
  }
}

/** Does this Microservice (spec unvalidated) reference that template? */
export function references(ms: { metadata: { namespace?: string }; spec?: unknown }, template: KubeObject, cluster: boolean): boolean {
  type Ref = { name?: string; kind?: string };
  const refs = templateRefsOf((ms.spec as { analysis?: { templateRef?: Ref; templateRefs?: Ref[] } } | undefined)?.analysis);
  return refs.some((r) => r.name === template.metadata.name
    && (cluster ? r.kind === 'ClusterAnalysisTemplate' : (r.kind ?? 'AnalysisTemplate') === 'AnalysisTemplate' && template.metadata.namespace === ms.metadata.namespace));
}
