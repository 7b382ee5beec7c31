// The informers of one resource across the namespaces the operator watches, read as one cache.
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.js';
import type { Resource } from '../kube/resources.js';
import type { KubeObject } from '../kube/object.js';
import { type Handler, Informer, type InformerOptions } from './informer.js';

export class Cache {
  readonly informers: Informer[];

  /** namespaces empty = every namespace, through one cluster-wide informer. */
  constructor(client: KubeClient, readonly resource: Resource, namespaces: string[], log: Logger, only: Pick<InformerOptions, 'labelSelector' | 'transform' | 'ownerOf'> = {}) {
    const scopes = namespaces.length > 0 ? namespaces : [undefined];
    this.informers = scopes.map((namespace) => new Informer(client, { resource, namespace, ...only }, log));
  }

  private informerFor(namespace: string): Informer | undefined {
    return this.informers.find((i) => i.opts.namespace === undefined || i.opts.namespace === namespace);
  }

  get(namespace: string, name: string): KubeObject | undefined {
    return this.informerFor(namespace)?.get(namespace, name);
  }

  list(): KubeObject[] {
    return this.informers.flatMap((i) => i.list());
  }

  /** The objects of `namespace` whose ownerOf is `owner` (the informers' index). */
  owned(namespace: string, owner: string): KubeObject[] {
    return this.informerFor(namespace)?.listOwned(owner) ?? [];
  }

  /** Records an object we just wrote, so a reconcile that runs before its watch event sees it. */
  remember(obj: KubeObject): void {
    this.informerFor(obj.metadata.namespace ?? '')?.remember(obj);
  }

  on(handler: Handler): void {
    for (const i of this.informers) i.on(handler);
  }

  get synced(): boolean {
    return this.informers.every((i) => i.synced);
  }

  start(): void {
    for (const i of this.informers) i.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}
