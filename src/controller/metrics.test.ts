import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';

const ms = (namespace: string, name: string, status?: unknown) => ({ metadata: { namespace, name }, status });

/** The samples of one metric family from the text exposition, as `name{labels} value` lines. */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe('metrics', () => {
  it('counts Microservices by phase at scrape time, every phase present, no phase yet = Pending', async () => {
    let objects = [ms('a', 'x', { phase: 'Healthy' }), ms('a', 'y', { phase: 'Healthy' }), ms('b', 'z', { phase: 'Degraded' }), ms('b', 'new')];
    const m = createMetrics({ microservices: () => objects });
    expect(samples(await m.registry.metrics(), 'coxswain_microservices').sort()).toEqual([
      'coxswain_microservices{phase="Degraded"} 1',
      'coxswain_microservices{phase="Healthy"} 2',
      'coxswain_microservices{phase="Paused"} 0',
      'coxswain_microservices{phase="Pending"} 1',
      'coxswain_microservices{phase="Progressing"} 0',
    ]);
    objects = [ms('a', 'x', { phase: 'Paused' })];
    expect(samples(await m.registry.metrics(), 'coxswain_microservices')).toContain('coxswain_microservices{phase="Paused"} 1');
    expect(samples(await m.registry.metrics(), 'coxswain_microservices')).toContain('coxswain_microservices{phase="Healthy"} 0');
  });

  it('reports status.rollout.weight per Microservice in a rollout, and forgets those that left', async () => {
    let objects = [ms('shop', 'orders', { phase: 'Progressing', rollout: { weight: 20, desiredWeight: 50 } }), ms('shop', 'web', { phase: 'Healthy' })];
    const m = createMetrics({ microservices: () => objects });
    expect(samples(await m.registry.metrics(), 'coxswain_rollout_weight')).toEqual(['coxswain_rollout_weight{namespace="shop",name="orders"} 20']);
    objects = [ms('shop', 'orders', { phase: 'Healthy' })];
    expect(samples(await m.registry.metrics(), 'coxswain_rollout_weight')).toEqual([]);
  });

  it('reports the last value of each analysis metric, the candidate under its revision and the stable one under the stable revision', async () => {
    const metric = (name: string, last: Array<{ value?: string; stableValue?: string }>) => ({ name, last });
    let objects = [ms('shop', 'orders', {
      stableRevision: 'old1',
      rollout: { analysis: {
        step: { revision: 'new1', metrics: [metric('error-rate', [{ value: '0.5' }, { value: '0.02', stableValue: '0.01' }]), metric('latency', [{ value: 'NaN' }])] },
        background: { revision: 'new1', metrics: [metric('error-rate', [{ value: '0.9' }]), metric('p99', [{ value: '+Inf' }])] },
      } },
    })];
    const m = createMetrics({ microservices: () => objects });
    expect(samples(await m.registry.metrics(), 'coxswain_analysis_value').sort()).toEqual([
      'coxswain_analysis_value{namespace="shop",name="orders",metric="error-rate",revision="new1"} 0.02',
      'coxswain_analysis_value{namespace="shop",name="orders",metric="error-rate",revision="old1"} 0.01',
      'coxswain_analysis_value{namespace="shop",name="orders",metric="p99",revision="new1"} +Inf',
    ]);
    objects = [ms('shop', 'orders', { stableRevision: 'new1' })];
    expect(samples(await m.registry.metrics(), 'coxswain_analysis_value')).toEqual([]);
    m.analysisMeasurements.inc({ result: 'Failed' });
    expect(samples(await m.registry.metrics(), 'coxswain_analysis_measurements_total')).toEqual(['coxswain_analysis_measurements_total{result="Failed"} 1']);
  });

  it('reads queue depth and leadership when scraped', async () => {
    let depth = 3;
    let leading = false;
    const m = createMetrics({ queueDepth: () => depth, leading: () => leading });
    let text = await m.registry.metrics();
    expect(samples(text, 'coxswain_queue_depth')).toEqual(['coxswain_queue_depth 3']);
    expect(samples(text, 'coxswain_leader')).toEqual(['coxswain_leader 0']);
    depth = 0;
    leading = true;
    text = await m.registry.metrics();
    expect(samples(text, 'coxswain_queue_depth')).toEqual(['coxswain_queue_depth 0']);
    expect(samples(text, 'coxswain_leader')).toEqual(['coxswain_leader 1']);
  });

  it('has reconcile counters and histograms, and the standard process metrics', async () => {
    const m = createMetrics();
    m.reconciles.inc({ result: 'updated' });
    m.reconcileDuration.observe(0.02);
    m.queueLatency.observe(0.002);
    const text = await m.registry.metrics();
    expect(text).toContain('coxswain_reconcile_total{result="updated"} 1');
    expect(text).toContain('coxswain_reconcile_duration_seconds_bucket{le="0.025"} 1');
    expect(text).toContain('coxswain_queue_wait_seconds_count 1');
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d+/m);
  });

  it('keeps registries apart, so two managers in one process do not collide', () => {
    expect(() => [createMetrics(), createMetrics()]).not.toThrow();
  });
});
