// One watch of Microservices for the whole dashboard process, however many tabs are open (Argo
// Rollouts' dashboard starts informers per browser stream and runs out of memory: #2095, #4733).
// Changes are coalesced and sent at most every FLUSH_MS, so a busy object costs a page a few
// updates a second, not one per status write.
import type { Logger } from 'pino';
import type { MicroserviceObject } from '../api/schema.js';
import { Informer, keyOf } from '../controller/informer.js';
import { ApiError, type KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';
import { MICROSERVICES, resourcePath } from '../kube/resources.js';
import { summarize, type Summary } from '../view/microservice.js';
import { Journal, type Batch } from './journal.js';

const FLUSH_MS = 250;

export class Live {
  readonly journal = new Journal<Summary>();
  private readonly subscribers = new Set<(batch: Batch<Summary>) => void>();
  private informers: Informer[] = [];
  private timer?: NodeJS.Timeout;
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
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}
