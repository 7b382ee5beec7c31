// Parts of a Microservice's page: the action buttons, the analysis with its chart, the kept revisions.
import { html } from 'htm/preact';
import type { Detail } from '../../view/microservice.js';
import type { PageData } from '../page-data.js';

type Act = (action: string, label: string, revision?: string) => Promise<void>;

const BUTTONS: Array<[action: string, label: string]> = [
  ['promote', 'Promote'], ['promote-full', 'Promote fully'], ['abort', 'Abort'], ['retry', 'Retry'],
  ['pause', 'Pause'], ['resume', 'Resume'], ['restart', 'Restart'], ['undo', 'Undo'],
];

/** Every action, enabled only when the API server says the user may patch this Microservice; else the reason, shown. */
export function ActionBar({ data, act }: { data: PageData; act: Act }) {
  const denied = data.access.allowed ? undefined : data.access.reason ?? 'not allowed';
  return html`
    <div class="actions" id="actions">
      ${BUTTONS.map(([action, label]) => html`<button data-action=${action} disabled=${!!denied} title=${denied ?? `kubectl coxswain ${label.toLowerCase()}`}
        onClick=${() => act(action, label)}>${label}</button>`)}
    </div>
    ${denied ? html`<p class="reason" id="denied">${denied}</p>` : ''}`;
}

type Run = Detail['analysis'][number];

/** A metric's last values as a line per side (candidate solid, stable dashed); nothing when not numeric. */
function Chart({ metric }: { metric: Run['metrics'][number] }) {
  const points = metric.last.map((m) => ({ c: Number(m.value), s: m.stableValue === undefined ? NaN : Number(m.stableValue) }));
  const all = points.flatMap((p) => [p.c, p.s]).filter((v) => Number.isFinite(v));
  if (all.length < 2) return '';
  const [lo, hi] = [Math.min(...all), Math.max(...all)];
  const w = 160, h = 36, span = hi - lo || 1;
  const line = (vals: number[]) => vals.map((v, i) => (Number.isFinite(v) ? `${(i / Math.max(1, vals.length - 1)) * w},${h - 2 - ((v - lo) / span) * (h - 4)}` : '')).filter(Boolean).join(' ');
  return html`<svg class="chart" width=${w} height=${h} viewBox=${`0 0 ${w} ${h}`} role="img" aria-label=${`${metric.name}: ${lo} to ${hi}`}>
    <polyline class="stable" points=${line(points.map((p) => p.s))} /><polyline class="candidate" points=${line(points.map((p) => p.c))} /></svg>`;
}

export function Analysis({ runs }: { runs: Run[] }) {
  if (runs.length === 0) return '';
  return html`<h2>Analysis</h2>${runs.map((run) => html`
    <p><b>${run.id}</b> (revision <span class="mono">${run.revision}</span>): ${run.phase}</p>
    <table><thead><tr><th>Metric</th><th>Phase</th><th>Threshold</th><th>Passed</th><th>Failed</th><th>No data</th><th>Errors</th><th>Last (candidate / stable)</th><th>Over the run</th></tr></thead>
    <tbody>${run.metrics.map((m) => html`<tr><td>${m.name}</td><td>${m.phase}</td><td class="mono">${m.threshold ?? '-'}</td><td>${m.passed}</td><td>${m.failed}</td><td>${m.inconclusive}</td><td>${m.errors}</td>
      <td class="mono">${m.last.slice(-3).map((x) => `${x.value ?? x.phase}${x.stableValue !== undefined ? ` / ${x.stableValue}` : ''}`).join(', ') || '-'}</td><td><${Chart} metric=${m} /></td></tr>`)}</tbody></table>`)}`;
}

export function Revisions({ data, act }: { data: PageData; act: Act }) {
  if ('error' in data.revisions) return html`<h2>Kept revisions</h2><p class="reason">${data.revisions.error}</p>`;
  const denied = data.access.allowed ? undefined : data.access.reason;
  return html`<h2>Kept revisions</h2>
    <table id="revisions"><thead><tr><th>Revision</th><th>Hash</th><th>Image</th><th>Role</th><th></th></tr></thead>
    <tbody>${data.revisions.items.map((r) => html`<tr><td>${r.revision}</td><td class="mono">${r.hash}</td><td class="mono">${r.image}</td><td>${r.roles.join(', ')}</td>
      <td><button disabled=${!!denied || r.roles.includes('desired')} title=${denied ?? `kubectl coxswain undo --to-revision ${r.revision}`} onClick=${() => act('undo', 'Undo to here', r.hash)}>Undo to here</button></td></tr>`)}</tbody></table>`;
}
