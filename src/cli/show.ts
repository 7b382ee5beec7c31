// What `kubectl coxswain list` and `get` print: pure text from the view model in src/view, which
// the dashboard draws too.
import type { MicroserviceObject, MicroserviceStatus, ObjectMeta } from '../api/schema.js';
import { LABEL_REVISION, SLOTS } from '../api/names.js';
import { runLabel } from '../analysis/evaluate.js';
import { detail, summarize } from '../view/microservice.js';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('').trimEnd()).join('\n') + '\n';
}

export function formatList(items: MicroserviceObject[], withNamespace: boolean): string {
  if (items.length === 0) return 'No Microservices found.\n';
  const rows = [[...(withNamespace ? ['NAMESPACE'] : []), 'NAME', 'STRATEGY', 'PHASE', 'READY', 'STEP', 'WEIGHT', 'IMAGE']];
  for (const s of items.map(summarize)) {
    rows.push([
      ...(withNamespace ? [s.namespace] : []),
      s.name,
      s.strategy,
      s.phase,
      s.ready ?? '-',
      s.step !== undefined ? `${s.step}/${s.steps}` : '-',
      s.weight !== undefined ? `${s.weight}%` : '-',
      s.image,
    ]);
  }
  return table(rows);
}

/** A readable tree of one Microservice: slots, revisions, images, pods, step and weight, and the plan. */
export function formatTree(obj: MicroserviceObject): string {
  const d = detail(obj);
  const lines: string[] = [];
  lines.push(`Name:        ${d.name}`, `Namespace:   ${obj.metadata.namespace}`);
  const progress = d.step !== undefined ? ` (step ${d.step}/${d.steps}, weight ${d.weight ?? 0}%, desired ${d.desiredWeight ?? 0}%)` : '';
  lines.push(`Strategy:    ${d.strategy}${progress}`);
  lines.push(`Phase:       ${d.phase}${d.rolloutMessage ? ` - ${d.rolloutMessage}` : ''}`);
  lines.push(`Ready:       ${d.ready ?? '-'}`);
  lines.push(`Revisions:   stable ${d.stableRevision ?? '-'}, desired ${d.desiredRevision ?? '-'}${d.abortedRevision ? `, aborted ${d.abortedRevision}` : ''}`);
  if (d.stalled) lines.push(`Stalled:     ${d.stalled.reason}: ${d.stalled.message}`);
  lines.push('Slots:');
  d.slots.forEach((s, i) => {
    const branch = i === d.slots.length - 1 ? '└──' : '├──';
    lines.push(`${branch} ${s.slot} (${s.role})  revision ${s.revision ?? '-'}  ${s.image ?? ''}  ${s.readyReplicas}/${s.replicas} ready`);
  });
  lines.push(...formatRoute(d.traffic));
  if (d.adoption) lines.push(`Adoption:    ${d.adoption}`);
  if (d.plan) {
    const { routed } = d.plan;
    lines.push(`Plan at ${d.plan.replicas} replicas${routed ? ', weights through the route' : ''}:`);
    const rows = [['  STEP', 'WHAT', 'WEIGHT', 'STABLE', 'CANDIDATE', ...(routed ? ['HEADER ROUTES'] : [])]];
    for (const p of d.plan.rows) {
      rows.push([`${p.current ? '>' : ' '} ${p.step}`, p.what, `${p.weight}%`, String(p.stable), String(p.candidate), ...(routed ? [p.headers.join(', ') || '-'] : [])]);
    }
    lines.push(table(rows).trimEnd());
  }
  const a = d.lastAction;
  lines.push(...formatAnalysis(obj.status ?? {}));
  if (a) lines.push(`Last action: ${a.action} (${a.ok ? 'done' : 'refused'} at ${a.at}): ${a.message}`);
  return lines.join('\n') + '\n';
}

const slotWeights = (w: { blue?: number; green?: number } | undefined) => SLOTS.map((s) => `${s} ${w?.[s] ?? 0}%`).join(' / ');

/** The route's lines: its weights as applied, whether every parent accepted them, and what it serves meanwhile. */
export function formatRoute(t: MicroserviceStatus['traffic']): string[] {
  if (!t) return [];
  const state = t.accepted === 'True' ? 'accepted' : t.accepted === 'False' ? 'refused' : 'not yet accepted';
  const headers = t.headerRoutes?.length ? `, header routes ${t.headerRoutes.join(', ')} to the candidate` : '';
  const out = [`Route:       HTTPRoute ${t.route ?? '-'}: ${t.weights ? slotWeights(t.weights) : 'not created yet'}${headers} (${state})`];
  if (t.accepted !== 'True') {
    if (t.acceptedWeights) out.push(`             serving ${slotWeights(t.acceptedWeights)}${t.acceptedHeaderRoutes?.length ? `, header routes ${t.acceptedHeaderRoutes.join(', ')}` : ''}, as last accepted`);
    if (t.message) out.push(`             ${t.message}${t.pendingSince ? ` (waiting since ${t.pendingSince})` : ''}`);
  }
  return out;
}

/**
 * A kept revision: an apps/v1 ControllerRevision `<name>-<revision>` owned by the Microservice,
 * `revision` its sequence number, `data` what the slot is rebuilt from.
 */
export interface KeptRevision {
  metadata: ObjectMeta;
  revision: number;
  data?: { image?: string; template?: { spec?: { containers?: Array<{ image?: string }> } }; config?: { name?: string }; ports?: unknown[] };
}

/** The content hash a kept revision holds: its coxswain.dev/revision label, else its name's suffix. */
export function revisionHash(cr: KeptRevision, name: string): string {
  return cr.metadata.labels?.[LABEL_REVISION] ?? cr.metadata.name.slice(name.length + 1);
}

/** The Microservice's own kept revisions (its controller reference, not just its labels), oldest first. */
export function keptRevisions(items: KeptRevision[], ms: MicroserviceObject): KeptRevision[] {
  const ours = items.filter((cr) => cr.metadata.ownerReferences?.some((o) => o.controller && o.kind === ms.kind && o.uid === ms.metadata.uid));
  return ours.sort((a, b) => a.revision - b.revision);
}

/** The kept revision `rev` names: its sequence number, its hash, or a prefix of exactly one hash. */
export function findRevision(revisions: KeptRevision[], rev: string, name: string): KeptRevision | undefined {
  const bySequence = /^[0-9]+$/.test(rev) ? revisions.find((cr) => cr.revision === Number(rev)) : undefined;
  const byHash = revisions.find((cr) => revisionHash(cr, name) === rev);
  const byPrefix = revisions.filter((cr) => revisionHash(cr, name).startsWith(rev));
  return bySequence ?? byHash ?? (byPrefix.length === 1 ? byPrefix[0] : undefined);
}

/** A kept revision as history prints it and the dashboard lists it. */
export interface RevisionRow {
  revision: number;
  hash: string;
  image: string;
  created: string;
  roles: Array<'stable' | 'desired' | 'aborted'>;
}

export function revisionRows(obj: MicroserviceObject, revisions: KeptRevision[]): RevisionRow[] {
  const name = obj.metadata.name;
  const st = obj.status ?? {};
  return revisions.map((cr) => {
    const hash = revisionHash(cr, name);
    const roles = [
      ...(hash === st.stableRevision ? ['stable' as const] : []),
      ...(hash === st.desiredRevision ? ['desired' as const] : []),
      ...(hash === st.rollout?.abortedRevision ? ['aborted' as const] : []),
    ];
    const image = cr.data?.image ?? cr.data?.template?.spec?.containers?.[0]?.image ?? '';
    return { revision: cr.revision, hash, image, created: cr.metadata.creationTimestamp ?? '', roles };
  });
}

/** `kubectl coxswain history`: the kept revisions, and which one is stable, desired or aborted. */
export function formatHistory(obj: MicroserviceObject, revisions: KeptRevision[]): string {
  const name = obj.metadata.name;
  if (revisions.length === 0) return `${name} has no kept revisions yet.\n`;
  const rows = [['REVISION', 'HASH', 'IMAGE', 'CREATED', 'ROLE']];
  for (const r of revisionRows(obj, revisions)) rows.push([String(r.revision), r.hash, r.image, r.created, r.roles.join(', ')]);
  return table(rows);
}

/** The analyses under way (or the one that aborted): per metric its phase, threshold, counts, and last values (candidate, stable). */
export function formatAnalysis(st: NonNullable<MicroserviceObject['status']>): string[] {
  const runs = [st.rollout?.analysis?.step, st.rollout?.analysis?.background].filter((x) => x !== undefined);
  if (runs.length === 0) return [];
  const lines = ['Analysis:'];
  for (const run of runs) {
    lines.push(`  ${runLabel(run.id)} (revision ${run.revision}): ${run.phase}`);
    const rows = [['    METRIC', 'PHASE', 'THRESHOLD', 'PASSED', 'FAILED', 'NO DATA', 'ERRORS', 'LAST (candidate / stable)']];
    for (const m of run.metrics) {
      const last = m.last.slice(-3).map((x) => `${x.value ?? x.phase}${x.stableValue !== undefined ? ` / ${x.stableValue}` : ''}`).join(', ');
      rows.push([`    ${m.name}`, m.phase, m.threshold ?? '-', String(m.passed), String(m.failed), String(m.inconclusive), String(m.errors), last || '-']);
    }
    lines.push(table(rows).trimEnd());
    const holding = run.metrics.map((m) => m.message).filter((msg): msg is string => !!msg && run.phase === 'Running');
    for (const msg of holding) lines.push(`    ${msg}`);
  }
  return lines;
}
