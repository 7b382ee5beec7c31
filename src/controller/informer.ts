// A list-then-watch cache of one resource. It relists on 410 Gone (and reports what vanished
// meanwhile as deletes, so no delete is lost across a reconnect), restarts with backoff on any
// other error, and records when it last heard from the server so a stall detector can act.
import type { Logger } from 'pino';
import type { KubeObject } from '../kube/object.js';
import type { KubeClient, WatchEvent } from '../kube/client.js';
import { resourcePath, type Resource } from '../kube/resources.js';
import { Backoff } from './backoff.js';
import { Freshness } from './freshness.js';

export type InformerEvent = 'add' | 'update' | 'delete';
export type Handler = (event: InformerEvent, obj: KubeObject, old?: KubeObject) => void;

interface List {
  metadata: { resourceVersion: string; continue?: string };
  items: KubeObject[];
}

export interface InformerOptions {
  resource: Resource;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Server-side watch timeout; the watch then reconnects from the last resourceVersion. */
  watchTimeoutSeconds?: number;
  pageSize?: number;
  /** Trims each object before it is cached, to the fields reconciles read (client-go's SetTransform). */
  transform?: (obj: KubeObject) => KubeObject;
  /** The key of the object an object belongs to, indexed so a reconcile reads its own without a scan. */
  ownerOf?: (obj: KubeObject) => string | undefined;
}

export const keyOf = (obj: { metadata: { namespace?: string; name: string } }) => `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;

export class Informer {
  private readonly cache = new Map<string, KubeObject>();
  /** The same objects by ownerOf: a reconcile reads its own, not a scan of its namespace. */
  private readonly byOwner = new Map<string, Map<string, KubeObject>>();
  private readonly handlers: Handler[] = [];
  /** Nothing older than what is cached (or than a delete seen) replaces it: see freshness.ts. */
  private readonly freshness = new Freshness();
  private resourceVersion = '';
  private abort?: AbortController;
  private running = false;
  private loop?: Promise<void>;
  private readonly backoff = new Backoff(500, 30_000);
  /** True once the first list has landed in the cache. */
  synced = false;
  /** When the server was last heard from (list, event, bookmark, or a clean watch close). */
  lastContact = Date.now();
  restarts = 0;

  constructor(private readonly client: KubeClient, readonly opts: InformerOptions, private readonly log: Logger) {}

  get name(): string {
    return this.opts.resource.plural;
  }

  on(handler: Handler): void {
    this.handlers.push(handler);
  }

  get(namespace: string, name: string): KubeObject | undefined {
    return this.cache.get(`${namespace}/${name}`);
  }

  /**
   * Stores an object we just wrote, without events; its watch event follows. Not when the cache
   * holds a newer version already (the watch was faster), nor when the object was deleted since.
   */
  remember(obj: KubeObject): void {
    const key = keyOf(obj);
    if (this.freshness.put(key, obj.metadata.resourceVersion, this.cache.get(key)?.metadata.resourceVersion)) this.put(key, this.slim(obj));
  }

  /**
   * What the cache keeps of an object: typed, without managedFields and kubectl's last-applied
   * copy (no reconcile reads them, and they are much of an object's size), then the watch's trim.
   */
  private slim(obj: KubeObject): KubeObject {
    const { managedFields: _fields, ...metadata } = obj.metadata as KubeObject['metadata'] & { managedFields?: unknown };
    if (metadata.annotations?.[LAST_APPLIED] !== undefined) {
      const { [LAST_APPLIED]: _applied, ...annotations } = metadata.annotations;
      metadata.annotations = annotations;
    }
    const typed = { ...obj, apiVersion: apiVersionOf(this.opts.resource), kind: this.opts.resource.kind, metadata };
    return this.opts.transform ? this.opts.transform(typed) : typed;
  }

  /** Every cached object whose ownerOf is `owner` (none without an ownerOf). */
  listOwned(owner: string): KubeObject[] {
    return [...(this.byOwner.get(owner)?.values() ?? [])];
  }

  private put(key: string, obj: KubeObject): void {
    const old = this.cache.get(key);
    if (old) this.unindex(key, old);
    this.cache.set(key, obj);
    const owner = this.opts.ownerOf?.(obj);
    if (owner !== undefined) index(this.byOwner, owner, key, obj);
  }

  private remove(key: string): void {
    const old = this.cache.get(key);
    if (old) this.unindex(key, old);
    this.cache.delete(key);
  }

  private unindex(key: string, obj: KubeObject): void {
    const owner = this.opts.ownerOf?.(obj);
    if (owner !== undefined) unindex(this.byOwner, owner, key);
  }

  list(filter?: (o: KubeObject) => boolean): KubeObject[] {
    const all = [...this.cache.values()];
    return filter ? all.filter(filter) : all;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort?.abort();
    await this.loop;
  }

  /** Drops the current watch and relists: used by the stall detector. */
  restart(): void {
    this.restarts++;
    this.resourceVersion = '';
    this.abort?.abort();
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.abort = new AbortController();
      try {
        if (!this.resourceVersion) await this.relist();
        await this.watchOnce(this.abort.signal);
        this.lastContact = Date.now();
        this.backoff.reset();
      } catch (err) {
        if (!this.running) break;
        if (this.abort.signal.aborted) continue; // restart() asked for a fresh list
        const delay = this.backoff.next();
        this.log.warn({ resource: this.name, err: String(err), retryInMs: delay }, 'informer error; restarting');
        this.resourceVersion = '';
        await sleep(delay, this.abort.signal);
      }
    }
  }

  private async relist(): Promise<void> {
    const seen = new Map<string, KubeObject>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.client.request<List>('GET', this.path(), {
        query: { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector, limit: this.opts.pageSize ?? 500, continue: cont },
        signal: this.abort?.signal,
      });
      for (const item of page.items) seen.set(keyOf(item), this.slim(item));
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion;
    } while (cont);
    // The list is the truth as of rv: it replaces everything, earlier deletes included; what it
    // no longer holds was deleted by rv, so no older answer may bring it back.
    this.freshness.clear();
    for (const [key, old] of this.cache) {
      if (!seen.has(key)) {
        this.remove(key);
        this.freshness.delete(key, rv, undefined);
        this.emit('delete', old);
      }
    }
    for (const [key, obj] of seen) {
      const old = this.cache.get(key);
      this.put(key, obj);
      if (!old) this.emit('add', obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit('update', obj, old);
    }
    this.resourceVersion = rv;
    this.synced = true;
    this.lastContact = Date.now();
  }

  private async watchOnce(signal: AbortSignal): Promise<void> {
    await this.client.watch<KubeObject>(this.path(), {
      labelSelector: this.opts.labelSelector,
      fieldSelector: this.opts.fieldSelector,
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: this.opts.watchTimeoutSeconds ?? 300,
    }, (e) => this.onEvent(e), signal);
  }

  private onEvent(e: WatchEvent<KubeObject>): void {
    this.lastContact = Date.now();
    if (e.type === 'ERROR') {
      const status = e.object as unknown as { code?: number; message?: string };
      // 410 Gone: our resourceVersion is too old; relist from scratch.
      if (status.code === 410) this.resourceVersion = '';
      throw new Error(`watch error ${status.code ?? ''}: ${status.message ?? ''}`);
    }
    this.resourceVersion = e.object.metadata.resourceVersion ?? this.resourceVersion;
    if (e.type === 'BOOKMARK') return;
    const obj = this.slim(e.object);
    const key = keyOf(obj);
    const old = this.cache.get(key);
    // An event older than what we hold (an answer to one of our writes got here first, or a replay)
    // changes nothing: the event of the version held comes in its turn, or came already.
    if (e.type === 'DELETED') {
      if (!this.freshness.delete(key, obj.metadata.resourceVersion, old?.metadata.resourceVersion)) return;
      this.remove(key);
      this.emit('delete', obj);
      return;
    }
    if (!this.freshness.put(key, obj.metadata.resourceVersion, old?.metadata.resourceVersion)) return;
    this.put(key, obj);
    this.emit(old ? 'update' : 'add', obj, old);
  }

  private emit(event: InformerEvent, obj: KubeObject, old?: KubeObject): void {
    for (const h of this.handlers) {
      try {
        h(event, obj, old);
      } catch (err) {
        this.log.error({ err: String(err) }, 'informer handler failed');
      }
    }
  }

  private path(): string {
    return resourcePath(this.opts.resource, this.opts.namespace);
  }
}

function index(by: Map<string, Map<string, KubeObject>>, value: string, key: string, obj: KubeObject): void {
  let m = by.get(value);
  if (!m) by.set(value, (m = new Map()));
  m.set(key, obj);
}

function unindex(by: Map<string, Map<string, KubeObject>>, value: string, key: string): void {
  const m = by.get(value);
  m?.delete(key);
  if (m?.size === 0) by.delete(value);
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const apiVersionOf = (r: Resource) => (r.group ? `${r.group}/${r.version}` : r.version);

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}
