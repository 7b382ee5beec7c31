// A taken-over Service another field manager keeps rewriting: who rewrote it (managedFields), put
// back with a doubling wait, reported meanwhile, and the report and the record gone once it stops.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/object.js';
import { guardService, MAX_WAIT_MS, rewriter, type ServiceRewrites, waitAfter } from './rewrites.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);
const iso = (s: number) => at(s).toISOString();

interface Entry { manager: string; time?: string; subresource?: string }
const entry = (manager: string, s: number | undefined, subresource?: string): Entry => ({ manager, ...(s === undefined ? {} : { time: iso(s) }), ...(subresource ? { subresource } : {}) });
const service = (...managedFields: Entry[]): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'orders', namespace: 'shop', managedFields } as never, spec: { selector: { app: 'orders' } } });

describe('rewriter', () => {
  it('names the manager that wrote the Service after Coxswain, the latest of them', () => {
    expect(rewriter(service(entry('helm', -600), entry('coxswain', -60), entry('kubectl-edit', -30), entry('argocd-controller', -10)))).toBe('argocd-controller');
    // Within the same second as Coxswain's write: managedFields keep seconds only, so it counts as after.
    expect(rewriter(service(entry('coxswain', -60), entry('argocd-controller', -60)))).toBe('argocd-controller');
  });

  it('names none when Coxswain wrote last, never wrote it (the first takeover), or only the status changed', () => {
    expect(rewriter(service(entry('helm', -600), entry('coxswain', -60)))).toBeUndefined();
    expect(rewriter(service(entry('helm', -600)))).toBeUndefined();
    expect(rewriter(service(entry('coxswain', -60), entry('cloud-controller-manager', -5, 'status')))).toBeUndefined();
  });
});

describe('guardService', () => {
  const rewritten = service(entry('helm', -600), entry('coxswain', -60), entry('argocd-controller', -1));
  const record = (count: number, s: number, manager = 'argocd-controller'): ServiceRewrites => ({ manager, count, lastPutBack: iso(s) });

  it('puts a first rewrite back at once, without a report (a one-off edit is drift like any other)', () => {
    const g = guardService({ service: rewritten, wanted: true, previous: undefined, now: at(0) });
    expect(g).toEqual({ write: true, record: record(1, 0), requeueAfterMs: 30_000 });
  });

  it('holds back while the wait runs, says who and until when, and comes back when it ends', () => {
    const g = guardService({ service: rewritten, wanted: true, previous: record(1, -10), now: at(0) });
    expect([g.write, g.record, g.requeueAfterMs]).toEqual([false, record(1, -10), 20_000]);
    expect(g.problem?.reason).toBe('AdoptedServiceRewritten');
    expect(g.problem?.message).toContain('service/orders was rewritten by argocd-controller after Coxswain took it over (put back 1 time)');
    expect(g.problem?.message).toContain(`no sooner than ${iso(20)}`);
  });

  it('puts it back again once the wait is over, waiting twice as long after, and reports from then on', () => {
    const g = guardService({ service: rewritten, wanted: true, previous: record(1, -30), now: at(0) });
    expect([g.write, g.record, g.requeueAfterMs]).toEqual([true, record(2, 0), 30_000]);
    expect(g.problem?.message).toContain('(put back 2 times)');
    // The same message while the next wait runs, rewritten or not: no status write for each rewrite.
    const held = guardService({ service: rewritten, wanted: true, previous: g.record, now: at(5) });
    const quiet = guardService({ service: rewritten, wanted: false, previous: g.record, now: at(5) });
    expect([held.write, held.problem, quiet.write, quiet.problem]).toEqual([false, g.problem, true, g.problem]);
  });

  it('clears the report 30 s after a put-back that was not rewritten, and forgets after the longest wait', () => {
    const left = guardService({ service: rewritten, wanted: false, previous: record(3, -31), now: at(0) });
    expect([left.write, left.problem, left.record, left.requeueAfterMs]).toEqual([true, undefined, record(3, -31), MAX_WAIT_MS - 31_000]);
    // The wait still runs: rewritten again, it is held back (and reported) until 120 s after the last put-back.
    expect(guardService({ service: rewritten, wanted: true, previous: record(3, -31), now: at(0) })).toMatchObject({ write: false, requeueAfterMs: 89_000 });
    expect(guardService({ service: rewritten, wanted: false, previous: record(3, -600), now: at(0) })).toEqual({ write: true });
  });

  it('takes a last put-back whose time does not parse as long ago, and never asks for a pass at no time', () => {
    const g = guardService({ service: rewritten, wanted: true, previous: { manager: 'helm', count: 4, lastPutBack: 'yesterday' }, now: at(0) });
    expect(g).toMatchObject({ write: true, record: record(5, 0), requeueAfterMs: 30_000 });
    expect(guardService({ service: rewritten, wanted: false, previous: { manager: 'helm', count: 4, lastPutBack: 'yesterday' }, now: at(0) })).toEqual({ write: true });
  });

  it('writes a change of Coxswain\'s own (no one wrote after it) as usual', () => {
    const ours = service(entry('argocd-controller', -100), entry('coxswain', -60));
    expect(guardService({ service: ours, wanted: true, previous: undefined, now: at(0) })).toEqual({ write: true });
  });

  it('waits 30 s, 1, 2, 4, 8 minutes, then every 10', () => {
    expect([1, 2, 3, 4, 5, 6, 9].map((n) => waitAfter(n) / 1000)).toEqual([30, 60, 120, 240, 480, 600, 600]);
  });

  it('against a manager that rewrites the Service within a second of every put-back: at most 2 writes in 60 s, 10 in an hour', () => {
    // Each second the shell reconciles; the other manager answers every put-back a second later.
    let previous: ServiceRewrites | undefined;
    let lastOurs = -3600;
    let lastTheirs = -3599;
    const writes: number[] = [];
    for (let s = 0; s < 3600; s++) {
      const svc = service(entry('coxswain', lastOurs), ...(lastTheirs >= lastOurs ? [entry('argocd-controller', lastTheirs)] : []));
      const g = guardService({ service: svc, wanted: lastTheirs >= lastOurs, previous, now: at(s) });
      previous = g.record;
      if (g.write && lastTheirs >= lastOurs) { writes.push(s); lastOurs = s; }
      if (lastOurs === s - 1) lastTheirs = s; // a second later, rewritten again
    }
    expect(writes.slice(0, 4)).toEqual([0, 30, 90, 210]);
    const inAnyMinute = Math.max(...writes.map((w) => writes.filter((x) => x >= w && x < w + 60).length));
    expect([inAnyMinute, writes.length]).toEqual([2, 10]);
  });
});
