// A work queue keyed by namespace/name, after client-go's: a key waits at most once (adds while
// queued are folded together), one worker holds a key at a time (an add while it runs queues it
// again for after), at most `concurrency` keys run at once (`burst` while more than that wait),
// and failures retry with per-key exponential backoff.
import { Backoff } from './backoff.js';

export interface QueueOptions {
  concurrency: number;
  /**
   * Keys run at once while more than `concurrency` wait: a burst (many new Microservices, a
   * restart) spends its time in round trips to the API server, not in CPU, so more of them in
   * flight drain it sooner; a shallow queue keeps to `concurrency`.
   */
  burst?: number;
  /** Hold work until resume(): the controller waits for its caches to sync, so no reconcile sees half the world. */
  paused?: boolean;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** What a worker returns: ask to be called again after a while (a timed pause, a resync). */
export type WorkResult = { requeueAfterMs?: number } | void;

export interface QueueHooks {
  /** Called when a key's work ends, with how long it waited in the queue and how long it ran. */
  onDone?: (key: string, outcome: 'ok' | 'error', waitedMs: number, ranMs: number, err?: unknown) => void;
}

export class WorkQueue {
  private readonly order: string[] = [];
  private readonly queued = new Map<string, number>(); // key -> when it was queued
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly backoffs = new Map<string, Backoff>();
  private readonly idleWaiters: Array<() => void> = [];
  private stopped = false;
  private paused: boolean;

  constructor(private readonly opts: QueueOptions, private readonly work: (key: string) => Promise<WorkResult>, private readonly hooks: QueueHooks = {}) {
    this.paused = opts.paused ?? false;
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  /** Keys waiting to run (not counting those running or waiting on a timer). */
  get depth(): number {
    return this.order.length;
  }

  get active(): number {
    return this.running.size;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.set(key, Date.now());
    this.order.push(key);
    this.pump();
  }

  /** Adds the key after a delay; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Forgets a key's failures, e.g. once its object is deleted. */
  forget(key: string): void {
    this.backoffs.delete(key);
  }

  /** Stops taking work and waits for running keys to finish. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.order.length = 0;
    this.queued.clear();
    await this.idle();
  }

  /** Resolves when nothing runs and nothing waits (timers aside). */
  idle(): Promise<void> {
    if (this.running.size === 0 && this.order.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (!this.stopped && !this.paused && this.running.size < this.limit() && this.order.length > 0) {
      const key = this.order.shift()!;
      const queuedAt = this.queued.get(key) ?? Date.now();
      this.queued.delete(key);
      this.running.add(key);
      void this.runOne(key, queuedAt);
    }
    if (this.running.size === 0 && this.order.length === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private limit(): number {
    const { concurrency, burst = concurrency } = this.opts;
    return this.order.length > concurrency ? Math.max(concurrency, burst) : concurrency;
  }

  private async runOne(key: string, queuedAt: number): Promise<void> {
    const started = Date.now();
    let retryAfter: number | undefined;
    try {
      const result = await this.work(key);
      this.backoffs.delete(key);
      this.hooks.onDone?.(key, 'ok', started - queuedAt, Date.now() - started);
      retryAfter = result?.requeueAfterMs;
    } catch (err) {
      let backoff = this.backoffs.get(key);
      if (!backoff) this.backoffs.set(key, (backoff = new Backoff(this.opts.baseDelayMs ?? 200, this.opts.maxDelayMs ?? 60_000)));
      retryAfter = backoff.next();
      this.hooks.onDone?.(key, 'error', started - queuedAt, Date.now() - started, err);
    } finally {
      this.running.delete(key);
    }
    if (this.dirty.delete(key)) this.add(key);
    else if (retryAfter !== undefined) this.addAfter(key, retryAfter);
    this.pump();
  }
}
