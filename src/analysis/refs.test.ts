import { describe, expect, it } from 'vitest';
import { MicroserviceSpec, type MicroserviceSpecInput } from '../api/schema.js';
import type { TemplateRef } from './api.js';
import { resolveMetrics, type TemplateLookup } from './refs.js';

const q = (query: string) => ({ prometheus: { query } });
const shared = { metrics: [{ name: 'error-rate', ...q('shared'), max: 0.05 }, { name: 'latency', ...q('p99'), max: 0.5 }] };
const lookup = (objs: Record<string, unknown>, synced = true): TemplateLookup => ({
  synced,
  get: (ref: TemplateRef, ns: string) => {
    const key = ref.kind === 'ClusterAnalysisTemplate' ? `cluster/${ref.name}` : `${ns}/${ref.name}`;
    return key in objs ? { spec: objs[key] } : undefined;
  },
});
const spec = (over: Partial<MicroserviceSpecInput>) => MicroserviceSpec.parse({
  image: 'a', strategy: { type: 'Canary', canary: { steps: [{ analysis: { metrics: ['error-rate', 'latency'] } }] } }, ...over,
});

describe('resolveMetrics', () => {
  it('takes the metrics of a ClusterAnalysisTemplate and an AnalysisTemplate; inline wins on a clash', () => {
    const s = spec({ analysis: { templateRefs: [{ name: 'http', kind: 'ClusterAnalysisTemplate' }], metrics: [{ name: 'error-rate', ...q('inline'), max: 0.01 }] } });
    const r = resolveMetrics(s, 'shop', lookup({ 'cluster/http': shared }));
    expect(r.problems).toEqual([]);
    expect(r.metrics.get('error-rate')?.prometheus?.query).toBe('inline');
    expect(r.metrics.get('latency')?.prometheus?.query).toBe('p99');
    expect(r.unresolved).toBeUndefined();
  });

  it('takes templateRef, DESIGN.md\'s name for one template, as templateRefs takes a list', () => {
    const s = spec({ analysis: { templateRef: { name: 'http', kind: 'ClusterAnalysisTemplate' } } });
    const r = resolveMetrics(s, 'shop', lookup({ 'cluster/http': shared }));
    expect(r.problems).toEqual([]);
    expect(r.metrics.get('latency')?.prometheus?.query).toBe('p99');
  });

  it('reads a namespaced template from the Microservice namespace only', () => {
    const s = spec({ analysis: { templateRefs: [{ name: 'http' }] } });
    expect(resolveMetrics(s, 'shop', lookup({ 'shop/http': shared })).problems).toEqual([]);
    expect(resolveMetrics(s, 'shop', lookup({ 'other/http': shared })).problems).toEqual([
      { reason: 'AnalysisTemplateNotFound', message: 'spec.analysis.templateRefs[0]: AnalysisTemplate shop/http not found' },
    ]);
  });

  it('a template not found is a problem once the caches have synced; before, the analyses only hold', () => {
    const s = spec({ analysis: { templateRefs: [{ name: 'http', kind: 'ClusterAnalysisTemplate' }] } });
    const before = resolveMetrics(s, 'shop', lookup({}, false));
    expect(before.problems).toEqual([]);
    expect(before.unresolved).toBe('ClusterAnalysisTemplate http not read yet');
    const after = resolveMetrics(s, 'shop', lookup({}));
    expect(after.problems.map((p) => p.reason)).toEqual(['AnalysisTemplateNotFound']);
    expect(after.unresolved).toBe('ClusterAnalysisTemplate http not found');
  });

  it('an invalid template is a problem that names the template and the field', () => {
    const s = spec({ analysis: { templateRefs: [{ name: 'http', kind: 'ClusterAnalysisTemplate' }] } });
    const r = resolveMetrics(s, 'shop', lookup({ 'cluster/http': { metrics: [{ name: 'x', max: 1 }] } }));
    expect(r.problems).toEqual([{ reason: 'AnalysisTemplateInvalid', message: 'ClusterAnalysisTemplate http: spec.metrics[0]: set exactly one provider: prometheus or web' }]);
  });

  it('a step naming a metric that no template defines is a problem naming the step', () => {
    const s = spec({ analysis: { templateRefs: [{ name: 'http', kind: 'ClusterAnalysisTemplate' }] } });
    const r = resolveMetrics(s, 'shop', lookup({ 'cluster/http': { metrics: [shared.metrics[0]] } }));
    expect(r.problems).toEqual([{ reason: 'AnalysisMetricUnknown', message: 'spec.strategy.canary.steps[0].analysis.metrics: no metric latency in spec.analysis.metrics or the referenced templates' }]);
  });

  it('gives every Prometheus metric without an address the spec default, templates included', () => {
    const s = spec({ analysis: { prometheus: { address: 'http://prom:9090' }, templateRefs: [{ name: 'http', kind: 'ClusterAnalysisTemplate' }],
      metrics: [{ name: 'own', prometheus: { query: 'x', address: 'http://other:9090' }, max: 1 }] } });
    const r = resolveMetrics(s, 'shop', lookup({ 'cluster/http': shared }));
    expect([...r.metrics.values()].map((m) => m.prometheus?.address)).toEqual(['http://prom:9090', 'http://prom:9090', 'http://other:9090']);
  });
});
