// The dashboard page: the overview of every Microservice the server watches, kept current by its
// event stream, and one Microservice's page with the actions the user may take. Preact with htm
// (tagged templates, no JSX build step), bundled by esbuild at `npm run build`.
import { html, render } from 'htm/preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Summary } from '../../view/microservice.js';
import type { Batch } from '../journal.js';
import type { PageData } from '../page-data.js';
import { REQUEST_HEADER } from '../protocol.js';
import { byUrgency } from '../../view/order.js';
import { ActionBar, Analysis, Revisions } from './parts.js';

const keyOf = (s: { namespace: string; name: string }) => `${s.namespace}/${s.name}`;
/** Rows drawn before "Show all": what needs a person is on top, and a page of 1,000 rows paints slowly. */
const FIRST_ROWS = 200;

/** "3m", "2h", "4d": how long since `iso`. */
export function age(iso: string | undefined, now: number): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m` : s < 86400 ? `${Math.floor(s / 3600)}h` : `${Math.floor(s / 86400)}d`;
}

/** The server's stream, one per page: every Microservice's summary, changes applied as they come. */
function useLive(): { items: Map<string, Summary>; connected: boolean; seq: number } {
  const [state, setState] = useState({ items: new Map<string, Summary>(), connected: false, seq: 0 });
  useEffect(() => {
    const source = new EventSource('/api/stream');
    const apply = (e: MessageEvent<string>) => {
      const batch = JSON.parse(e.data) as Batch<Summary>;
      setState((prev) => {
        const items = batch.snapshot ? new Map<string, Summary>() : new Map(prev.items);
        for (const s of batch.upserts) items.set(keyOf(s), s);
        for (const k of batch.deletes) items.delete(k);
        return { items, connected: true, seq: batch.seq };
      });
    };
    source.addEventListener('snapshot', apply);
    source.addEventListener('change', apply);
    source.onerror = () => setState((prev) => ({ ...prev, connected: false }));
    return () => source.close();
  }, []);
  return state;
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function Overview({ items }: { items: Map<string, Summary> }) {
  const [query, setQuery] = useState('');
  const [attention, setAttention] = useState(false);
  const [all, setAll] = useState(false);
  const now = Date.now();
  const rows = useMemo(() => {
    const q = query.trim().toLowerCase();
    return [...items.values()]
      .filter((s) => (!attention || s.attention) && (!q || `${s.namespace}/${s.name} ${s.image} ${s.phase}`.toLowerCase().includes(q)))
      .sort(byUrgency);
  }, [items, query, attention]);
  const needing = [...items.values()].filter((s) => s.attention).length;
  return html`
    <div class="controls">
      <input type="search" placeholder="Search name, namespace, image" value=${query} onInput=${(e: Event) => setQuery((e.target as HTMLInputElement).value)} />
      <label><input type="checkbox" checked=${attention} onChange=${(e: Event) => setAttention((e.target as HTMLInputElement).checked)} /> Needs attention (${needing})</label>
      <span class="muted">${rows.length} of ${items.size}</span>
    </div>
    <table id="overview">
      <thead><tr><th>Namespace</th><th>Name</th><th>Strategy</th><th>Phase</th><th>Step</th><th>Weight (served / desired)</th><th>Stable image</th><th>Candidate image</th><th>For</th></tr></thead>
      <tbody>${(all ? rows : rows.slice(0, FIRST_ROWS)).map((s) => html`
        <tr key=${keyOf(s)} class=${s.attention ? `attention-${s.attention}` : ''} data-key=${keyOf(s)}>
          <td>${s.namespace}</td>
          <td><a href=${`#/${s.namespace}/${s.name}`}>${s.name}</a></td>
          <td>${s.strategy}</td>
          <td><span class=${`phase phase-${s.phase}`}>${s.phase}</span>${s.reason && s.reason !== s.phase ? html` <span class="muted">${s.reason}</span>` : ''}</td>
          <td class="step">${s.step !== undefined ? `${s.step}/${s.steps}` : '-'}</td>
          <td>${s.weight !== undefined ? `${s.weight}% / ${s.desiredWeight ?? 0}%` : '-'}</td>
          <td class="mono">${s.stableImage ?? '-'}</td>
          <td class="mono">${s.candidateImage ?? '-'}</td>
          <td title=${s.message ?? ''}>${age(s.since, now)}</td>
        </tr>`)}
      </tbody>
    </table>
    ${!all && rows.length > FIRST_ROWS ? html`<p><button id="show-all" onClick=${() => setAll(true)}>Show all ${rows.length}</button></p>` : ''}`;
}

function Detail({ namespace, name, summary }: { namespace: string; name: string; summary: Summary | undefined }) {
  const [data, setData] = useState<PageData | { error: string } | undefined>(undefined);
  const [answer, setAnswer] = useState<{ ok: boolean; message: string; command?: string } | undefined>(undefined);
  const load = () => fetch(`/api/microservices/${namespace}/${name}`).then((r) => r.json()).then(setData, (e: unknown) => setData({ error: String(e) }));
  // Each change the stream brings of this Microservice reloads its page data (pods, Events, revisions with it).
  useEffect(() => { void load(); }, [namespace, name, JSON.stringify(summary)]);
  // And each change of its pods, kept revisions or Events, which the server watches while this page is open.
  useEffect(() => {
    const source = new EventSource(`/api/stream?follow=${namespace}/${name}`);
    source.addEventListener('touch', () => void load());
    return () => source.close();
  }, [namespace, name]);
  const act = async (action: string, label: string, revision?: string) => {
    const target = revision ?? (data && 'detail' in data ? data.detail.desiredRevision : undefined) ?? '-';
    if (!confirm(`${label} ${name} in ${namespace} (revision ${target})?`)) return;
    setAnswer({ ok: true, message: `${label}: waiting for the operator's answer…` });
    const res = await fetch(`/api/microservices/${namespace}/${name}/action`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', [REQUEST_HEADER]: '1' }, body: JSON.stringify({ action, ...(revision ? { revision } : {}) }),
    });
    const body = (await res.json()) as { ok?: boolean; message?: string; error?: string; command?: string };
    setAnswer({ ok: res.ok && body.ok !== false, message: body.message ?? body.error ?? `HTTP ${res.status}`, ...(body.command ? { command: body.command } : {}) });
    void load();
  };
  if (!data) return html`<p class="muted">Loading ${namespace}/${name}…</p>`;
  if ('error' in data) return html`<p><a href="#">← all</a></p><p class="reason">${data.error}</p>`;
  const d = data.detail;
  return html`
    <p><a href="#">← all Microservices</a></p>
    <h2 id="title">${d.namespace}/${d.name} <span class=${`phase phase-${d.phase}`}>${d.phase}</span></h2>
    <div class="grid">
      <span class="muted">Strategy</span><span>${d.strategy}${d.step !== undefined ? html` — step <b class="step">${d.step}/${d.steps}</b>, weight ${d.weight ?? 0}% (desired ${d.desiredWeight ?? 0}%)` : ''}</span>
      <span class="muted">Why</span><span>${d.rolloutMessage ?? d.message ?? '-'}</span>
      <span class="muted">Ready</span><span>${d.ready ?? '-'}</span>
      <span class="muted">Revisions</span><span class="mono">stable ${d.stableRevision ?? '-'}, desired ${d.desiredRevision ?? '-'}${d.abortedRevision ? `, aborted ${d.abortedRevision}` : ''}</span>
      ${d.stalled ? html`<span class="muted">Stalled</span><span class="reason">${d.stalled.reason}: ${d.stalled.message}</span>` : ''}
      ${d.adoption ? html`<span class="muted">Adoption</span><span id="adoption">${d.adoption}</span>` : ''}
    </div>
    <${ActionBar} data=${data} act=${act} />
    ${answer ? html`<div class=${`answer ${answer.ok ? 'ok' : 'refused'}`} id="answer">${answer.message}${answer.command ? html`<div class="muted mono">Same as: ${answer.command}</div>` : ''}</div>` : ''}
    ${d.plan ? html`
      <h2>Plan at ${d.plan.replicas} replicas${d.plan.routed ? ', weights through the route' : ''}</h2>
      <table id="plan"><thead><tr><th>Step</th><th>What</th><th>Weight</th><th>Stable</th><th>Candidate</th>${d.plan.routed ? html`<th>Header routes</th>` : ''}</tr></thead>
      <tbody>${d.plan.rows.map((p) => html`<tr class=${p.current ? 'current' : ''}><td>${p.current ? '▶ ' : ''}${p.step}</td><td>${p.what}</td><td>${p.weight}%</td><td>${p.stable}</td><td>${p.candidate}</td>${d.plan!.routed ? html`<td>${p.headers.join(', ') || '-'}</td>` : ''}</tr>`)}</tbody></table>` : ''}
    <h2>Slots</h2>
    <table><thead><tr><th>Slot</th><th>Role</th><th>Revision</th><th>Image</th><th>Ready</th></tr></thead>
    <tbody>${d.slots.map((s) => html`<tr><td>${s.slot}</td><td>${s.role}</td><td class="mono">${s.revision ?? '-'}</td><td class="mono">${s.image ?? ''}</td><td>${s.readyReplicas}/${s.replicas}</td></tr>`)}</tbody></table>
    <h2>Pods</h2>
    ${'items' in data.pods ? html`<table id="pods"><thead><tr><th>Pod</th><th>Slot</th><th>Revision</th><th>Phase</th><th>Ready</th></tr></thead>
      <tbody>${data.pods.items.map((p) => html`<tr><td class="mono">${p.name}</td><td>${p.slot ?? '-'}</td><td class="mono">${p.revision ?? '-'}</td><td>${p.phase ?? '-'}</td><td>${p.ready ? 'yes' : 'no'}</td></tr>`)}</tbody></table>` : html`<p class="reason">${data.pods.error}</p>`}
    ${d.traffic ? html`<h2>Route</h2><div class="grid">
      <span class="muted">HTTPRoute</span><span class="mono">${d.traffic.route ?? '-'}</span>
      <span class="muted">Applied</span><span>blue ${d.traffic.weights?.blue ?? 0}% / green ${d.traffic.weights?.green ?? 0}%${d.traffic.headerRoutes?.length ? `, header routes ${d.traffic.headerRoutes.join(', ')}` : ''}</span>
      <span class="muted">Accepted</span><span>${d.traffic.accepted ?? 'not yet'}${d.traffic.acceptedWeights ? ` (serving blue ${d.traffic.acceptedWeights.blue ?? 0}% / green ${d.traffic.acceptedWeights.green ?? 0}%)` : ''}${d.traffic.message ? ` — ${d.traffic.message}` : ''}</span></div>` : ''}
    <${Analysis} runs=${d.analysis} />
    <${Revisions} data=${data} act=${act} />
    ${d.lastAction ? html`<h2>Last action</h2><p id="last-action">${d.lastAction.action} (${d.lastAction.ok ? 'done' : 'refused'} at ${d.lastAction.at}): ${d.lastAction.message}</p>` : ''}
    <h2>Conditions</h2>
    <table><thead><tr><th>Type</th><th>Status</th><th>Reason</th><th>Message</th><th>Since</th></tr></thead>
    <tbody>${d.conditions.map((c) => html`<tr><td>${c.type}</td><td>${c.status}</td><td>${c.reason}</td><td>${c.message}</td><td>${age(c.lastTransitionTime, Date.now())}</td></tr>`)}</tbody></table>
    <h2>Events</h2>
    ${'items' in data.events ? html`<table id="events"><thead><tr><th>Type</th><th>Reason</th><th>Message</th><th>Count</th><th>Last</th></tr></thead>
      <tbody>${data.events.items.map((e) => html`<tr><td>${e.type}</td><td>${e.reason}</td><td>${e.message}</td><td>${e.count}</td><td>${age(e.last, Date.now())}</td></tr>`)}</tbody></table>` : html`<p class="reason">${data.events.error}</p>`}`;
}

function App() {
  const live = useLive();
  const hash = useHash();
  const m = /^#\/([^/]+)\/([^/]+)$/.exec(hash);
  return html`
    <header><h1><a href="#">Coxswain</a></h1><span class=${`live ${live.connected ? 'on' : 'off'}`}>${live.connected ? 'live' : 'reconnecting…'}</span></header>
    ${m ? html`<${Detail} namespace=${m[1]} name=${m[2]} summary=${live.items.get(`${m[1]}/${m[2]}`)} />` : html`<${Overview} items=${live.items} />`}`;
}

const root = document.getElementById('app')!;
root.textContent = ''; // the "Loading…" shown until this script runs
render(html`<${App} />`, root);
