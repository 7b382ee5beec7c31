// Prometheus metrics of the controller, on their own registry.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'coxswain_' });
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
  const queueDepth = new Gauge({ name: 'coxswain_queue_depth', help: 'Keys waiting in the work queue.', registers: [registry] });
  const queueLatency = new Histogram({
    name: 'coxswain_queue_wait_seconds',
    help: 'Time a key waited in the queue before a worker took it.',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
    registers: [registry],
  });
  const writes = new Counter({ name: 'coxswain_api_writes_total', help: 'Writes sent to the API server by reconciles.', registers: [registry] });
  const phases = new Gauge({ name: 'coxswain_microservices', help: 'Microservices by phase.', labelNames: ['phase'] as const, registers: [registry] });
  const informerRestarts = new Gauge({ name: 'coxswain_informer_restarts', help: 'Times the stall detector restarted an informer.', labelNames: ['resource'] as const, registers: [registry] });
  return { registry, reconciles, reconcileDuration, queueDepth, queueLatency, writes, phases, informerRestarts };
}

export type Metrics = ReturnType<typeof createMetrics>;
