// The analysis API: metrics that judge a release (spec.analysis, AnalysisTemplate,
// ClusterAnalysisTemplate), the places a rollout runs them (a canary step, the canary's
// background analysis, blue-green before and after promotion), and what status records of them.
// Semantics: docs/analysis.md. The evaluation itself is pure, in src/analysis/evaluate.ts.
import { z } from 'zod';
import { cel, Duration, Name, unique } from '../api/rules.js';

export const ANALYSIS_TEMPLATE = 'AnalysisTemplate';
export const CLUSTER_ANALYSIS_TEMPLATE = 'ClusterAnalysisTemplate';

/** What `{{...}}` may name in a query or URL; each is a value of the revision being measured. */
export const PLACEHOLDERS = ['name', 'namespace', 'revision', 'slot', 'stableRevision', 'candidateRevision'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

const placeholderList = PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ');
const KNOWN = new RegExp(`\\{\\{(${PLACEHOLDERS.join('|')})\\}\\}`, 'g');

/** The `{{...}}` in a text that are not placeholders Coxswain fills in (a `{{` left open counts). */
export function unknownPlaceholders(text: string): string[] {
  return [...text.replace(KNOWN, '').matchAll(/\{\{[^}]*(\}\})?/g)].map((m) => m[0]);
}

/** A string with placeholders; the API server refuses one that names an unknown placeholder. */
const Templated = (max: number) => cel(
  z.string().min(1).max(max),
  {
    // CEL has no regex replace; replacing each known placeholder and looking for a `{{` left over says the same.
    rule: `!self${PLACEHOLDERS.map((p) => `.replace('{{${p}}}', '')`).join('')}.contains('{{')`,
    message: `unknown placeholder: the ones filled in are ${placeholderList}`,
    holds: (s) => !s.replace(KNOWN, '').includes('{{'),
  },
);

const Address = z.string().max(2048).regex(/^https?:\/\/[^\s/]+/, 'must be an http:// or https:// URL such as http://prometheus.monitoring:9090');

export const PrometheusQuery = z.object({
  query: Templated(8192).describe('PromQL, as an instant query; it should return one series (aggregate with sum, max, avg).'),
  address: Address.optional().describe("Prometheus for this metric; defaults to spec.analysis.prometheus.address, then the operator's --prometheus-address."),
});

export const WebQuery = z.object({
  url: Templated(2048).describe('Placeholders are URL-escaped.'),
  method: z.enum(['GET', 'POST']).default('GET'),
  body: Templated(8192).optional().describe('Request body for POST (placeholders are filled in, JSON-escaped).'),
  jsonPath: z.string().max(256).regex(/^\$(\.[A-Za-z_][-A-Za-z0-9_]*|\[[0-9]+\]|\['[^']*'\])*$/, "must be a JSONPath such as $.passed, $.results[0].ok or $['error-rate']").optional()
    .describe('The value in the JSON response to judge; without it, the HTTP status code is the value (2xx passes when no condition is set).'),
  timeout: Duration.default('10s'),
});

/**
 * `equals` takes a number, a string or a boolean: schemaless in the CRD (a structural schema has
 * no such union), checked by a CEL rule on the metric and its twin here.
 */
const Scalar = z.unknown()
  .describe('The value must equal this (a number, string or boolean).')
  .meta({ 'x-kubernetes-preserve-unknown-fields': true }).optional() as unknown as z.ZodOptional<z.ZodType<number | string | boolean>>;

const has = (v: unknown) => v !== undefined;

const isScalar = (v: unknown) => ['number', 'string', 'boolean'].includes(typeof v);

export const Metric = cel(
  z.object({
    name: Name,
    interval: Duration.default('30s').describe('Time between measurements.'),
    prometheus: PrometheusQuery.optional(),
    web: WebQuery.optional(),
    max: z.number().optional().describe('Passes when the value is at most this.'),
    min: z.number().optional().describe('Passes when the value is at least this.'),
    equals: Scalar,
    maxRatioToStable: z.number().positive().optional()
      .describe('Passes when the value is at most this times the same query for the stable revision.'),
    failureLimit: z.int().min(0).default(0).describe('Failed measurements tolerated; the next one fails the metric.'),
    consecutiveErrorLimit: z.int().min(1).default(4).describe('Errors in a row (provider down, bad query) that count as one failed measurement.'),
    noData: z.enum(['Hold', 'Fail', 'Pass']).default('Hold').describe('An inconclusive measurement (no data, NaN): wait and say so, fail, or pass.'),
  })
    // CEL cannot see a schemaless field, so the rules that read `equals` are the operator's alone:
    // the API server takes such a metric, and the Microservice is Stalled, InvalidSpec, naming the field.
    .refine((m) => m.equals === undefined || isScalar(m.equals), { message: 'equals must be a number, a string or a boolean', path: ['equals'] })
    .refine((m) => (m.web !== undefined && m.web.jsonPath === undefined) || [m.max, m.min, m.equals, m.maxRatioToStable].some(has), {
      message: 'set a condition: max, min, equals or maxRatioToStable (only a web metric without jsonPath may go without, judged by its status code)',
    }),
  { rule: '[has(self.prometheus), has(self.web)].filter(x, x).size() == 1', message: 'set exactly one provider: prometheus or web',
    holds: (m) => [m.prometheus, m.web].filter(has).length === 1 },
  { rule: '!has(self.min) || !has(self.max) || self.min <= self.max', message: 'min may not be above max', fieldPath: '.min',
    holds: (m) => m.min === undefined || m.max === undefined || m.min <= m.max },
);

const Metrics = cel(
  z.array(Metric).max(20),
  { rule: 'self.all(m, self.exists_one(n, n.name == m.name))', message: 'metric names must be unique',
    holds: (ms) => unique(ms.map((m) => m.name)) },
);

export const TemplateRef = z.object({
  name: z.string().min(1).max(253).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a lowercase DNS name'),
  kind: z.enum([ANALYSIS_TEMPLATE, CLUSTER_ANALYSIS_TEMPLATE]).default(ANALYSIS_TEMPLATE)
    .describe('AnalysisTemplate (in the Microservice namespace) or ClusterAnalysisTemplate.'),
});

export const AnalysisSpec = z.object({
  prometheus: z.object({ address: Address.optional() }).optional()
    .describe("Defaults for Prometheus metrics; the address defaults to the operator's --prometheus-address."),
  templateRef: TemplateRef.optional().describe('A template whose metrics this Microservice may use by name (one; templateRefs for several).'),
  templateRefs: z.array(TemplateRef).max(8).optional()
    .describe('Templates whose metrics this Microservice may use by name; an inline metric of the same name wins.'),
  metrics: Metrics.optional(),
});

const MetricNames = cel(
  z.array(Name).min(1).max(10),
  { rule: 'self.all(m, self.exists_one(n, n == m))', message: 'a metric may be named only once', holds: unique },
);

/** An analysis that gates: it passes once every metric has passed for its duration (or count). */
export const GatingAnalysis = z.object({
  metrics: MetricNames.describe('Names of metrics in spec.analysis.metrics or a referenced template.'),
  duration: Duration.optional().describe('Every metric must keep passing at least this long.'),
  count: z.int().min(1).max(1000).optional().describe('Every metric must pass at least this many measurements (default 1).'),
});

/** The canary's background analysis: from startingStep until the rollout completes; it never gates, only aborts. */
export const BackgroundAnalysis = z.object({
  metrics: MetricNames,
  startingStep: z.int().min(0).default(0).describe('The step from which the background analysis runs.'),
});

export const AnalysisTemplateSpec = z.object({
  metrics: Metrics.min(1).describe('Metrics a Microservice may use by name through spec.analysis.templateRefs.'),
});

type Names = { metrics: string[] } | undefined;

/** The templates a spec.analysis refers to: templateRef (DESIGN's name, one) and templateRefs, in that order. */
export function templateRefsOf<R>(a: { templateRef?: R; templateRefs?: R[] } | undefined): R[] {
  return [...(a?.templateRef ? [a.templateRef] : []), ...(a?.templateRefs ?? [])];
}
/** What the name rules read of a Microservice spec. */
export interface AnalysisUser {
  analysis?: { templateRef?: unknown; templateRefs?: unknown[]; metrics?: Array<{ name: string }> };
  strategy: {
    canary?: { steps: Array<{ analysis?: Names }>; analysis?: Names };
    blueGreen?: { prePromotionAnalysis?: Names; postPromotionAnalysis?: Names };
  };
}

const KNOWN_CEL = 'has(self.analysis) && (has(self.analysis.templateRef) || (has(self.analysis.templateRefs) && size(self.analysis.templateRefs) > 0)'
  + ' || (has(self.analysis.metrics) && self.analysis.metrics.exists(x, x.name == m)))';
function knownIn(spec: AnalysisUser): (name: string) => boolean {
  if (templateRefsOf(spec.analysis).length > 0) return () => true; // resolved at reconcile time, with the templates
  const names = new Set((spec.analysis?.metrics ?? []).map((m) => m.name));
  return (n) => names.has(n);
}
const MISSING = 'names a metric that spec.analysis.metrics does not define (and no templateRefs are set)';

/**
 * Rules on the Microservice spec: every metric an analysis names is defined inline, or may come
 * from a referenced template (checked when the templates are read, at reconcile time).
 */
export const ANALYSIS_NAME_RULES = [
  {
    rule: `!has(self.strategy) || !has(self.strategy.canary) || self.strategy.canary.steps.all(s, !has(s.analysis) || s.analysis.metrics.all(m, ${KNOWN_CEL}))`,
    message: `an analysis step ${MISSING}`, fieldPath: '.strategy.canary.steps',
    holds: (s: AnalysisUser) => (s.strategy.canary?.steps ?? []).every((st) => (st.analysis?.metrics ?? []).every(knownIn(s))),
  },
  ...([['canary', 'analysis'], ['blueGreen', 'prePromotionAnalysis'], ['blueGreen', 'postPromotionAnalysis']] as const).map(([strategy, field]) => ({
    rule: `!has(self.strategy) || !has(self.strategy.${strategy}) || !has(self.strategy.${strategy}.${field}) || self.strategy.${strategy}.${field}.metrics.all(m, ${KNOWN_CEL})`,
    message: `strategy.${strategy}.${field} ${MISSING}`, fieldPath: `.strategy.${strategy}.${field}.metrics`,
    holds: (s: AnalysisUser) => ((s.strategy[strategy] as Record<string, Names> | undefined)?.[field]?.metrics ?? []).every(knownIn(s)),
  })),
];

// ---- status -------------------------------------------------------------------------------

export const MEASUREMENT_PHASES = ['Passed', 'Failed', 'Inconclusive', 'Error'] as const;
export type MeasurementPhase = (typeof MEASUREMENT_PHASES)[number];

export const MeasurementStatus = z.object({
  at: z.string(),
  phase: z.enum(MEASUREMENT_PHASES),
  value: z.string().optional().describe("The candidate's value, as text (NaN and +Inf included)."),
  stableValue: z.string().optional().describe("The stable revision's value, for maxRatioToStable."),
  message: z.string().optional(),
});

export const MetricStatus = z.object({
  name: z.string(),
  phase: z.enum(['Running', 'Passed', 'Failed', 'Stopped']).describe('Stopped: another metric of its run failed first, so it was measured no more.'),
  threshold: z.string().optional().describe('The metric conditions, as text, e.g. "<= 0.01, <= 1.5x stable".'),
  measurements: z.int().describe('Measurements taken: the next one is number measurements+1.'),
  passed: z.int(),
  failed: z.int().describe('Failed measurements, errors past consecutiveErrorLimit and noData: Fail included.'),
  inconclusive: z.int(),
  errors: z.int(),
  consecutiveErrors: z.int(),
  nextAt: z.string().optional().describe('When the next measurement is due.'),
  message: z.string().optional(),
  last: z.array(MeasurementStatus).max(10).describe('The last measurements, oldest first.'),
});

export const AnalysisRunStatus = z.object({
  id: z.string().describe('What runs it: step-<i>, background, prePromotion or postPromotion.'),
  revision: z.string().describe('The candidate revision measured.'),
  startedAt: z.string(),
  heldSeconds: z.int().optional().describe('Seconds the rollout was held (paused) since the run started: they do not count towards its duration.'),
  resumedAt: z.string().optional().describe('When the rollout was last resumed: nothing passes on a measurement taken before.'),
  phase: z.enum(['Running', 'Passed', 'Failed']),
  message: z.string().optional(),
  metrics: z.array(MetricStatus).max(20),
});

export const AnalysisStatus = z.object({
  step: AnalysisRunStatus.optional().describe('The analysis that gates the current step (blue-green: pre- or post-promotion).'),
  background: AnalysisRunStatus.optional().describe("The canary's background analysis."),
});

export type Metric = z.output<typeof Metric>;
export type MetricInput = z.input<typeof Metric>;
export type AnalysisSpec = z.output<typeof AnalysisSpec>;
export type GatingAnalysis = z.output<typeof GatingAnalysis>;
export type BackgroundAnalysis = z.output<typeof BackgroundAnalysis>;
export type TemplateRef = z.output<typeof TemplateRef>;
export type MeasurementStatus = z.output<typeof MeasurementStatus>;
export type MetricStatus = z.output<typeof MetricStatus>;
export type AnalysisRunStatus = z.output<typeof AnalysisRunStatus>;
export type AnalysisStatus = z.output<typeof AnalysisStatus>;
