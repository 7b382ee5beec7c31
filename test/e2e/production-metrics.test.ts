// /metrics, /healthz and /readyz of a running operator, as Prometheus and the kubelet see them;
// and the operator's idle memory with a few Microservices, reported for sizing the chart's
// resources.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, condition, createNamespace, deleteNamespace, eventually, getJSON, installCRD, k, microservice, PACKAGE_VERSION } from './harness.js';
import { RunningOperator, sample } from './production-harness.js';

let ns: string;
let op: RunningOperator;
const names = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-prod-metrics');
  op = await new RunningOperator({ args: ['--namespaces', ns] }).start();
});
afterAll(async () => {
  await op.stop();
  await deleteNamespace(ns);
});

describe('health and metrics endpoints', () => {
  it('answers /readyz once the caches have synced, and /healthz', async () => {
    await eventually('/readyz 200', async () => (await op.get('/readyz')).status === 200, 30_000, 100);
    // Readiness means the caches are synced, which the operator also logs (its stdout reaches us
    // through a pipe, possibly after the HTTP answer: wait for it rather than read it once).
    await eventually('the caches-synced log line', async () => op.lines().some((l) => l.msg === 'caches synced; reconciling'), 5_000, 50);
    expect(await op.get('/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect((await op.get('/nope')).status).toBe(404);
  });

  it('exposes reconciles, durations, the queue, phases, rollout weights and process metrics', async () => {
    for (const n of names) {
      expect((await apply(microservice(n, { image: `registry.example/${n}:1`, replicas: 1, ports: [{ port: 8080 }], config: { data: { N: n } } }, ns))).code).toBe(0);
    }
    // One stays Degraded: a Service of its name that it does not own.
    await k('create', 'service', 'clusterip', 'taken', '--tcp=80:80', '-n', ns);
    await apply(microservice('taken', { image: 'registry.example/taken:1', ports: [{ port: 80 }] }, ns));
    await eventually('all Ready but one', async () => {
      const list = (await getJSON('microservices', '-n', ns))?.items ?? [];
      return list.filter((o: unknown) => condition(o, 'Ready')?.status === 'True').length === names.length;
    }, 120_000);
    // A canary paused at 50%: its weight is a gauge.
    await apply(microservice('alpha', {
      image: 'registry.example/alpha:2', replicas: 2, ports: [{ port: 8080 }], config: { data: { N: 'alpha' } },
      strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: {} }] } },
    }, ns));
    // Paused, not only at 50%: the weight reaches 50 one reconcile before the stable slot has shrunk.
    await eventually('alpha paused at 50%', async () => {
      const o = await getJSON('microservice', '-n', ns, 'alpha');
      return o?.status?.phase === 'Paused' && o.status.rollout?.weight === 50 && o.status.observedGeneration === o.metadata.generation;
    }, 120_000);

    const res = await op.get('/metrics');
    expect(res.status).toBe(200);
    const text = res.body;
    expect(sample(text, 'coxswain_reconcile_total{result="updated"}')).toBeGreaterThan(0);
    expect(sample(text, 'coxswain_reconcile_total{result="stalled"}')).toBeGreaterThan(0);
    expect(sample(text, 'coxswain_reconcile_duration_seconds_count')).toBeGreaterThan(0);
    expect(sample(text, 'coxswain_reconcile_duration_seconds_bucket{le="+Inf"}')).toBe(sample(text, 'coxswain_reconcile_duration_seconds_count'));
    expect(sample(text, 'coxswain_queue_wait_seconds_count')).toBeGreaterThan(0);
    expect(sample(text, 'coxswain_queue_depth')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'coxswain_api_writes_total')).toBeGreaterThan(0);
    expect(sample(text, 'coxswain_leader')).toBe(1);
    expect(sample(text, `coxswain_build_info{version="${PACKAGE_VERSION}"}`)).toBe(1);
    expect(sample(text, 'coxswain_microservices{phase="Healthy"}')).toBe(names.length - 1);
    expect(sample(text, 'coxswain_microservices{phase="Paused"}')).toBe(1);
    expect(sample(text, 'coxswain_microservices{phase="Degraded"}')).toBe(1);
    expect(sample(text, 'coxswain_microservices{phase="Progressing"}')).toBe(0);
    expect(sample(text, `coxswain_rollout_weight{namespace="${ns}",name="alpha"}`)).toBe(50);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(text).toMatch(/^# TYPE coxswain_reconcile_duration_seconds histogram$/m);
  });
});
