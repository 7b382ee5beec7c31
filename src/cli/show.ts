// What `kubectl coxswain list` and `get` print: pure text from Microservice objects.
import type { MicroserviceObject, MicroserviceStatus, ObjectMeta, Slot } from '../api/schema.js';
import { validateMicroservice } from '../api/validate.js';
import { LABEL_REVISION, SLOTS } from '../api/names.js';
import { stepPlan } from '../rollout/steps.js';
import { routeStepPlan } from '../rollout/traffic.js';
import { runLabel } from '../rollout/analysis.js';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('').trimEnd()).join('\n') + '\n';
}

const strategyOf = (obj: MicroserviceObject) => (obj.spec as { strategy?: { type?: string } } | undefined)?.strategy?.type ?? 'RollingUpdate';

export function formatList(items: MicroserviceObject[], withNamespace: boolean): string {
  if (items.length === 0) return 'No Microservices found.\n';
  const rows = [[...(withNamespace ? ['NAMESPACE'] : []), 'NAME', 'STRATEGY', 'PHASE', 'READY', 'STEP', 'WEIGHT', 'IMAGE']];
  for (const o of items) {
    const r = o.status?.rollout;
    rows.push([
      ...(withNamespace ? [o.metadata.namespace ?? ''] : []),
      o.metadata.name,
      strategyOf(o),
      o.status?.phase ?? 'Pending',
      o.status?.ready ?? '-',
      r?.step !== undefined ? `${r.step}/${r.steps}` : '-',
      r?.weight !== undefined ? `${r.weight}%` : '-',
      (o.spec as { image?: string } | undefined)?.image ?? '',
    ]);
  }
  return table(rows);
}

/** A readable tree of one Microservice: slots, revisions, images, pods, step and weight, and the plan. */
export function formatTree(obj: MicroserviceObject): string {
  const st = obj.status ?? {};
  const r = st.rollout;
  const lines: string[] = [];
  const cond = (type: string) => st.conditions?.find((c) => c.type === type);
  lines.push(`Name:        ${obj.metadata.name}`, `Namespace:   ${obj.metadata.namespace}`);
  const progress = r?.step !== undefined ? ` (step ${r.step}/${r.steps}, weight ${r.weight ?? 0}%, desired ${r.desiredWeight ?? 0}%)` : '';
  lines.push(`Strategy:    ${strategyOf(obj)}${progress}`);
  lines.push(`Phase:       ${st.phase ?? 'Pending'}${r?.message ? ` - ${r.message}` : ''}`);
  lines.push(`Ready:       ${st.ready ?? '-'}`);
  lines.push(`Revisions:   stable ${st.stableRevision ?? '-'}, desired ${st.desiredRevision ?? '-'}${r?.abortedRevision ? `, aborted ${r.abortedRevision}` : ''}`);
  const stalled = cond('Stalled');
  if (stalled?.status === 'True') lines.push(`Stalled:     ${stalled.reason}: ${stalled.message}`);
  lines.push('Slots:');
  const present = SLOTS.filter((s) => st.slots?.[s]);
  present.forEach((slot: Slot, i) => {
    const s = st.slots![slot]!;
    const roles = [slot === st.activeSlot ? 'stable' : r?.candidateSlot === slot ? 'candidate' : 'idle'];
    const branch = i === present.length - 1 ? '└──' : '├──';
    lines.push(`${branch} ${slot} (${roles.join(', ')})  revision ${s.revision ?? '-'}  ${s.image ?? ''}  ${s.readyReplicas ?? 0}/${s.replicas ?? 0} ready`);
  });
  lines.push(...formatRoute(st.traffic));
  const ad = st.adoption;
  if (ad) lines.push(`Adoption:    deployment/${ad.deployment} ${ad.phase}${ad.scaledTo !== undefined ? ` (at ${ad.scaledTo} of ${ad.replicas ?? '-'} replicas)` : ''}${ad.message ? ` - ${ad.message}` : ''}`);
  const valid = validateMicroservice(obj);
  if (valid.ok && valid.value.spec.strategy.type === 'Canary') {
    const routed = !!valid.value.spec.traffic?.gateway;
    lines.push(`Plan at ${valid.value.spec.replicas} replicas${routed ? ', weights through the route' : ''}:`);
    const rows = [['  STEP', 'WHAT', 'WEIGHT', 'STABLE', 'CANDIDATE', ...(routed ? ['HEADER ROUTES'] : [])]];
    const plan = routed ? routeStepPlan(valid.value.spec) : stepPlan(valid.value.spec).map((p) => ({ ...p, headers: [] as string[] }));
    for (const p of plan) {
      const here = r?.step === p.step && st.desiredRevision !== st.stableRevision ? '>' : ' ';
      rows.push([`${here} ${p.step}`, p.what, `${p.weight}%`, String(p.stable), String(p.candidate), ...(routed ? [p.headers.join(', ') || '-'] : [])]);
    }
    lines.push(table(rows).trimEnd());
  }
  const a = st.lastAction;
  lines.push(...formatAnalysis(st));
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

/** `kubectl coxswain history`: the kept revisions, and which one is stable, desired or aborted. */
export function formatHistory(obj: MicroserviceObject, revisions: KeptRevision[]): string {
  const name = obj.metadata.name;
  if (revisions.length === 0) return `${name} has no kept revisions yet.\n`;
  const st = obj.status ?? {};
  const rows = [['REVISION', 'HASH', 'IMAGE', 'CREATED', 'ROLE']];
  for (const cr of revisions) {
    const hash = revisionHash(cr, name);
    const roles = [
      ...(hash === st.stableRevision ? ['stable'] : []),
      ...(hash === st.desiredRevision ? ['desired'] : []),
      ...(hash === st.rollout?.abortedRevision ? ['aborted'] : []),
    ];
    const image = cr.data?.image ?? cr.data?.template?.spec?.containers?.[0]?.image ?? '';
    rows.push([String(cr.revision), hash, image, cr.metadata.creationTimestamp ?? '', roles.join(', ')]);
  }
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
