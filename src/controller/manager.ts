// The controller runtime: caches for what the wiring declares, the work queue, the reconciler, the
// resync and stall timers, and the health and metrics server. Start it, stop it; it keeps no
// rollout state. What is watched and how events map to keys is in wiring.ts.
import type * as http from 'node:http';
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.js';
import { Kube, type Resource } from '../kube/resources.js';
import type { KubeObject } from '../kube/object.js';
import { Cache } from './cache.js';
import { Discovery } from './discovery.js';
import { keyOf } from './informer.js';
import { createMetrics, type Metrics } from './metrics.js';
import { WorkQueue } from './queue.js';
import { Reconciler } from './reconcile.js';
import { AnalysisRunner, realProviders } from '../analysis/runner.js';
import type { PrometheusOptions } from '../analysis/prometheus.js';
import { references, TemplateCaches } from '../analysis/templates.js';
import { Notifier } from '../notifications/deliver.js';
import { ANNOTATION_NOTIFICATIONS, type NotificationsConfig } from '../notifications/config.js';
import { serveHealth } from './server.js';
import { serveSecureMetrics, type SecureMetricsServer } from '../metrics/server.js';
import { kubeReviewer } from '../kube/reviews.js';
import { type ControllerWiring, microserviceController, type Watch } from './wiring.js';

export interface ManagerOptions {
  namespaces: string[];
  concurrency: number;
  resyncSeconds: number;
  /** host:port for /healthz and /readyz (and /metrics when not secure), plain HTTP; empty to serve none. */
  listen: string;
  /** /metrics: over HTTPS to authorized scrapers on its own port (secure), or plain on `listen`. */
  metrics: MetricsServing;
  /** An informer not heard from for this long is restarted. */
  stallSeconds: number;
  /** Watch HTTPRoutes where the Gateway API is installed (false: never, e.g. without RBAC for them). */
  gatewayAPI: boolean;
  /** Watch PodMonitors where the Prometheus Operator's CRDs are installed (false: never, e.g. without RBAC for them). */
  podMonitors: boolean;
  /** How often discovery is asked whether optional kinds (HTTPRoutes) are served. */
  discoverySeconds: number;
  /** The operator's Prometheus (--prometheus-*): default address, credentials, CA, timeout. */
  prometheus?: PrometheusOptions;
  /** Read ClusterAnalysisTemplates; unset: only when watching every namespace (a cluster-wide read). */
  clusterAnalysisTemplates?: boolean;
  /** --track-secrets: watch Secrets, so those a Microservice references are part of its revision. */
  trackSecrets?: boolean;
  /** Notifications (--notifications-config): the targets, and the cluster name in every message. */
  notifications?: { config: NotificationsConfig; cluster: string };
}

export interface MetricsServing {
  secure: boolean;
  /** host:port of the HTTPS /metrics; empty to serve none. Unused when not secure. */
  listen: string;
  /** tls.crt and tls.key, reloaded when they change; unset: self-signed at start. */
  certDir?: string;
}

/** Workers per `--concurrency` while more keys wait than that (src/controller/queue.ts `burst`). */
const BURST = 4;

export const DEFAULT_OPTIONS: ManagerOptions = {
  namespaces: [], concurrency: 4, resyncSeconds: 600, listen: ':8080', metrics: { secure: true, listen: ':8443' }, stallSeconds: 360, gatewayAPI: true, podMonitors: true,
  discoverySeconds: 10,
};

export class Manager {
  readonly metrics: Metrics = createMetrics({
    microservices: () => this.microservices.list(),
    queueDepth: () => this.queue.depth,
    leading: () => this.working,
  });
  readonly microservices: Cache;
  /** A cache for each resource the wiring watches besides Microservices. */
  readonly children: Map<Resource, Cache>;
  readonly queue: WorkQueue;
  /** Analysis: the templates metrics come from, and the runner that takes measurements off the reconcile. */
  readonly templates: TemplateCaches;
  readonly analysis: AnalysisRunner;
  private readonly reconciler: Reconciler;
  /** Sends what the leader's status writes record, off the reconcile (src/notifications). */
  readonly notifier?: Notifier;
  private readonly discovery: Discovery;
  private timers: NodeJS.Timeout[] = [];
  private server?: http.Server;
  private metricsServer?: SecureMetricsServer;
  private lastProgress = Date.now();
  /** True once the work queue runs: caches synced and, with leader election, the Lease held. */
  private working = false;
  private stopping = false;
  private onStop?: () => void;
  private readonly stopRequested = new Promise<void>((resolve) => (this.onStop = resolve));

  constructor(private readonly client: KubeClient, private readonly opts: ManagerOptions, private readonly log: Logger, wiring: ControllerWiring = microserviceController(opts)) {
    this.microservices = new Cache(client, wiring.for, opts.namespaces, log);
    this.children = new Map(wiring.watches.map((w) => [w.resource, new Cache(client, w.resource, opts.namespaces, log, cached(w))]));
    this.templates = new TemplateCaches(client, opts.namespaces, log, opts.clusterAnalysisTemplates ?? opts.namespaces.length === 0);
    this.analysis = new AnalysisRunner(realProviders(opts.prometheus), (key) => this.queue.add(key));
    if (opts.notifications) {
      const getNamespace = (ns: string) => client.request<{ metadata?: { annotations?: Record<string, string> } }>('GET', `/api/v1/namespaces/${encodeURIComponent(ns)}`);
      this.notifier = new Notifier({
        ...opts.notifications, log, registry: this.metrics.registry,
        namespaceAnnotation: async (ns) => (await getNamespace(ns)).metadata?.annotations?.[ANNOTATION_NOTIFICATIONS],
      });
    }
    const notifier = this.notifier;
    this.reconciler = new Reconciler({
      kube: new Kube(client), microservices: this.microservices, children: this.children, log, analysis: { runner: this.analysis, templates: this.templates },
      ...(notifier ? { notify: (ms, before, after, now) => notifier.offer(ms, before, after, now) } : {}),
    });
    this.queue = new WorkQueue({ concurrency: opts.concurrency, burst: opts.concurrency * BURST, paused: true }, (key) => this.reconcileKey(key), {
      onDone: (key, outcome, waitedMs, ranMs, err) => {
        this.lastProgress = Date.now();
        this.metrics.queueLatency.observe(waitedMs / 1000);
        if (outcome === 'error') {
          this.metrics.reconciles.inc({ result: 'error' });
          this.log.warn({ key, durationMs: ranMs, err: errorText(err) }, 'reconcile failed; retrying with backoff');
        }
      },
    });
    this.microservices.on((event, obj, old) => {
      if (event === 'delete') { this.queue.forget(keyOf(obj)); this.analysis.forget(keyOf(obj)); this.reconciler.forget(keyOf(obj)); }
      else if (!old || !wiring.ignoreUpdate(old, obj)) this.queue.add(keyOf(obj));
    });
    for (const w of wiring.watches) this.route(w, this.children.get(w.resource)!);
    // A template added, changed or deleted: every Microservice that references it looks again.
    this.templates.on((template, cluster) => {
      for (const ms of this.microservices.list()) if (references(ms, template, cluster)) this.queue.add(keyOf(ms));
    });
    const optional = (wiring.optionalWatches ?? []).filter((w) => !w.option || opts[w.option]);
    this.discovery = new Discovery(client, optional.map((w) => w.resource), opts.discoverySeconds * 1000, log, (r, served) =>
      this.setServed(optional.find((w) => w.resource === r)!, served));
  }

  /** Events of a watched kind queue the key of the Microservice they belong to. */
  private route(w: Watch, cache: Cache): void {
    cache.on((_event, obj) => {
      const key = w.keyOf(obj);
      if (key) this.queue.add(key);
      for (const k of w.readersOf?.(obj, this.microservices.list()) ?? []) this.queue.add(k);
    });
  }

  /**
   * An optional kind became served (its CRD was installed) or stopped being served: its cache
   * starts, and joins the reconciler's once synced, or leaves it and stops. Every Microservice is
   * queued again either way, so one waiting for it (Stalled, GatewayAPIMissing or
   * PodMonitorMissing) goes on at once.
   */
  private async setServed(w: Watch, served: boolean): Promise<void> {
    const cache = this.children.get(w.resource);
    if (served && !cache && !this.stopping) {
      const fresh = new Cache(this.client, w.resource, this.opts.namespaces, this.log, cached(w));
      this.route(w, fresh);
      fresh.start();
      while (!fresh.synced && !this.stopping) await new Promise((r) => setTimeout(r, 50));
      if (this.stopping) return void (await fresh.stop());
      this.children.set(w.resource, fresh);
    } else if (!served && cache) {
      this.children.delete(w.resource);
      await cache.stop();
    } else return;
    this.resync();
  }

  /**
   * Starts watching and reconciling; resolves once every cache has synced and, when `elected` is
   * given (leader election), once it has resolved too: until then the caches fill and the health
   * server answers, so a standby takes over warm, but nothing is reconciled.
   */
  async start(elected?: Promise<void>): Promise<void> {
    await this.serve();
    for (const cache of this.caches()) cache.start();
    // Not waited for: a cluster without the template CRDs runs every Microservice that uses none.
    this.templates.start();
    while (!this.caches().every((c) => c.synced) && !this.stopping) await new Promise((r) => setTimeout(r, 50));
    // Optional kinds served already are cached before the first reconcile.
    await this.discovery.start();
    if (elected && !this.stopping) {
      this.log.info('caches synced; waiting for the leader Lease');
      await Promise.race([elected, this.stopRequested]);
    }
    if (this.stopping) return;
    this.working = true;
    this.lastProgress = Date.now();
    this.log.info({ namespaces: this.opts.namespaces.length ? this.opts.namespaces : 'all' }, 'caches synced; reconciling');
    for (const obj of this.microservices.list()) this.queue.add(keyOf(obj));
    this.queue.resume();
    this.timers.push(setInterval(() => this.resync(), this.opts.resyncSeconds * 1000));
    this.timers.push(setInterval(() => this.detectStalls(), 15_000));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.onStop?.();
    for (const t of this.timers) clearInterval(t);
    await this.discovery.stop();
    await this.queue.shutdown();
    await this.notifier?.stop();
    await Promise.all([...this.caches().map((c) => c.stop()), this.templates.stop()]);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await this.metricsServer?.close();
    this.client.close();
  }

  get ready(): boolean {
    return this.caches().every((c) => c.synced);
  }

  /**
   * Live while work makes progress: not reconciling yet (a standby's queue is held on purpose),
   * nothing queued, or a reconcile finished recently.
   */
  get live(): boolean {
    return !this.working || this.queue.depth === 0 || Date.now() - this.lastProgress < 5 * 60_000;
  }

  private caches(): Cache[] {
    return [this.microservices, ...this.children.values()];
  }

  private async reconcileKey(key: string) {
    const end = this.metrics.reconcileDuration.startTimer();
    const started = Date.now();
    const { outcome, requeueAfterMs } = await this.reconciler.reconcile(key);
    end();
    this.metrics.reconciles.inc({ result: outcome.result });
    this.metrics.writes.inc(outcome.writes);
    for (const m of outcome.measured ?? []) this.metrics.analysisMeasurements.inc({ result: m.phase });
    // Gone (deleted, or its namespace is): nothing was done, nothing to tell at info.
    this.log[outcome.result === 'gone' ? 'debug' : 'info']({ key, result: outcome.result, writes: outcome.writes, durationMs: Date.now() - started }, 'reconciled');
    return { requeueAfterMs };
  }

  private resync(): void {
    for (const obj of this.microservices.list()) this.queue.add(keyOf(obj));
  }

  private detectStalls(): void {
    for (const cache of this.caches()) {
      for (const inf of cache.informers) {
        if (Date.now() - inf.lastContact > this.opts.stallSeconds * 1000) {
          this.log.warn({ resource: inf.name, namespace: inf.opts.namespace, silentSeconds: Math.round((Date.now() - inf.lastContact) / 1000) }, 'informer stalled; relisting');
          inf.restart();
          inf.lastContact = Date.now();
          this.metrics.informerRestarts.set({ resource: inf.name }, inf.restarts);
        }
      }
    }
  }

  private async serve(): Promise<void> {
    const { secure, listen, certDir } = this.opts.metrics;
    if (this.opts.listen) this.server = serveHealth(this.opts.listen, { live: () => this.live, ready: () => this.ready, ...(secure ? {} : { registry: this.metrics.registry }) });
    if (secure && listen) {
      this.metricsServer = await serveSecureMetrics({ listen, certDir, registry: this.metrics.registry, reviewer: kubeReviewer(this.client), log: this.log });
    }
  }
}

/** How a watch's objects are cached: selected, trimmed, and indexed by the Microservice they belong to. */
const cached = (w: Watch) => ({ labelSelector: w.labelSelector, transform: w.transform, ownerOf: (o: KubeObject) => w.keyOf(o) });

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
