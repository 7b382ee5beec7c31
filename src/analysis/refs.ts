// Which metrics a Microservice may use: its inline ones, and those of the AnalysisTemplates and
// ClusterAnalysisTemplates it references (inline wins on a clash), with the Prometheus address
// it defaults to. Pure: the templates come in as they were read. A template that does not exist
// or does not parse is a problem the Microservice reports as Stalled; the analyses that need its
// metrics hold (never pass) until it is there.
import { AnalysisTemplateSpec, templateRefsOf, type AnalysisUser, type Metric, type TemplateRef } from './api.js';
import { formatIssues } from '../api/validate.js';
import type { MicroserviceSpec } from '../api/schema.js';
import type { Problem } from '../rollout/status.js';

/** The templates as the operator's caches hold them. */
export interface TemplateLookup {
  get(ref: TemplateRef, namespace: string): object | undefined;
  /** False until the template caches have listed once: a template not seen yet may still exist. */
  synced: boolean;
  /** False when ClusterAnalysisTemplates are not read (the operator watches only some namespaces). */
  clusterWide?: boolean;
}

export interface ResolvedMetrics {
  metrics: Map<string, Metric>;
  problems: Problem[];
  /** Why some metrics may be missing, for the analyses that hold on them. */
  unresolved?: string;
}

const refName = (ref: TemplateRef, namespace: string) => (ref.kind === 'ClusterAnalysisTemplate' ? `ClusterAnalysisTemplate ${ref.name}` : `AnalysisTemplate ${namespace}/${ref.name}`);

/** Every metric name the spec's analyses use, with the field that names it. */
function namesUsed(spec: AnalysisUser): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  (spec.strategy.canary?.steps ?? []).forEach((s, i) => s.analysis?.metrics.forEach((m) => out.push([m, `spec.strategy.canary.steps[${i}].analysis.metrics`])));
  spec.strategy.canary?.analysis?.metrics.forEach((m) => out.push([m, 'spec.strategy.canary.analysis.metrics']));
  spec.strategy.blueGreen?.prePromotionAnalysis?.metrics.forEach((m) => out.push([m, 'spec.strategy.blueGreen.prePromotionAnalysis.metrics']));
  spec.strategy.blueGreen?.postPromotionAnalysis?.metrics.forEach((m) => out.push([m, 'spec.strategy.blueGreen.postPromotionAnalysis.metrics']));
  return out;
}

export function resolveMetrics(spec: MicroserviceSpec, namespace: string, templates?: TemplateLookup): ResolvedMetrics {
  const a = spec.analysis;
  const metrics = new Map<string, Metric>();
  const problems: Problem[] = [];
  const missing: string[] = [];
  templateRefsOf(a).forEach((ref, i) => {
    const obj = templates?.get(ref, namespace);
    const what = refName(ref, namespace);
    if (!obj && ref.kind === 'ClusterAnalysisTemplate' && templates?.clusterWide === false) {
      problems.push({ reason: 'AnalysisTemplateNotFound', message: `spec.analysis.templateRefs[${i}]: ${what} is not read: the operator watches only some namespaces (--namespaces), with no cluster-wide read` });
      missing.push(`${what} is not read`);
      return;
    }
    if (!obj) {
      if (templates && templates.synced) {
        problems.push({ reason: 'AnalysisTemplateNotFound', message: `spec.analysis.templateRefs[${i}]: ${what} not found` });
      }
      missing.push(templates?.synced ? `${what} not found` : `${what} not read yet`);
      return;
    }
    const parsed = AnalysisTemplateSpec.safeParse((obj as { spec?: unknown }).spec);
    if (!parsed.success) {
      problems.push({ reason: 'AnalysisTemplateInvalid', message: `${what}: ${formatIssues('spec', parsed.error).join('; ')}` });
      missing.push(`${what} is invalid`);
      return;
    }
    for (const m of parsed.data.metrics) metrics.set(m.name, m);
  });
  for (const m of a?.metrics ?? []) metrics.set(m.name, m);
  // The spec's Prometheus address is the default of every Prometheus metric it uses, templates' included.
  const address = a?.prometheus?.address;
  if (address) {
    for (const [name, m] of metrics) if (m.prometheus && !m.prometheus.address) metrics.set(name, { ...m, prometheus: { ...m.prometheus, address } });
  }
  if (missing.length === 0) {
    const unknown = new Map<string, string[]>();
    for (const [name, field] of namesUsed(spec)) if (!metrics.has(name)) unknown.set(field, [...(unknown.get(field) ?? []), name]);
    for (const [field, names] of unknown) {
      problems.push({ reason: 'AnalysisMetricUnknown', message: `${field}: no metric ${names.join(', ')} in spec.analysis.metrics or the referenced templates` });
    }
  }
  return { metrics, problems, ...(missing.length > 0 ? { unresolved: missing.join('; ') } : {}) };
}
