// Takes the measurements the engine asks for, off the reconcile: each runs on its own with its
// provider's timeout, and its result waits in an inbox, keyed by Microservice, until a reconcile
// has folded it into status. A finished measurement asks for that reconcile at once.
//
// The inbox is only a hand-over: status is the record. A result is removed once a reconcile it
// was offered to has finished (its status written); if that reconcile failed, the next one gets
// it again. Results lost with the process (a restart) are taken again, since status still says
// they are due; the engine counts each measurement number once, so nothing is counted twice.
import type { MeasurementRequest, MeasurementResult, Sample, Vars } from './types.js';
import { expand, promql } from './placeholders.js';
import { DEFAULT_PROMETHEUS_TIMEOUT_MS, type PrometheusOptions, queryPrometheus } from './prometheus.js';
import { queryWeb } from './web.js';

export interface Providers {
  prometheus(address: string | undefined, query: string): Promise<Sample>;
  web(web: NonNullable<MeasurementRequest['metric']['web']>, vars: Vars): Promise<Sample>;
}

export function realProviders(prometheus: PrometheusOptions = { timeoutMs: DEFAULT_PROMETHEUS_TIMEOUT_MS }): Providers {
  return {
    prometheus: (address, query) => queryPrometheus(prometheus, address, query),
    web: (web, vars) => queryWeb(web, vars),
  };
}

export class AnalysisRunner {
  private readonly inbox = new Map<string, MeasurementResult[]>();
  /** Request keys in flight, per Microservice key. */
  private readonly running = new Map<string, Set<string>>();

  constructor(
    private readonly providers: Providers,
    /** Called with the Microservice's key when one of its measurements is done. */
    private readonly done: (key: string) => void,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The results waiting for this Microservice, oldest first. */
  results(key: string): MeasurementResult[] {
    return [...(this.inbox.get(key) ?? [])];
  }

  /** A reconcile that was offered these results has finished: they are in status (or were stale). */
  ack(key: string, offered: readonly MeasurementResult[]): void {
    const left = (this.inbox.get(key) ?? []).filter((r) => !offered.includes(r));
    if (left.length > 0) this.inbox.set(key, left);
    else this.inbox.delete(key);
  }

  /** Starts each requested measurement that is neither in flight nor waiting in the inbox already. */
  take(key: string, requests: readonly MeasurementRequest[]): void {
    const running = this.running.get(key) ?? new Set<string>();
    const waiting = new Set((this.inbox.get(key) ?? []).map((r) => r.key));
    for (const req of requests) {
      if (running.has(req.key) || waiting.has(req.key)) continue;
      running.add(req.key);
      this.running.set(key, running);
      void this.measure(req).then((result) => {
        const live = this.running.get(key) === running; // not forgotten meanwhile
        running.delete(req.key);
        if (!live) return;
        if (running.size === 0) this.running.delete(key);
        this.inbox.set(key, [...(this.inbox.get(key) ?? []), result]);
        this.done(key);
      });
    }
  }

  /** The Microservice is gone: its results are dropped (measurements in flight finish and are dropped too). */
  forget(key: string): void {
    this.inbox.delete(key);
    this.running.delete(key);
  }

  get inFlight(): number {
    return [...this.running.values()].reduce((n, s) => n + s.size, 0);
  }

  private async measure(req: MeasurementRequest): Promise<MeasurementResult> {
    const one = (vars: Vars): Promise<Sample> => {
      const m = req.metric;
      if (m.prometheus) return this.providers.prometheus(m.prometheus.address, expand(m.prometheus.query, vars, promql));
      if (m.web) return this.providers.web(m.web, vars);
      return Promise.resolve({ error: `metric ${m.name} has no provider` });
    };
    const safe = (p: Promise<Sample>) => p.catch((err: unknown): Sample => ({ error: err instanceof Error ? err.message : String(err) }));
    const [candidate, stable] = await Promise.all([safe(one(req.vars)), req.stableVars ? safe(one(req.stableVars)) : Promise.resolve(undefined)]);
    return {
      key: req.key, run: req.run, runStartedAt: req.runStartedAt, revision: req.revision, metric: req.metric.name, seq: req.seq,
      at: this.clock().toISOString(), candidate, ...(stable ? { stable } : {}),
    };
  }
}
