import { describe, expect, it } from 'vitest';
import { API_VERSION, KIND, type MicroserviceObject, type MicroserviceSpecInput, type MicroserviceStatus } from '../api/schema.js';
import { reconcileOnce } from '../../test/support/cluster.js';
import { microservice, readySlot } from '../../test/support/fixtures.js';
import { findRevision, formatAnalysis, formatHistory, formatList, formatTree, keptRevisions, type KeptRevision } from './show.js';

const OLD = 'rev-old';
const NEW = 'rev-new';
const IMAGE_OLD = 'registry.example/orders:1.0';
const IMAGE_NEW = 'registry.example/orders:1.1';
const STEPS = [{ setWeight: 25 }, { pause: { duration: '5m' } }, { setWeight: 50 }, { pause: {} }, { setWeight: 75 }];
const CANARY: MicroserviceSpecInput = { image: IMAGE_NEW, replicas: 4, strategy: { type: 'Canary', canary: { steps: STEPS } } };
const BLUE_GREEN: MicroserviceSpecInput = { image: IMAGE_NEW, replicas: 3, strategy: { type: 'BlueGreen', blueGreen: { previewReplicas: 1 } } };

function obj(spec: unknown, status?: MicroserviceStatus, name = 'orders', namespace = 'shop'): MicroserviceObject {
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec, ...(status ? { status } : {}) };
}

/** A canary at step 2 of 5 (setWeight 50): 1 of 2 candidate pods Ready, 3 stable. */
const CANARY_MID: MicroserviceStatus = {
  phase: 'Progressing', ready: '4/4', stableRevision: OLD, desiredRevision: NEW, activeSlot: 'blue',
  rollout: { candidateSlot: 'green', step: 2, steps: 5, weight: 25, desiredWeight: 50, message: 'step 2/5: weight 50%, 1/2 candidate pods ready' },
  slots: { blue: { revision: OLD, image: IMAGE_OLD, replicas: 3, readyReplicas: 3 }, green: { revision: NEW, image: IMAGE_NEW, replicas: 2, readyReplicas: 1 } },
};
const BLUE_GREEN_PREVIEW: MicroserviceStatus = {
  phase: 'Paused', ready: '4/3', stableRevision: OLD, desiredRevision: NEW, activeSlot: 'blue',
  rollout: { candidateSlot: 'green', step: 0, steps: 1, weight: 0, desiredWeight: 0, message: 'preview ready at orders-preview; waiting for promotion: kubectl coxswain promote orders' },
  slots: { blue: { revision: OLD, image: IMAGE_OLD, replicas: 3, readyReplicas: 3 }, green: { revision: NEW, image: IMAGE_NEW, replicas: 1, readyReplicas: 1 } },
};

/** The cells of a table printed with two or more spaces between columns. */
const cells = (line: string) => line.trim().split(/\s{2,}/);
const lines = (text: string) => text.split('\n');

describe('formatList', () => {
  it('says so when there is nothing to list', () => {
    expect(formatList([], false)).toBe('No Microservices found.\n');
  });

  it('prints strategy, phase, Ready, step and weight of a canary mid-rollout', () => {
    const [header, row, ...rest] = lines(formatList([obj(CANARY, CANARY_MID)], false));
    expect(cells(header!)).toEqual(['NAME', 'STRATEGY', 'PHASE', 'READY', 'STEP', 'WEIGHT', 'IMAGE']);
    expect(cells(row!)).toEqual(['orders', 'Canary', 'Progressing', '4/4', '2/5', '25%', IMAGE_NEW]);
    expect(rest).toEqual(['']); // one trailing newline
  });

  it('adds a NAMESPACE column first for all namespaces', () => {
    const [header, row] = lines(formatList([obj(CANARY, CANARY_MID)], true));
    expect(cells(header!).slice(0, 2)).toEqual(['NAMESPACE', 'NAME']);
    expect(cells(row!).slice(0, 2)).toEqual(['shop', 'orders']);
  });

  it('fills what is not known yet with Pending and dashes, and RollingUpdate when no strategy is set', () => {
    const items = [
      obj(CANARY, CANARY_MID),
      obj(BLUE_GREEN, BLUE_GREEN_PREVIEW, 'payments'),
      obj({ image: 'registry.example/cart:3' }, { phase: 'Healthy', ready: '1/1' }, 'cart'),
      obj({ image: 'registry.example/new:1' }, undefined, 'brand-new'),
    ];
    const rows = lines(formatList(items, false)).slice(1, -1).map(cells);
    expect(rows).toEqual([
      ['orders', 'Canary', 'Progressing', '4/4', '2/5', '25%', IMAGE_NEW],
      ['payments', 'BlueGreen', 'Paused', '4/3', '0/1', '0%', IMAGE_NEW],
      ['cart', 'RollingUpdate', 'Healthy', '1/1', '-', '-', 'registry.example/cart:3'],
      ['brand-new', 'RollingUpdate', 'Pending', '-', '-', '-', 'registry.example/new:1'],
    ]);
  });

  it('lines every column up under its header, with no trailing spaces', () => {
    const items = [obj(CANARY, CANARY_MID, 'a-rather-long-name'), obj({ image: 'x:1' }, undefined, 'b')];
    const [header, ...rows] = lines(formatList(items, true)).slice(0, -1);
    const headings = [...header!.matchAll(/\S+/g)];
    expect(headings.map((m) => m[0])).toEqual(['NAMESPACE', 'NAME', 'STRATEGY', 'PHASE', 'READY', 'STEP', 'WEIGHT', 'IMAGE']);
    const starts = headings.map((m) => m.index);
    for (const row of rows) {
      expect(row).toBe(row.trimEnd());
      const values = cells(row);
      starts.forEach((start, i) => {
        expect(row.slice(start).startsWith(values[i]!), `${values[i]} at column ${start} of ${JSON.stringify(row)}`).toBe(true);
        if (start > 0) expect(row[start - 1]).toBe(' ');
      });
    }
  });
});

describe('formatTree', () => {
  /** The plan rows under "Plan at N replicas:", as cells, the marker kept apart. */
  function planRows(text: string): Array<{ marker: string; cells: string[] }> {
    const all = lines(text);
    const start = all.findIndex((l) => l.startsWith('Plan at '));
    if (start < 0) return [];
    const rows: Array<{ marker: string; cells: string[] }> = [];
    for (const l of all.slice(start + 2)) {
      if (!/^[> ] \d/.test(l)) break;
      rows.push({ marker: l[0]!, cells: cells(l.slice(1)) });
    }
    return rows;
  }

  it('draws a canary mid-rollout: step and weight, slots with their roles, and the plan', () => {
    const out = formatTree(obj(CANARY, CANARY_MID));
    expect(lines(out).slice(0, 10)).toEqual([
      'Name:        orders',
      'Namespace:   shop',
      'Strategy:    Canary (step 2/5, weight 25%, desired 50%)',
      'Phase:       Progressing - step 2/5: weight 50%, 1/2 candidate pods ready',
      'Ready:       4/4',
      `Revisions:   stable ${OLD}, desired ${NEW}`,
      'Slots:',
      `├── blue (stable)  revision ${OLD}  ${IMAGE_OLD}  3/3 ready`,
      `└── green (candidate)  revision ${NEW}  ${IMAGE_NEW}  1/2 ready`,
      'Plan at 4 replicas:',
    ]);
    expect(out).not.toContain('Stalled:');
    expect(out).not.toContain('Last action:');
  });

  it('prints every step of the plan with its target split, and marks the current one with >', () => {
    expect(planRows(formatTree(obj(CANARY, CANARY_MID)))).toEqual([
      { marker: ' ', cells: ['0', 'setWeight 25', '25%', '3', '1'] },
      { marker: ' ', cells: ['1', 'pause 5m', '25%', '3', '1'] },
      { marker: '>', cells: ['2', 'setWeight 50', '50%', '2', '2'] },
      { marker: ' ', cells: ['3', 'pause until promoted', '50%', '2', '2'] },
      { marker: ' ', cells: ['4', 'setWeight 75', '75%', '1', '3'] },
      { marker: ' ', cells: ['5', 'promote', '100%', '0', '4'] },
    ]);
  });

  it('heads the plan with its columns', () => {
    const all = lines(formatTree(obj(CANARY, CANARY_MID)));
    const header = all[all.findIndex((l) => l.startsWith('Plan at ')) + 1]!;
    expect(cells(header)).toEqual(['STEP', 'WHAT', 'WEIGHT', 'STABLE', 'CANDIDATE']);
  });

  it('marks no step once the rollout is done', () => {
    const done: MicroserviceStatus = { phase: 'Healthy', ready: '4/4', stableRevision: NEW, desiredRevision: NEW, activeSlot: 'green',
      slots: { blue: { revision: OLD, image: IMAGE_OLD, replicas: 0, readyReplicas: 0 }, green: { revision: NEW, image: IMAGE_NEW, replicas: 4, readyReplicas: 4 } } };
    const out = formatTree(obj(CANARY, done));
    expect(planRows(out).map((r) => r.marker)).toEqual([' ', ' ', ' ', ' ', ' ', ' ']);
    expect(lines(out)[2]).toBe('Strategy:    Canary');
    expect(out).toContain(`├── blue (idle)  revision ${OLD}`);
    expect(out).toContain(`└── green (stable)  revision ${NEW}`);
  });

  it('marks the step the engine is at, from the status it writes', () => {
    const ms = microservice(CANARY, {}, { stableRevision: OLD, desiredRevision: NEW, activeSlot: 'blue',
      rollout: { candidateSlot: 'green', step: 3, steps: 5, stepStartedAt: '2024-05-01T12:00:00.000Z' } });
    const { status } = reconcileOnce({
      ms, desiredRevision: NEW, now: new Date('2024-05-01T12:10:00.000Z'),
      observed: { blue: readySlot(OLD, 2, { image: IMAGE_OLD }), green: readySlot(NEW, 2, { image: IMAGE_NEW }) },
    });
    const out = formatTree(obj(CANARY, status));
    expect(planRows(out).filter((r) => r.marker === '>')).toEqual([{ marker: '>', cells: ['3', 'pause until promoted', '50%', '2', '2'] }]);
    expect(lines(out)[3]).toBe('Phase:       Paused - waiting for promotion at step 3: kubectl coxswain promote orders');
  });

  it('draws blue-green with its preview, and no canary plan', () => {
    const out = formatTree(obj(BLUE_GREEN, BLUE_GREEN_PREVIEW));
    expect(lines(out)).toContain('Strategy:    BlueGreen (step 0/1, weight 0%, desired 0%)');
    expect(lines(out)).toContain('Phase:       Paused - preview ready at orders-preview; waiting for promotion: kubectl coxswain promote orders');
    expect(lines(out)).toContain(`├── blue (stable)  revision ${OLD}  ${IMAGE_OLD}  3/3 ready`);
    expect(lines(out)).toContain(`└── green (candidate)  revision ${NEW}  ${IMAGE_NEW}  1/1 ready`);
    expect(out).not.toContain('Plan at');
  });

  it('says why it is stalled, and which revision was aborted', () => {
    const message = `revision ${NEW} was aborted: 1 pod(s) of revision ${NEW} are failing (CrashLoopBackOff); revision ${OLD} serves`;
    const aborted: MicroserviceStatus = {
      phase: 'Degraded', ready: '4/4', stableRevision: OLD, desiredRevision: NEW, activeSlot: 'blue',
      conditions: [
        { type: 'Ready', status: 'False', reason: 'RolloutAborted', message, lastTransitionTime: '2024-05-01T12:00:00Z' },
        { type: 'Stalled', status: 'True', reason: 'RolloutAborted', message, lastTransitionTime: '2024-05-01T12:00:00Z' },
      ],
      rollout: { abortedRevision: NEW, message: '1 pod(s) failing' },
      slots: { blue: { revision: OLD, image: IMAGE_OLD, replicas: 4, readyReplicas: 4 }, green: { revision: NEW, image: IMAGE_NEW, replicas: 0, readyReplicas: 0 } },
    };
    const out = lines(formatTree(obj(CANARY, aborted)));
    expect(out).toContain(`Stalled:     RolloutAborted: ${message}`);
    expect(out).toContain(`Revisions:   stable ${OLD}, desired ${NEW}, aborted ${NEW}`);
    expect(out).toContain('Phase:       Degraded - 1 pod(s) failing');
    expect(out).toContain(`└── green (idle)  revision ${NEW}  ${IMAGE_NEW}  0/0 ready`);
    expect(planRows(out.join('\n')).some((r) => r.marker === '>')).toBe(false);
  });

  it('prints the takeover spec.adopt asked for after the slots, before the plan, with how far the old Deployment is scaled and why', () => {
    const adopting: MicroserviceStatus = { ...CANARY_MID, adoption: { deployment: 'orders', phase: 'ScalingDown', replicas: 4, scaledTo: 2, message: '2 of 4 blue pods Ready' } };
    const out = lines(formatTree(obj(CANARY, adopting)));
    const at = out.indexOf('Adoption:    deployment/orders ScalingDown (at 2 of 4 replicas) - 2 of 4 blue pods Ready');
    expect(at).toBe(out.findIndex((l) => l.startsWith('Plan at ')) - 1);
    expect(lines(formatTree(obj(CANARY, { ...CANARY_MID, adoption: { deployment: 'orders', phase: 'TakingOverService' } })))).toContain('Adoption:    deployment/orders TakingOverService');
    expect(formatTree(obj(CANARY, CANARY_MID))).not.toContain('Adoption:');
  });

  it('does not print a Stalled line for Stalled=False', () => {
    const ok: MicroserviceStatus = { ...CANARY_MID, conditions: [{ type: 'Stalled', status: 'False', reason: 'NoProblems', message: 'no problems', lastTransitionTime: '2024-05-01T12:00:00Z' }] };
    expect(formatTree(obj(CANARY, ok))).not.toContain('Stalled:');
  });

  it.each<[boolean, string]>([
    [true, 'Last action: promote (done at 2024-05-01T12:03:00.000Z): promoted past the pause'],
    [false, 'Last action: promote (refused at 2024-05-01T12:03:00.000Z): orders is not paused; nothing to promote'],
  ])('ends with the last action (ok: %s)', (ok, expected) => {
    const message = ok ? 'promoted past the pause' : 'orders is not paused; nothing to promote';
    const status = { ...CANARY_MID, lastAction: { id: 'x', action: 'promote', at: '2024-05-01T12:03:00.000Z', ok, message } };
    expect(lines(formatTree(obj(CANARY, status))).slice(-2)).toEqual([expected, '']);
  });

  it('still draws what it can of a Microservice whose spec is not valid', () => {
    const out = formatTree(obj({ replicas: 'many' }, { phase: 'Degraded' }));
    expect(lines(out).slice(0, 3)).toEqual(['Name:        orders', 'Namespace:   shop', 'Strategy:    RollingUpdate']);
    expect(out).toContain('Phase:       Degraded');
    expect(out).toContain('Ready:       -');
    expect(out).toContain('Revisions:   stable -, desired -');
    expect(out).not.toContain('Plan at');
  });

  it('draws a canary through the route: the route\'s weights, header routes and acceptance, and the plan with exact weights', () => {
    const routed = {
      ...CANARY, ports: [{ port: 8080 }], traffic: { gateway: { parentRefs: [{ name: 'public', namespace: 'gateways' }] } },
      strategy: { type: 'Canary', canary: { steps: [{ setHeaderRoute: { name: 'beta', match: [{ header: 'X-Canary', value: 'true' }] } }, { setWeight: 5 }, { setWeight: 50 }] } },
    };
    const status: MicroserviceStatus = {
      ...CANARY_MID,
      rollout: { ...CANARY_MID.rollout, step: 1, steps: 3, weight: 0, desiredWeight: 5 },
      traffic: { route: 'orders', weights: { blue: 95, green: 5 }, headerRoutes: ['beta'], acceptedWeights: { blue: 100, green: 0 }, acceptedHeaderRoutes: ['beta'], accepted: 'Unknown',
        message: 'Gateway gateways/public: not yet accepted generation 4', pendingSince: '2024-05-01T12:00:00.000Z' },
    };
    const out = formatTree(obj(routed, status));
    expect(lines(out).filter((l) => l.startsWith('Route:') || l.startsWith('             '))).toEqual([
      'Route:       HTTPRoute orders: blue 95% / green 5%, header routes beta to the candidate (not yet accepted)',
      '             serving blue 100% / green 0%, header routes beta, as last accepted',
      '             Gateway gateways/public: not yet accepted generation 4 (waiting since 2024-05-01T12:00:00.000Z)',
    ]);
    expect(out).toContain('Plan at 4 replicas, weights through the route:');
    expect(planRows(out)).toEqual([
      { marker: ' ', cells: ['0', 'setHeaderRoute beta: X-Canary=true', '0%', '4', '1', 'beta'] },
      { marker: '>', cells: ['1', 'setWeight 5', '5%', '4', '1', 'beta'] },
      { marker: ' ', cells: ['2', 'setWeight 50', '50%', '4', '2', 'beta'] },
      { marker: ' ', cells: ['3', 'promote', '100%', '0', '4', '-'] },
    ]);
    const accepted = formatTree(obj(routed, { ...status, traffic: { route: 'orders', weights: { blue: 95, green: 5 }, accepted: 'True', message: 'ok' } }));
    expect(lines(accepted).filter((l) => l.startsWith('Route:') || l.startsWith('             '))).toEqual(['Route:       HTTPRoute orders: blue 95% / green 5% (accepted)']);
  });

  it('draws a Microservice with no status yet', () => {
    const out = formatTree(obj(CANARY));
    expect(out).toContain('Phase:       Pending');
    expect(lines(out)).toContain('Slots:');
    expect(planRows(out)).toHaveLength(6);
  });
});

describe('history: the kept revisions', () => {
  const UID_MS = 'uid-orders';
  const owner = (uid = UID_MS) => [{ apiVersion: API_VERSION, kind: KIND, name: 'orders', uid, controller: true }];
  const kept = (revision: number, hash: string, image: string, created: string, uid = UID_MS): KeptRevision => ({
    metadata: { name: `orders-${hash}`, namespace: 'shop', creationTimestamp: created, labels: { 'coxswain.dev/revision': hash }, ownerReferences: owner(uid) },
    revision,
    data: { image, template: { spec: { containers: [{ image }] } }, ports: [] },
  });
  const ms = (status: MicroserviceStatus): MicroserviceObject => ({ ...obj(CANARY, status), metadata: { name: 'orders', namespace: 'shop', uid: UID_MS } });
  const r1 = kept(1, '37d48e7125', IMAGE_OLD, '2026-11-20T10:00:00Z');
  const r2 = kept(2, '2114b664f6', IMAGE_NEW, '2026-11-21T10:00:00Z');
  const r3 = kept(3, 'bad0bad0ba', 'registry.example/orders:1.2', '2026-11-22T10:00:00Z');

  it('prints number, hash, image and creation, and marks the stable, desired and aborted revisions', () => {
    const status: MicroserviceStatus = { stableRevision: '2114b664f6', desiredRevision: 'bad0bad0ba', rollout: { abortedRevision: 'bad0bad0ba' } };
    expect(formatHistory(ms(status), [r1, r2, r3])).toBe([
      'REVISION  HASH        IMAGE                        CREATED               ROLE',
      '1         37d48e7125  registry.example/orders:1.0  2026-11-20T10:00:00Z',
      '2         2114b664f6  registry.example/orders:1.1  2026-11-21T10:00:00Z  stable',
      '3         bad0bad0ba  registry.example/orders:1.2  2026-11-22T10:00:00Z  desired, aborted',
      '',
    ].join('\n'));
  });

  it('marks one revision both stable and desired once a rollout is done', () => {
    const out = formatHistory(ms({ stableRevision: '2114b664f6', desiredRevision: '2114b664f6' }), [r1, r2]);
    expect(lines(out).map(cells)[2]).toEqual(['2', '2114b664f6', IMAGE_NEW, '2026-11-21T10:00:00Z', 'stable, desired']);
  });

  it('reads the image from the template when data has none, and says so when nothing is kept', () => {
    const bare: KeptRevision = { ...r1, data: { template: { spec: { containers: [{ image: 'from/template:1' }] } } } };
    expect(formatHistory(ms({}), [bare])).toContain('from/template:1');
    expect(formatHistory(ms({}), [])).toBe('orders has no kept revisions yet.\n');
  });

  it('keeps only the Microservice\'s own revisions (its controller reference), oldest first', () => {
    const foreign = kept(9, 'f0f0f0f0f0', 'x', '2026-11-23T10:00:00Z', 'uid-someone-else');
    expect(keptRevisions([r3, foreign, r1, r2], ms({})).map((cr) => cr.revision)).toEqual([1, 2, 3]);
  });

  it.each<[string, number | undefined]>([
    ['2', 2],
    ['37d48e7125', 1],
    ['bad0', 3],
    ['7', undefined],
    ['ffff', undefined],
  ])('finds the revision %s names', (rev, revision) => {
    expect(findRevision([r1, r2, r3], rev, 'orders')?.revision).toBe(revision);
  });

  it('finds no revision by a prefix that two hashes share', () => {
    const twin = kept(4, 'bad0ffffff', 'x', '2026-11-24T10:00:00Z');
    expect(findRevision([r3, twin], 'bad0', 'orders')).toBeUndefined();
    expect(findRevision([r3, twin], 'bad0ffffff', 'orders')?.revision).toBe(4);
  });
});

describe('formatAnalysis', () => {
  const run = (phase: 'Running' | 'Failed', last: Array<{ value?: string; stableValue?: string; phase: 'Passed' | 'Failed' | 'Inconclusive' | 'Error' }>) => ({
    id: 'step-1', revision: 'abc123', startedAt: '2026-01-01T00:00:00Z', phase,
    metrics: [{ name: 'error-rate', phase, threshold: '<= 0.01, <= 1.5x stable', measurements: last.length, passed: 1, failed: phase === 'Failed' ? 2 : 0, inconclusive: 0, errors: 0, consecutiveErrors: 0,
      message: 'error-rate: 0.002 (stable 0.001) (<= 0.01, <= 1.5x stable), 1/3 passed', last: last.map((l, i) => ({ at: `2026-01-01T00:00:0${i}Z`, message: '', ...l })) }],
  });

  it('shows each metric with its phase, threshold, counts and last values, candidate and stable', () => {
    const text = formatAnalysis({ rollout: { analysis: { step: run('Running', [{ phase: 'Passed', value: '0.002', stableValue: '0.001' }]) } } }).join('\n');
    expect(text).toContain('analysis at step 1 (revision abc123): Running');
    expect(text).toMatch(/error-rate\s+Running\s+<= 0\.01, <= 1\.5x stable\s+1\s+0\s+0\s+0\s+0\.002 \/ 0\.001/);
    expect(text).toContain('1/3 passed');
  });

  it('keeps showing the run that aborted the rollout, without its running message', () => {
    const text = formatAnalysis({ rollout: { analysis: { step: run('Failed', [{ phase: 'Failed', value: '0.25' }, { phase: 'Failed', value: '0.3' }]) } } }).join('\n');
    expect(text).toMatch(/error-rate\s+Failed\s+<= 0\.01, <= 1\.5x stable\s+1\s+2\s+0\s+0\s+0\.25, 0\.3/);
    expect(text).not.toContain('1/3 passed');
  });

  it('says nothing without analysis', () => {
    expect(formatAnalysis({})).toEqual([]);
  });
});
