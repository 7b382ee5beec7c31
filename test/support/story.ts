// A simulated cluster told as a story: one line per move, saying what the cluster then looked like
// (slots, revisions, Ready pods, endpoints, status), with revisions named by what they run.
import { LABEL_REVISION, LABEL_SLOT, SLOTS } from '../../src/api/names.js';
import type { KubeObject } from '../../src/kube/object.js';
import { isTerminating, podReady, type World } from './world.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type J = any;

/** What a revision's pods run, as the test rendered it. */
export interface RevisionContent {
  label: string;
  image: string;
  ports: Array<{ name?: string; containerPort: number }>;
}

/** Revisions by hash: a readable name, and what their pods should run (to tell an edited pod). */
export class RevisionBook {
  private readonly byHash = new Map<string, RevisionContent>();

  add(revision: string, content: RevisionContent): void {
    if (!this.byHash.has(revision)) this.byHash.set(revision, content);
  }

  get(revision: string | undefined): RevisionContent | undefined {
    return revision ? this.byHash.get(revision) : undefined;
  }

  name(revision: string | undefined): string {
    if (!revision) return '-';
    return this.byHash.get(revision)?.label ?? revision.slice(0, 6);
  }

  /**
   * The revision a pod really runs: its label, unless someone changed its template behind
   * Coxswain's back (kubectl set image), when it runs something no revision is: `<label>~edited`.
   */
  truth(pod: KubeObject): string {
    const label = pod.metadata.labels?.[LABEL_REVISION] ?? '?';
    const want = this.byHash.get(label);
    if (!want) return label;
    const c = (pod as J).spec?.containers?.[0] ?? {};
    const ports = (c.ports ?? []).map((p: J) => `${p.name ?? ''}:${p.containerPort}`).join(',');
    const wantPorts = want.ports.map((p) => `${p.name ?? ''}:${p.containerPort}`).join(',');
    return c.image === want.image && ports === wantPorts ? label : `${label}~edited`;
  }

  truthName(rev: string): string {
    const edited = rev.endsWith('~edited');
    const base = edited ? rev.slice(0, -'~edited'.length) : rev;
    return `${this.name(base)}${edited ? '~edited' : ''}`;
  }
}

const tagOf = (image: string | undefined) => (image ? image.slice(image.lastIndexOf(':') + 1) : '?');

/** Counts as "v1 2/3": Ready/all non-terminating pods per revision they really run. */
function podCounts(pods: KubeObject[], book: RevisionBook): string {
  const by = new Map<string, { ready: number; all: number }>();
  for (const p of pods) {
    if (isTerminating(p)) continue;
    const r = book.truthName(book.truth(p));
    const e = by.get(r) ?? { ready: 0, all: 0 };
    e.all++;
    if (podReady(p)) e.ready++;
    by.set(r, e);
  }
  return [...by].map(([r, e]) => `${r} ${e.ready}/${e.all}`).join(', ') || 'no pods';
}

/** One line: the slots, `<name>`'s endpoints, and the Microservice's status. */
export function snapshot(w: World, book: RevisionBook): string {
  const ms = w.microservice();
  const status = ms?.status ?? {};
  const pods = w.pods();
  const slots = SLOTS.map((slot) => {
    const d: J = w.store.get('Deployment', `${w.name}-${slot}`);
    const mark = status.activeSlot === slot ? '*' : '';
    if (!d) return `${slot}${mark}: none`;
    const t = d.spec.template;
    const rev = t.metadata?.labels?.[LABEL_REVISION];
    const named = book.name(rev);
    const image = tagOf(t.spec?.containers?.[0]?.image);
    const edited = book.get(rev) && book.get(rev)!.image !== t.spec?.containers?.[0]?.image ? `(image ${image})` : '';
    const terminating = pods.filter((p) => p.metadata.labels?.[LABEL_SLOT] === slot && isTerminating(p)).length;
    return `${slot}${mark}: ${named}${edited}×${d.spec.replicas}${d.spec.paused ? ' paused' : ''} [${podCounts(pods.filter((p) => p.metadata.labels?.[LABEL_SLOT] === slot), book)}${terminating ? `, ${terminating} terminating` : ''}]`;
  });
  const svc: J = w.store.get('Service', w.name);
  let service = `${w.name}: none`;
  if (svc) {
    const sel = svc.spec.selector?.[LABEL_SLOT] ?? 'both';
    const ports = (svc.spec.ports ?? []).map((p: J) => `${p.port}->${p.targetPort}`).join(',');
    const serving = w.servingPods(w.name);
    const by = new Map<string, number>();
    for (const p of serving) by.set(book.truthName(book.truth(p)), (by.get(book.truthName(book.truth(p))) ?? 0) + 1);
    service = `${w.name}→${sel} ${ports}: ${serving.length} serving${serving.length ? ` (${[...by].map(([r, n]) => `${r} ${n}`).join(', ')})` : ''}`;
  }
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  const r = status.rollout;
  const step = r?.step !== undefined ? ` step ${r.step}/${r.steps}` : '';
  const flags = [
    status.stableRevision ? `stable ${book.name(status.stableRevision)}` : '',
    r?.abortedRevision ? `aborted ${book.name(r.abortedRevision)}` : '',
    r?.paused ? 'pause-action' : '',
  ].filter(Boolean).join(', ');
  const message = (ready?.message ?? '').replace(/revision ([0-9a-f]{10})/g, (_m, h: string) => `revision ${book.name(h)}`);
  return `${slots.join(' | ')} | ${service} | ${status.phase ?? 'no status'}${step}${flags ? ` (${flags})` : ''}: ${ready?.reason ?? ''} "${message.slice(0, 140)}"`;
}

/** `+ 1m05s` since the story began. */
export function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  const m = Math.floor(s / 60);
  return `+${m > 0 ? `${m}m` : ''}${String(s % 60).padStart(m > 0 ? 2 : 1, '0')}s`.padStart(8);
}
