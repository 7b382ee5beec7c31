import { describe, expect, it } from 'vitest';
import { API_VERSION, KIND } from '../api/schema.js';
import { AnalysisTemplateSpec, unknownPlaceholders } from './api.js';
import { validateMicroservice } from '../api/validate.js';

const err = { name: 'error-rate', prometheus: { query: 'sum(rate(x{revision="{{revision}}"}[1m]))' }, max: 0.01 };
const withAnalysis = (metrics: unknown[], strategy?: unknown) => ({ image: 'a', analysis: { metrics }, ...(strategy ? { strategy } : {}) });
const canaryWith = (steps: unknown[], extra: Record<string, unknown> = {}) => ({ type: 'Canary', canary: { steps, ...extra } });

/**
 * Each breaks one analysis rule of the CRD; the operator must say what the API server says, on
 * the same field. validate.test.ts runs them with the other CEL cases and checks every rule of
 * the generated CRD has one.
 */
export const ANALYSIS_CASES: Array<[string, unknown, string]> = [
  ['an unknown placeholder in a query', withAnalysis([{ ...err, prometheus: { query: 'x{rev="{{rev}}"}' } }]),
    'spec.analysis.metrics[0].prometheus.query: unknown placeholder: the ones filled in are {{name}}, {{namespace}}, {{revision}}, {{slot}}, {{stableRevision}}, {{candidateRevision}}'],
  ['an unknown placeholder in a URL', withAnalysis([{ name: 'smoke', web: { url: 'http://smoke/{{args.svc}}' } }]),
    'spec.analysis.metrics[0].web.url: unknown placeholder: the ones filled in are {{name}}, {{namespace}}, {{revision}}, {{slot}}, {{stableRevision}}, {{candidateRevision}}'],
  ['a metric with no provider', withAnalysis([{ name: 'x', max: 1 }]), 'spec.analysis.metrics[0]: set exactly one provider: prometheus or web'],
  ['a metric with two providers', withAnalysis([{ ...err, web: { url: 'http://a' } }]), 'spec.analysis.metrics[0]: set exactly one provider: prometheus or web'],
  ['min above max', withAnalysis([{ ...err, min: 0.5 }]), 'spec.analysis.metrics[0].min: min may not be above max'],
  ['two metrics of one name', withAnalysis([err, err]), 'spec.analysis.metrics: metric names must be unique'],
  ['a step naming an unknown metric', withAnalysis([err], canaryWith([{ setWeight: 10 }, { analysis: { metrics: ['latency'] } }])),
    'spec.strategy.canary.steps: an analysis step names a metric that spec.analysis.metrics does not define (and no templateRefs are set)'],
  ['a step naming a metric twice', withAnalysis([err], canaryWith([{ analysis: { metrics: ['error-rate', 'error-rate'] } }])),
    'spec.strategy.canary.steps[0].analysis.metrics: a metric may be named only once'],
  ['background analysis naming an unknown metric', withAnalysis([err], canaryWith([{ setWeight: 10 }], { analysis: { metrics: ['latency'] } })),
    'spec.strategy.canary.analysis.metrics: strategy.canary.analysis names a metric that spec.analysis.metrics does not define (and no templateRefs are set)'],
  ['pre-promotion analysis naming an unknown metric', withAnalysis([err], { type: 'BlueGreen', blueGreen: { prePromotionAnalysis: { metrics: ['smoke'] } } }),
    'spec.strategy.blueGreen.prePromotionAnalysis.metrics: strategy.blueGreen.prePromotionAnalysis names a metric that spec.analysis.metrics does not define (and no templateRefs are set)'],
  ['post-promotion analysis with no spec.analysis', { image: 'a', strategy: { type: 'BlueGreen', blueGreen: { postPromotionAnalysis: { metrics: ['smoke'] } } } },
    'spec.strategy.blueGreen.postPromotionAnalysis.metrics: strategy.blueGreen.postPromotionAnalysis names a metric that spec.analysis.metrics does not define (and no templateRefs are set)'],
];

const object = (spec: unknown) => ({ apiVersion: API_VERSION, kind: KIND, metadata: { name: 'orders', namespace: 'shop' }, spec });
const problems = (spec: unknown) => {
  const r = validateMicroservice(object(spec));
  return r.ok ? [] : r.problems;
};

describe('analysis rules only the operator checks (CEL cannot read the schemaless equals)', () => {
  it.each<[string, unknown, string]>([
    ['a Prometheus metric with no condition', withAnalysis([{ name: 'x', prometheus: { query: 'up' } }]),
      'spec.analysis.metrics[0]: set a condition: max, min, equals or maxRatioToStable (only a web metric without jsonPath may go without, judged by its status code)'],
    ['a web metric with a jsonPath and no condition', withAnalysis([{ name: 'x', web: { url: 'http://a', jsonPath: '$.ok' } }]),
      'spec.analysis.metrics[0]: set a condition: max, min, equals or maxRatioToStable (only a web metric without jsonPath may go without, judged by its status code)'],
    ['equals given an object', withAnalysis([{ ...err, equals: { a: 1 } }]), 'spec.analysis.metrics[0].equals: equals must be a number, a string or a boolean'],
  ])('%s', (_what, spec, problem) => {
    expect(problems(spec)).toEqual([problem]);
  });

  it.each([true, 'yes', 3, 0.5])('takes equals: %j', (equals) => {
    expect(problems(withAnalysis([{ name: 'x', web: { url: 'http://a', jsonPath: '$.ok' }, equals }]))).toEqual([]);
  });

  it('takes a web metric judged by its status code alone', () => {
    expect(problems(withAnalysis([{ name: 'x', web: { url: 'http://a/{{name}}?rev={{revision}}' } }]))).toEqual([]);
  });
});

describe('defaults and references', () => {
  it('defaults interval, failureLimit, consecutiveErrorLimit, noData, the web method and timeout, and startingStep', () => {
    const r = validateMicroservice(object(withAnalysis([err, { name: 'smoke', web: { url: 'http://a' } }],
      canaryWith([{ setWeight: 10 }, { analysis: { metrics: ['error-rate'] } }], { analysis: { metrics: ['smoke'] } }))));
    if (!r.ok) throw new Error(r.problems.join('; '));
    const [m, w] = r.value.spec.analysis!.metrics!;
    expect(m).toMatchObject({ interval: '30s', failureLimit: 0, consecutiveErrorLimit: 4, noData: 'Hold' });
    expect(w!.web).toEqual({ url: 'http://a', method: 'GET', timeout: '10s' });
    expect(r.value.spec.strategy.canary!.analysis).toEqual({ metrics: ['smoke'], startingStep: 0 });
  });

  it('lets a step name a metric that only a template may define: the templates are read at reconcile time', () => {
    const spec = { image: 'a', analysis: { templateRefs: [{ name: 'http', kind: 'ClusterAnalysisTemplate' }] }, strategy: canaryWith([{ analysis: { metrics: ['error-rate'] } }]) };
    expect(problems(spec)).toEqual([]);
  });

  it('defaults a template reference to the namespaced kind', () => {
    const r = validateMicroservice(object({ image: 'a', analysis: { templateRefs: [{ name: 'http' }] } }));
    expect(r.ok && r.value.spec.analysis?.templateRefs).toEqual([{ name: 'http', kind: 'AnalysisTemplate' }]);
  });

  it('wants at least one metric in a template', () => {
    expect(AnalysisTemplateSpec.safeParse({ metrics: [] }).success).toBe(false);
    expect(AnalysisTemplateSpec.safeParse({ metrics: [err] }).success).toBe(true);
  });
});

describe('unknownPlaceholders', () => {
  it.each<[string, string[]]>([
    ['{{name}}-{{namespace}}-{{revision}}-{{slot}}-{{stableRevision}}-{{candidateRevision}}', []],
    ['no placeholders at all', []],
    ['{{ revision }}', ['{{ revision }}']],
    ['{{Revision}} and {{args.x}}', ['{{Revision}}', '{{args.x}}']],
    ['{{revision}}{{rev}}', ['{{rev}}']],
    ['a {{ left open', ['{{ left open']],
  ])('%s -> %j', (text, unknown) => {
    expect(unknownPlaceholders(text)).toEqual(unknown);
  });
});
