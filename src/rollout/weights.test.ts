import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MicroserviceSpecInput } from '../api/schema.js';
import { arbCanarySteps, arbIntOrPercent } from '../../test/support/arbitraries.js';
import { microservice } from '../../test/support/fixtures.js';
import { candidateFor, durationMs, resolveIntOrPercent, split } from './weights.js';
import { stepPlan, weightAt } from './steps.js';

type Limits = { maxSurge: number | string; maxUnavailable: number | string };
const pct = (v: number | string, total: number, round: (x: number) => number) => (typeof v === 'number' ? v : round((total * parseInt(v, 10)) / 100));
const arbLimits: fc.Arbitrary<Limits> = fc.tuple(arbIntOrPercent, arbIntOrPercent)
  .filter(([s, u]) => !((s === 0 || s === '0%') && (u === 0 || u === '0%')))
  .map(([maxSurge, maxUnavailable]) => ({ maxSurge, maxUnavailable }));

describe('resolveIntOrPercent', () => {
  it.each<[number | string, number, 'ceil' | 'floor', number]>([
    [3, 10, 'ceil', 3],
    [3, 0, 'floor', 3],
    ['25%', 10, 'ceil', 3],
    ['25%', 10, 'floor', 2],
    ['10%', 3, 'ceil', 1],
    ['10%', 3, 'floor', 0],
    ['0%', 20, 'ceil', 0],
    ['100%', 7, 'floor', 7],
    ['50%', 0, 'ceil', 0],
  ])('%s of %s rounded with %s is %s', (v, total, how, expected) => {
    expect(resolveIntOrPercent(v, total, Math[how])).toBe(expected);
  });
});

describe('candidateFor', () => {
  it.each<[number, number, number]>([
    [10, 0, 0],
    [10, 1, 1],
    [10, 10, 1],
    [10, 11, 2],
    [10, 25, 3],
    [4, 25, 1],
    [3, 50, 2],
    [7, 99, 7],
    [10, 100, 10],
    [0, 50, 0],
    [1, 1, 1],
  ])('%s pods at weight %s gives the candidate %s', (total, weight, expected) => {
    expect(candidateFor(total, weight)).toBe(expected);
  });

  it('is ceil(total*w/100), at least 1 when w > 0, never more than total', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 100 }), (total, w) => {
      const c = candidateFor(total, w);
      expect(c).toBeGreaterThanOrEqual(0);
      expect(c).toBeLessThanOrEqual(total);
      expect(c * 100).toBeGreaterThanOrEqual(total * w); // at least the weight's share
      if (w > 0 && total > 0) expect(c).toBeGreaterThanOrEqual(1);
      if (c > 1) expect((c - 1) * 100).toBeLessThan(total * w); // and no more than rounding up needs
    }));
  });

  it('grows with the weight', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), (total, a, b) => {
      expect(candidateFor(total, Math.min(a, b))).toBeLessThanOrEqual(candidateFor(total, Math.max(a, b)));
    }));
  });
});

describe('split', () => {
  it.each<[string, number, number, number, Limits, { stable: number; candidate: number }]>([
    ['no candidate Ready yet: the stable slot stays whole, the candidate takes the surge', 4, 25, 0, { maxSurge: 1, maxUnavailable: 0 }, { stable: 4, candidate: 1 }],
    ['the candidate Ready: the stable slot gives way', 4, 25, 1, { maxSurge: 1, maxUnavailable: 0 }, { stable: 3, candidate: 1 }],
    ['half the candidate Ready at 50%', 4, 50, 1, { maxSurge: 1, maxUnavailable: 0 }, { stable: 3, candidate: 2 }],
    ['a surge smaller than the step: the candidate comes up in turns', 10, 50, 0, { maxSurge: 1, maxUnavailable: 0 }, { stable: 10, candidate: 1 }],
    ['the same, two Ready', 10, 50, 2, { maxSurge: 1, maxUnavailable: 0 }, { stable: 8, candidate: 3 }],
    ['maxUnavailable lets the stable slot shrink ahead of the candidate', 10, 50, 0, { maxSurge: 0, maxUnavailable: 2 }, { stable: 8, candidate: 2 }],
    ['percentages: surge 25% of 10 is 3 (up), unavailable 25% is 2 (down)', 10, 50, 0, { maxSurge: '25%', maxUnavailable: '25%' }, { stable: 8, candidate: 5 }],
    ['more Ready than the step wants counts only as the step', 4, 25, 3, { maxSurge: 1, maxUnavailable: 0 }, { stable: 3, candidate: 1 }],
    ['weight 0: no candidate', 4, 0, 0, { maxSurge: 1, maxUnavailable: 0 }, { stable: 4, candidate: 0 }],
    ['weight 100, all Ready: everything on the candidate', 4, 100, 4, { maxSurge: 1, maxUnavailable: 0 }, { stable: 0, candidate: 4 }],
    ['zero replicas', 0, 50, 0, { maxSurge: '25%', maxUnavailable: 0 }, { stable: 0, candidate: 0 }],
    // A Deployment with maxSurge and maxUnavailable both resolving to 0 takes maxUnavailable 1, or it could never move.
    ['surge 0 and 10% of 3 unavailable (0): one pod may be unavailable', 3, 50, 0, { maxSurge: 0, maxUnavailable: '10%' }, { stable: 2, candidate: 1 }],
  ])('%s', (_what, total, weight, ready, limits, expected) => {
    expect(split(total, weight, ready, limits)).toEqual(expected);
  });

  const arbCase = fc.record({
    total: fc.integer({ min: 0, max: 30 }),
    weight: fc.integer({ min: 0, max: 100 }),
    ready: fc.integer({ min: 0, max: 30 }),
    limits: arbLimits,
  });

  it('never plans more than total + maxSurge (rounded up), nor a candidate above the weight', () => {
    fc.assert(fc.property(arbCase, ({ total, weight, ready, limits }) => {
      const { stable, candidate } = split(total, weight, ready, limits);
      expect(stable).toBeGreaterThanOrEqual(0);
      expect(candidate).toBeGreaterThanOrEqual(0);
      expect(stable + candidate).toBeLessThanOrEqual(total + pct(limits.maxSurge, total, Math.ceil));
      expect(candidate).toBeLessThanOrEqual(candidateFor(total, weight));
      expect(stable).toBeLessThanOrEqual(total);
      expect(stable).toBeGreaterThanOrEqual(total - candidateFor(total, weight));
    }));
  });

  it('shrinks the stable slot only as candidate pods are Ready: Ready pods stay at total - maxUnavailable (rounded down)', () => {
    fc.assert(fc.property(arbCase, ({ total, weight, ready, limits }) => {
      const { stable, candidate } = split(total, weight, ready, limits);
      const surge = pct(limits.maxSurge, total, Math.ceil);
      // As a Deployment does: with no surge and nothing unavailable after rounding, one pod may be.
      const unavailable = Math.max(pct(limits.maxUnavailable, total, Math.floor), surge === 0 ? 1 : 0);
      const readyAfter = stable + Math.min(ready, candidate);
      expect(readyAfter).toBeGreaterThanOrEqual(total - unavailable);
    }));
  });

  it('reaches the weight, one round of Ready pods after another', () => {
    fc.assert(fc.property(arbCase, ({ total, weight, limits }) => {
      let ready = 0;
      for (let round = 0; round <= total + 1; round++) ready = split(total, weight, ready, limits).candidate;
      const c = candidateFor(total, weight);
      // Below 100% the stable slot keeps a pod where the surge has room for it.
      const keepsOne = weight < 100 && total > 0 && resolveIntOrPercent(limits.maxSurge, total, Math.ceil) > 0;
      expect(split(total, weight, ready, limits)).toEqual({ stable: keepsOne ? Math.max(1, total - c) : total - c, candidate: c });
    }));
  });
});

describe('weightAt', () => {
  const steps = [{ pause: { duration: '1m' } }, { setWeight: 20 }, { pause: {} }, { setWeight: 20 }, { setWeight: 60 }, { pause: { duration: '30s' } }];

  it.each<[number, number]>([
    [0, 0], // a pause before any setWeight holds at 0
    [1, 20],
    [2, 20], // a pause keeps the weight before it
    [3, 20],
    [4, 60],
    [5, 60],
    [6, 100], // past the last step: the final promotion
    [42, 100],
  ])('at step %s is %s', (i, expected) => {
    expect(weightAt(steps, i)).toBe(expected);
  });

  it('never decreases from one step to the next, for steps the CRD admits', () => {
    fc.assert(fc.property(arbCanarySteps({ indefinite: true }), (s) => {
      for (let i = 0; i <= s.length; i++) expect(weightAt(s, i + 1)).toBeGreaterThanOrEqual(weightAt(s, i));
    }));
  });
});

describe('stepPlan', () => {
  const spec = (replicas: number): MicroserviceSpecInput => ({
    image: 'registry.example/orders:2', replicas,
    strategy: { type: 'Canary', canary: { steps: [{ setWeight: 25 }, { pause: { duration: '5m' } }, { setWeight: 50 }, { pause: {} }, { setWeight: 75 }] } },
  });

  it('gives every step its weight and target split, then the promotion', () => {
    expect(stepPlan(microservice(spec(4)).spec)).toEqual([
      { step: 0, what: 'setWeight 25', weight: 25, stable: 3, candidate: 1 },
      { step: 1, what: 'pause 5m', weight: 25, stable: 3, candidate: 1 },
      { step: 2, what: 'setWeight 50', weight: 50, stable: 2, candidate: 2 },
      { step: 3, what: 'pause until promoted', weight: 50, stable: 2, candidate: 2 },
      { step: 4, what: 'setWeight 75', weight: 75, stable: 1, candidate: 3 },
      { step: 5, what: 'promote', weight: 100, stable: 0, candidate: 4 },
    ]);
  });

  it('rounds the candidate up at small sizes: 1 of 3 pods at 25%', () => {
    expect(stepPlan(microservice(spec(3)).spec)[0]).toEqual({ step: 0, what: 'setWeight 25', weight: 25, stable: 2, candidate: 1 });
  });

  it('splits exactly the replicas at every row', () => {
    fc.assert(fc.property(arbCanarySteps({ indefinite: true }), fc.integer({ min: 0, max: 50 }), (steps, replicas) => {
      const rows = stepPlan(microservice({ image: 'a:1', replicas, strategy: { type: 'Canary', canary: { steps } } }).spec);
      expect(rows.map((r) => r.step)).toEqual([...steps.keys(), steps.length]);
      for (const r of rows) expect(r.stable + r.candidate).toBe(replicas);
    }));
  });
});

describe('durationMs', () => {
  it.each<[string, number]>([
    ['1h30m', 5_400_000],
    ['90s', 90_000],
    ['250ms', 250],
    ['5m', 300_000],
    ['1m30s', 90_000],
    ['2h0m5s', 7_205_000],
    ['1s500ms', 1_500],
    ['0s', 0],
  ])('%s is %s ms', (d, ms) => {
    expect(durationMs(d)).toBe(ms);
  });

  it('adds up its parts', () => {
    const arbPart = fc.tuple(fc.integer({ min: 0, max: 999 }), fc.constantFrom(['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]) as fc.Arbitrary<[string, number]>);
    fc.assert(fc.property(fc.array(arbPart, { minLength: 1, maxLength: 4 }), (parts) => {
      const text = parts.map(([n, [unit]]) => `${n}${unit}`).join('');
      expect(durationMs(text)).toBe(parts.reduce((sum, [n, [, ms]]) => sum + n * ms, 0));
    }));
  });
});
