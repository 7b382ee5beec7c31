// Prometheus metrics of the controller, on their own registry. Gauges that describe the world
// (Microservices by phase, rollout weights, queue depth, leadership) are read from their source at
// scrape time, so they are never stale and never need a timer.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { VERSION } from '../version.js';
import { PHASES } from '../api/schema.js';


/** What the scrape-time gauges read. Each is optional: a missing source leaves its gauge empty. */
export interface MetricSources {
  /** The Microservices in the cache (only metadata and status are read). */
  microservices?: () => Iterable<{ metadata: { namespace?: string; name: string }; status?: unknown }>;
  queueDepth?: () => number;
  /** Whether this process runs the reconcile loop (holds the leader Lease, or needs none). */
  leading?: () => boolean;
}

export function createMetrics(sources: MetricSources = {}) {
  const registry = new Registry();
  // Unprefixed process_* and nodejs_*, the names every Node.js dashboard and alert expects. The
  // event-loop delay sampler wakes the process once per precision: at prom-client's default of
  // 10 ms that was 93% of the operator's CPU at rest (400 of 430 ms a minute, docs/performance.md);
  // once a second still catches a blocked loop.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });
  const reconciles = new Counter({
    name: 'coxswain_reconcile_total',
    help: 'Reconciles by result (unchanged, updated, stalled, gone, error).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const reconcileDuration = new Histogram({
    name: 'coxswain_reconcile_duration_seconds',
    help: 'Time one reconcile took.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const queueDepth = new Gauge({
    name: 'coxswain_queue_depth',
    help: 'Keys waiting in the work queue.',
    registers: [registry],
    collect() {
      if (sources.queueDepth) this.set(sources.queueDepth());
    },
  });
  const queueLatency = new Histogram({
    name: 'coxswain_queue_wait_seconds',
    help: 'Time a key waited in the queue before a worker took it.',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
    registers: [registry],
  });
  const writes = new Counter({ name: 'coxswain_api_writes_total', help: 'Writes sent to the API server by reconciles.', registers: [registry] });
  const phases = new Gauge({
    name: 'coxswain_microservices',
    help: 'Microservices by status.phase (Pending when none is reported yet).',
    labelNames: ['phase'] as const,
    registers: [registry],
    collect() {
      if (!sources.microservices) return;
      const counts = new Map<string, number>(PHASES.map((p) => [p, 0]));
      for (const ms of sources.microservices()) {
        const phase = statusOf(ms).phase;
        const key = typeof phase === 'string' && phase ? phase : 'Pending';
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      this.reset();
      for (const [phase, n] of counts) this.set({ phase }, n);
    },
  });
  const rolloutWeight = new Gauge({
    name: 'coxswain_rollout_weight',
    help: 'Percent of Ready pods that run the candidate revision (status.rollout.weight), per Microservice in a rollout.',
    labelNames: ['namespace', 'name'] as const,
    registers: [registry],
    collect() {
      if (!sources.microservices) return;
      this.reset();
      for (const ms of sources.microservices()) {
        const rollout = statusOf(ms).rollout as { weight?: unknown } | undefined;
        if (typeof rollout?.weight === 'number') this.set({ namespace: ms.metadata.namespace ?? '', name: ms.metadata.name }, rollout.weight);
      }
    },
  });
  const analysisMeasurements = new Counter({
    name: 'coxswain_analysis_measurements_total',
    help: 'Analysis measurements folded into status, by result (Passed, Failed, Inconclusive, Error).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'coxswain_analysis_value',
    help: 'The last value of each analysis metric under way (status.rollout.analysis), for the candidate and the stable revision.',
    labelNames: ['namespace', 'name', 'metric', 'revision'] as const,
    registers: [registry],
    collect() {
      if (!sources.microservices) return;
      this.reset();
      for (const ms of sources.microservices()) {
        const st = statusOf(ms);
        for (const [labels, value] of analysisValues(ms.metadata, st)) this.set(labels, value);
      }
    },
  });
  const leader = new Gauge({
    name: 'coxswain_leader',
    help: '1 while this process runs the reconcile loop (it holds the leader Lease, or leader election is off).',
    registers: [registry],
    collect() {
      if (sources.leading) this.set(sources.leading() ? 1 : 0);
    },
  });
  // The usual build_info: constant 1, so dashboards can join on the version a pod runs.
  new Gauge({ name: 'coxswain_build_info', help: 'The running version, as a label.', labelNames: ['version'] as const, registers: [registry] }).set({ version: VERSION }, 1);
  const informerRestarts = new Gauge({ name: 'coxswain_informer_restarts', help: 'Times the stall detector restarted an informer.', labelNames: ['resource'] as const, registers: [registry] });
  return { registry, reconciles, reconcileDuration, queueDepth, queueLatency, writes, phases, rolloutWeight, leader, informerRestarts, analysisMeasurements };
}

type Run = { revision?: string; metrics?: Array<{ name?: string; last?: Array<{ value?: string; stableValue?: string }> }> };

/** The last numeric values of the analyses in a status: the candidate's under its revision, the stable one's under the stable revision. */
export function analysisValues(meta: { namespace?: string; name: string }, st: Record<string, unknown>): Array<[{ namespace: string; name: string; metric: string; revision: string }, number]> {
  const rollout = st.rollout as { analysis?: Record<string, Run> } | undefined;
  const out: Array<[{ namespace: string; name: string; metric: string; revision: string }, number]> = [];
  const seen = new Set<string>();
  const num = (s: string | undefined) => (s === undefined ? undefined : s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s));
  for (const run of Object.values(rollout?.analysis ?? {})) {
    for (const m of run.metrics ?? []) {
      const last = m.last?.at(-1);
      const pairs: Array<[string | undefined, string | undefined]> = [[run.revision, last?.value], [typeof st.stableRevision === 'string' ? st.stableRevision : undefined, last?.stableValue]];
      for (const [revision, text] of pairs) {
        const v = num(text);
        const key = `${m.name}/${revision}`;
        if (!revision || !m.name || v === undefined || Number.isNaN(v) || seen.has(key)) continue;
        seen.add(key);
        out.push([{ namespace: meta.namespace ?? '', name: meta.name, metric: m.name, revision }, v]);
      }
    }
  }
  return out;
}

function statusOf(ms: { status?: unknown }): Record<string, unknown> {
  return ms.status && typeof ms.status === 'object' ? (ms.status as Record<string, unknown>) : {};
}

export type Metrics = ReturnType<typeof createMetrics>;
