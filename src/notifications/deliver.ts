// Delivery, the thin shell: a bounded queue and one worker per target, so a receiver that is down
// or hangs holds up only its own queue, never a reconcile (`offer` never waits) nor another
// target. Each request has a timeout; a network error, 429 or 5xx is retried with backoff. URLs
// and secrets are read from their files per request and never logged.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { MicroserviceObject, MicroserviceStatus } from '../api/schema.js';
import { ANNOTATION_NOTIFICATIONS, type NotificationsConfig, optedIn, type TargetConfig, wants } from './config.js';
import { payloadOf, SIGNATURE_HEADER, signature } from './formats.js';
import { type Notification, notificationsOf } from './message.js';

/** A namespace's coxswain.dev/notifications annotation (undefined: none, or it could not be read). */
export type NamespaceAnnotation = (namespace: string) => Promise<string | undefined>;

export interface NotifierOptions {
  config: NotificationsConfig;
  cluster: string;
  log: Logger;
  registry?: Registry;
  namespaceAnnotation?: NamespaceAnnotation;
  /** The first retry's delay; each next one doubles, up to 30 s. */
  backoffMs?: number;
}

type Result = 'sent' | 'retried' | 'failed' | 'dropped';

/** How long a namespace's annotation is trusted before it is read again. */
const NAMESPACE_TTL_MS = 30_000;

interface Item { n: Notification; msAnnotation: string | undefined }

class TargetQueue {
  readonly items: Item[] = [];
  running = false;
  constructor(readonly target: TargetConfig) {}
}

export class Notifier {
  private readonly queues: TargetQueue[];
  private readonly counter: Counter<'target' | 'result'>;
  private readonly namespaces = new Map<string, { at: number; value: Promise<string | undefined> }>();
  private stopping = false;
  private readonly inFlight = new Set<AbortController>();

  constructor(private readonly opts: NotifierOptions) {
    this.queues = opts.config.targets.map((t) => new TargetQueue(t));
    this.counter = new Counter({
      name: 'coxswain_notifications_total',
      help: 'Notifications by target and result: sent, retried (one per retry), failed (gave up), dropped (queue full or stopping).',
      labelNames: ['target', 'result'] as const,
      registers: opts.registry ? [opts.registry] : [],
    });
    for (const q of this.queues) for (const r of ['sent', 'retried', 'failed', 'dropped'] as const) this.counter.inc({ target: q.target.name, result: r }, 0);
    opts.log.info({ cluster: opts.cluster, targets: opts.config.targets.map((t) => `${t.name} (${t.format})`) }, 'notifications configured');
  }

  /**
   * The status write `before` -> `after` of `ms` went through: queue a message per transition it
   * records, for each target that wants it. Returns at once; never throws.
   */
  offer(ms: MicroserviceObject, before: MicroserviceStatus | undefined, after: MicroserviceStatus, now: Date): void {
    if (this.queues.length === 0 || this.stopping) return;
    let notes: Notification[];
    try {
      notes = notificationsOf(ms, before, after, this.opts.cluster, now);
    } catch (err) {
      this.opts.log.warn({ err: String(err) }, 'notification not built');
      return;
    }
    const msAnnotation = ms.metadata.annotations?.[ANNOTATION_NOTIFICATIONS];
    if (msAnnotation === 'false') return;
    for (const n of notes) {
      for (const q of this.queues) {
        if (!wants(q.target, n.type, n.severity)) continue;
        if (q.items.length >= this.opts.config.queueSize) {
          this.count(q.target, 'dropped');
          this.opts.log.warn({ target: q.target.name, id: n.id, type: n.type }, 'notification dropped: the target\'s queue is full');
          continue;
        }
        q.items.push({ n, msAnnotation });
        void this.drain(q);
      }
    }
  }

  /** Messages waiting, per target (for tests and the log at shutdown). */
  pending(): Record<string, number> {
    return Object.fromEntries(this.queues.map((q) => [q.target.name, q.items.length + (q.running ? 1 : 0)]));
  }

  /** Stops taking messages; gives those queued until `graceMs` to go, then abandons the rest. */
  async stop(graceMs = 2000): Promise<void> {
    this.stopping = true;
    const deadline = Date.now() + graceMs;
    while (this.queues.some((q) => q.running || q.items.length > 0) && Date.now() < deadline) await sleep(50);
    for (const c of this.inFlight) c.abort();
    for (const q of this.queues) {
      for (const item of q.items.splice(0)) {
        this.count(q.target, 'dropped');
        this.opts.log.warn({ target: q.target.name, id: item.n.id, type: item.n.type }, 'notification dropped: shutting down');
      }
    }
  }

  private async drain(q: TargetQueue): Promise<void> {
    if (q.running) return;
    q.running = true;
    try {
      for (let item = q.items.shift(); item; item = q.items.shift()) {
        if (await this.wanted(item)) await this.deliver(q.target, item.n);
      }
    } finally {
      q.running = false;
    }
  }

  private async wanted(item: Item): Promise<boolean> {
    if (item.msAnnotation === 'true' || item.msAnnotation === 'false') return item.msAnnotation === 'true';
    return optedIn(undefined, await this.namespaceAnnotation(item.n.namespace), this.opts.config.defaultEnabled);
  }

  private namespaceAnnotation(namespace: string): Promise<string | undefined> {
    const lookup = this.opts.namespaceAnnotation;
    if (!lookup) return Promise.resolve(undefined);
    const held = this.namespaces.get(namespace);
    if (held && Date.now() - held.at < NAMESPACE_TTL_MS) return held.value;
    const value = lookup(namespace).catch((err: unknown) => {
      this.opts.log.warn({ namespace, err: String(err) }, 'could not read the namespace\'s notifications annotation; the install default applies');
      return undefined;
    });
    this.namespaces.set(namespace, { at: Date.now(), value });
    return value;
  }

  /** One message to one target: up to 1 + retries attempts. */
  private async deliver(t: TargetConfig, n: Notification): Promise<void> {
    const { config, log, backoffMs = 1000 } = this.opts;
    const payload = payloadOf(t.format, n);
    const fields = { target: t.name, id: n.id, type: n.type, namespace: n.namespace, name: n.name };
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.attempt(t, payload.contentType, payload.body, config.timeoutSeconds * 1000);
      if (outcome.ok) {
        this.count(t, 'sent');
        log.info({ ...fields, attempts: attempt + 1 }, 'notification sent');
        return;
      }
      if (!outcome.retry || attempt >= config.retries || this.stopping) {
        this.count(t, 'failed');
        log.warn({ ...fields, attempts: attempt + 1, error: outcome.error }, 'notification not delivered');
        return;
      }
      this.count(t, 'retried');
      log.debug({ ...fields, attempt: attempt + 1, error: outcome.error }, 'notification failed; retrying');
      await sleep(Math.min(30_000, backoffMs * 2 ** attempt));
    }
  }

  private async attempt(t: TargetConfig, contentType: string, body: string, timeoutMs: number): Promise<{ ok: true } | { ok: false; retry: boolean; error: string }> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    this.inFlight.add(abort);
    try {
      const url = (await readFile(t.urlFile, 'utf8')).trim();
      const headers: Record<string, string> = { 'content-type': contentType, 'user-agent': 'coxswain' };
      if (t.signingSecretFile) headers[SIGNATURE_HEADER] = signature((await readFile(t.signingSecretFile, 'utf8')).trim(), body);
      const res = await fetch(url, { method: 'POST', headers, body, signal: abort.signal, redirect: 'error' });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { ok: true };
      return { ok: false, retry: res.status === 429 || res.status >= 500, error: `HTTP ${res.status}` };
    } catch (err) {
      // Only the error's kind: a fetch error's message or cause may carry the URL.
      const e = err as Error & { cause?: { code?: string } };
      const error = abort.signal.aborted ? `no answer within ${timeoutMs / 1000}s` : e.cause?.code ?? (e as NodeJS.ErrnoException).code ?? e.name;
      return { ok: false, retry: true, error };
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(abort);
    }
  }

  private count(t: TargetConfig, result: Result): void {
    this.counter.inc({ target: t.name, result });
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
