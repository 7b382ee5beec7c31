// The Prometheus provider against a real Prometheus (no cluster needed): the shapes its HTTP API
// really answers with become the samples the engine judges, as the unit tests assume.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryPrometheus } from '../../src/analysis/prometheus.js';
import { expand, promql } from '../../src/analysis/placeholders.js';
import { eventually } from './harness.js';
import { Exporter, Prometheus, prometheusBinary } from './prometheus.js';

let exporter: Exporter;
let prometheus: Prometheus;
const ask = (q: string) => queryPrometheus({ address: prometheus.address, timeoutMs: 5000 }, undefined, q);

beforeAll(async () => {
  exporter = await new Exporter().start();
  exporter.set('shop', 'orders', 'abc', { errorRate: 0.25 });
  exporter.set('shop', 'orders', 'def', { errorRate: 0 });
  prometheus = await new Prometheus(prometheusBinary(), `127.0.0.1:${exporter.port}`).start();
  await eventually('two scrapes', async () => Number((await prometheus.query('count_over_time(up[10s])'))[0]?.value[1] ?? 0) >= 2, 30_000);
});
afterAll(async () => {
  await prometheus?.destroy();
  await exporter?.stop();
});

describe('a real Prometheus answers', () => {
  it.each<[string, string, unknown]>([
    ['one series', 'vector(0.25)', { values: [0.25] }],
    ['an empty vector', 'http_requests_total{revision="none"}', { values: [] }],
    ['NaN for 0/0', 'vector(0) / vector(0)', { values: [Number.NaN] }],
    ['+Inf for 1/0', 'vector(1) / vector(0)', { values: [Infinity] }],
    ['-Inf for -1/0', 'vector(-1) / vector(0)', { values: [-Infinity] }],
    ['a scalar', 'scalar(vector(3))', { values: [3] }],
    ['several series', 'http_requests_total{namespace="shop"}', { values: [expect.any(Number), expect.any(Number), expect.any(Number), expect.any(Number)] }],
  ])('%s: %s', async (_what, query, sample) => {
    expect(await ask(query)).toEqual(sample);
  });

  it('an error rate per revision, from the exporter', async () => {
    const q = (rev: string) => `sum(rate(http_requests_total{revision="${rev}",code=~"5.."}[5s])) / sum(rate(http_requests_total{revision="${rev}"}[5s]))`;
    await eventually('a rate', async () => ('values' in (await ask(q('abc'))) && (await ask(q('abc')) as { values: number[] }).values.length === 1), 30_000);
    const bad = await ask(q('abc')) as { values: number[] };
    expect(bad.values[0]).toBeGreaterThan(0.15);
    expect(bad.values[0]).toBeLessThan(0.35);
    expect(await ask(q('def'))).toEqual({ values: [0] });
  });

  it('a bad query: its own words', async () => {
    expect(await ask('sum(')).toEqual({ error: expect.stringMatching(/^Prometheus answered HTTP 400: bad_data: .*parse error/) });
  });

  it('a range vector: an error saying what to do', async () => {
    expect(await ask('up[1m]')).toEqual({ error: expect.stringContaining('range vector') });
  });

  it('a placeholder value that tries to break out of its label matcher stays inside it', async () => {
    const query = expand('count(http_requests_total{name="{{name}}"}) or vector(0)', { name: 'orders"} or vector(42) or x{a="', namespace: 'shop', revision: 'abc', slot: 'blue', stableRevision: 'def', candidateRevision: 'abc' }, promql);
    expect(await ask(query)).toEqual({ values: [0] });
  });
});
