// One watch of Microservices for the whole dashboard process, however many tabs are open (Argo
// Rollouts' dashboard starts informers per browser stream and runs out of memory: #2095, #4733).
// Changes are coalesced and sent at most every FLUSH_MS, so a busy object costs a page a few
// updates a second, not one per status write.
import type { Logger } from 'pino';
import type { MicroserviceObject } from '../api/schema.js';
import { Informer, keyOf } from '../controller/informer.js';
import { ApiError, type KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';
import { CONTROLLERREVISIONS, MICROSERVICES, PODS, resourcePath, type Resource } from '../kube/resources.js';
import { LABEL_MANAGED_BY, LABEL_NAME, MANAGER } from '../api/names.js';
import { summarize, type Summary } from '../view/microservice.js';
import { Journal, type Batch } from './journal.js';

const FLUSH_MS = 250;

/** What a Microservice's page adds, per namespace: the pods and kept revisions Coxswain manages, and Events about Microservices. */
const FOLLOWED: Array<{ resource: Resource; labelSelector?: string; fieldSelector?: string; ownerOf: (o: KubeObject) => string | undefined }> = [
  { resource: PODS, labelSelector: `${LABEL_MANAGED_BY}=${MANAGER}`, ownerOf: (o) => o.metadata.labels?.[LABEL_NAME] },
  { resource: CONTROLLERREVISIONS, labelSelector: `${LABEL_MANAGED_BY}=${MANAGER}`, ownerOf: (o) => o.metadata.labels?.[LABEL_NAME] },
  { resource: { group: '', version: 'v1', plural: 'events', kind: 'Event' }, fieldSelector: 'involvedObject.kind=Microservice',
    ownerOf: (o) => (o as unknown as { involvedObject?: { name?: string } }).involvedObject?.name },
];

export class Live {
  readonly journal = new Journal<Summary>();
  private readonly subscribers = new Set<(batch: Batch<Summary>) => void>();
  private informers: Informer[] = [];
  private timer?: NodeJS.Timeout;
  /** Per namespace with a Microservice's page open: its informers, and the pages' listeners by Microservice key. */
  private readonly followed = new Map<string, { informers: Informer[]; listeners: Map<string, Set<() => void>> }>();
  /** Microservices whose pods, revisions or Events changed since the last flush. */
  private readonly touched = new Set<string>();
  /** The namespaces watched; undefined: all of them. */
  namespaces?: string[];

  constructor(private readonly client: KubeClient, private readonly log: Logger) {}

  /**
   * Watches every namespace when the user may list Microservices cluster-wide (or `all` is asked),
   * else the namespaces named (the kubeconfig's by default); resolves once the first lists are in.
   */
  async start(wanted: string[], all: boolean): Promise<void> {
    this.namespaces = all || (wanted.length === 0 && await this.mayListAll()) ? undefined : wanted.length > 0 ? wanted : [this.client.currentNamespace];
    const scopes = this.namespaces ?? [undefined];
    this.informers = scopes.map((namespace) => new Informer(this.client, { resource: MICROSERVICES, ...(namespace ? { namespace } : {}) }, this.log));
    for (const inf of this.informers) {
      inf.on((event, obj) => this.journal.put(keyOf(obj), event === 'delete' ? undefined : summarize(obj as unknown as MicroserviceObject)));
      inf.start();
    }
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    while (!this.informers.every((i) => i.synced)) await new Promise((r) => setTimeout(r, 50));
    this.flush();
  }

  private async mayListAll(): Promise<boolean> {
    try {
      await this.client.request('GET', resourcePath(MICROSERVICES), { query: { limit: '1' } });
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) return false;
      throw err;
    }
  }

  private flush(): void {
    const batch = this.journal.commit();
    if (batch) for (const send of this.subscribers) send(batch);
    for (const key of this.touched) {
      const ns = key.slice(0, key.indexOf('/'));
      for (const touch of this.followed.get(ns)?.listeners.get(key) ?? []) touch();
    }
    this.touched.clear();
  }

  /**
   * While a Microservice's page is open: calls `touch` (at most every FLUSH_MS) when its pods, kept
   * revisions or Events change. One informer per kind per namespace, shared by every page there,
   * stopped when the last one closes. Returns the release.
   */
  follow(namespace: string, name: string, touch: () => void): () => void {
    let f = this.followed.get(namespace);
    if (!f) {
      const informers = FOLLOWED.map(({ resource, labelSelector, fieldSelector, ownerOf }) => {
        const inf = new Informer(this.client, { resource, namespace, ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) }, this.log);
        inf.on((_, obj) => { const owner = ownerOf(obj); if (owner) this.touched.add(`${namespace}/${owner}`); });
        inf.start();
        return inf;
      });
      f = { informers, listeners: new Map() };
      this.followed.set(namespace, f);
    }
    const key = `${namespace}/${name}`;
    const set = f.listeners.get(key) ?? new Set();
    f.listeners.set(key, set.add(touch));
    return () => {
      set.delete(touch);
      if (set.size === 0) f.listeners.delete(key);
      if (f.listeners.size === 0 && this.followed.get(namespace) === f) {
        this.followed.delete(namespace);
        void Promise.all(f.informers.map((i) => i.stop()));
      }
    };
  }

  subscribe(send: (batch: Batch<Summary>) => void): () => void {
    this.subscribers.add(send);
    return () => this.subscribers.delete(send);
  }

  get(namespace: string, name: string): MicroserviceObject | undefined {
    for (const inf of this.informers) {
      const obj: KubeObject | undefined = inf.get(namespace, name);
      if (obj) return obj as unknown as MicroserviceObject;
    }
    return undefined;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    const followed = [...this.followed.values()].flatMap((f) => f.informers);
    this.followed.clear();
    await Promise.all([...this.informers, ...followed].map((i) => i.stop()));
  }
}
