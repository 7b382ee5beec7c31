import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

const delays = (b: Backoff, n: number) => Array.from({ length: n }, () => b.next());
const ceilings = (base: number, max: number, n: number) => Array.from({ length: n }, (_, i) => Math.min(max, base * 2 ** i));

describe('Backoff', () => {
  it('doubles the delay from the base up to the cap when jitter is at its top', () => {
    expect(delays(new Backoff(100, 1000, () => 1), 7)).toEqual(ceilings(100, 1000, 7));
  });

  it('waits at least half the ceiling when jitter is at its bottom', () => {
    expect(delays(new Backoff(100, 1000, () => 0), 6)).toEqual(ceilings(100, 1000, 6).map((c) => c / 2));
  });

  it('starts again from the base after reset', () => {
    const b = new Backoff(100, 1000, () => 1);
    delays(b, 5);
    b.reset();
    expect(delays(b, 2)).toEqual([100, 200]);
  });

  it('stays finite and capped after very many failures', () => {
    const b = new Backoff(200, 60_000, () => 1);
    const all = delays(b, 500);
    expect(all.every((d) => Number.isFinite(d) && d <= 60_000)).toBe(true);
    expect(all.at(-1)).toBe(60_000);
  });

  it('keeps every delay between half and all of its ceiling, whatever the jitter', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 1000 }),
      fc.integer({ min: 1, max: 100_000 }),
      fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 40 }),
      (base, extra, randoms) => {
        const max = base + extra;
        let i = 0;
        const b = new Backoff(base, max, () => randoms[i++ % randoms.length]!);
        const got = delays(b, randoms.length);
        ceilings(base, max, randoms.length).forEach((c, n) => {
          expect(got[n]).toBeGreaterThanOrEqual(Math.floor(c / 2));
          expect(got[n]).toBeLessThanOrEqual(c);
        });
      },
    ));
  });
});
