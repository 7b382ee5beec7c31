import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deferred, type Deferred } from '../../test/support/fixtures.js';
import { WorkQueue, type QueueOptions, type WorkResult } from './queue.js';

// Captured before the fake timers replace it: runs once every pending promise callback has run.
const realSetImmediate = globalThis.setImmediate;
const settle = () => new Promise<void>((resolve) => realSetImmediate(resolve));

interface Call { key: string; done: Deferred<WorkResult>; finished: boolean }

/** A worker whose calls the test finishes by hand; it counts what runs at once. */
function harness(opts: QueueOptions) {
  const calls: Call[] = [];
  const running = new Map<string, number>();
  let maxRunning = 0;
  let overlapped: string | undefined;
  const queue = new WorkQueue(opts, (key) => {
    if (running.get(key)) overlapped = key;
    running.set(key, (running.get(key) ?? 0) + 1);
    maxRunning = Math.max(maxRunning, [...running.values()].reduce((a, b) => a + b, 0));
    const call: Call = { key, done: deferred<WorkResult>(), finished: false };
    calls.push(call);
    return call.done.promise.finally(() => running.set(key, running.get(key)! - 1));
  });
  return {
    queue,
    keys: () => calls.map((c) => c.key),
    unfinished: () => calls.filter((c) => !c.finished),
    get maxRunning() { return maxRunning; },
    get overlapped() { return overlapped; },
    /** Finishes the oldest unfinished call of a key (or the nth unfinished call) and lets the queue react. */
    async finish(which: string | number, result: WorkResult | Error = undefined) {
      const pending = calls.filter((c) => !c.finished);
      const call = typeof which === 'number' ? pending[which % pending.length] : pending.find((c) => c.key === which);
      if (!call) throw new Error(`no unfinished call for ${String(which)}`);
      call.finished = true;
      if (result instanceof Error) call.done.reject(result);
      else call.done.resolve(result);
      await settle();
    },
  };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  vi.setSystemTime(0);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});


/** A queue whose one reconcile always fails, with Math.random pinned to `random`; `times` records each run. */
function alwaysFailing(random: number, maxDelayMs: number): { q: WorkQueue; times: number[] } {
  vi.spyOn(Math, 'random').mockReturnValue(random);
  const times: number[] = [];
  const q = new WorkQueue({ concurrency: 1, baseDelayMs: 100, maxDelayMs }, async () => {
    times.push(Date.now());
    throw new Error('boom');
  });
  return { q, times };
}

describe('de-duplication', () => {
  it('runs a key added several times while it waits only once', async () => {
    const h = harness({ concurrency: 1 });
    h.queue.add('busy');
    for (let i = 0; i < 3; i++) h.queue.add('a');
    expect(h.queue.depth).toBe(1);
    await h.finish('busy');
    await h.finish('a');
    expect(h.keys()).toEqual(['busy', 'a']);
    expect(h.queue.active).toBe(0);
  });

  it('keeps the first-come order of different keys', async () => {
    const h = harness({ concurrency: 1 });
    for (const k of ['busy', 'c', 'a', 'c', 'b', 'a']) h.queue.add(k);
    for (const k of ['busy', 'c', 'a', 'b']) await h.finish(k);
    expect(h.keys()).toEqual(['busy', 'c', 'a', 'b']);
  });
});

describe('per-key serialization', () => {
  it('runs a key added while it runs once more, after the running one ends, never beside it', async () => {
    const h = harness({ concurrency: 4 });
    for (const k of ['a', 'a', 'a']) h.queue.add(k);
    await settle();
    expect(h.keys()).toEqual(['a']);
    await h.finish('a');
    expect(h.keys()).toEqual(['a', 'a']);
    await h.finish('a');
    expect(h.keys()).toEqual(['a', 'a']);
    expect(h.overlapped).toBeUndefined();
  });

  it('lets other keys run while one key waits for itself', async () => {
    const h = harness({ concurrency: 2 });
    for (const k of ['a', 'a', 'b']) h.queue.add(k);
    await settle();
    expect(h.keys()).toEqual(['a', 'b']);
  });
});

describe('bounded concurrency', () => {
  it('never runs more than the limit, and fills free places at once', async () => {
    const h = harness({ concurrency: 3 });
    for (const k of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) h.queue.add(k);
    expect([h.queue.active, h.queue.depth]).toEqual([3, 4]);
    await h.finish('b');
    expect(h.keys()).toEqual(['a', 'b', 'c', 'd']);
    for (const k of ['a', 'c', 'd', 'e', 'f', 'g']) await h.finish(k);
    expect(h.maxRunning).toBe(3);
    expect(h.keys().sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  });

  it('runs up to `burst` while more than `concurrency` keys wait, and no more than `concurrency` beside a shallow queue', async () => {
    const h = harness({ concurrency: 2, burst: 5 });
    for (const k of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']) h.queue.add(k);
    // 9 keys: 2 run, 3 more while more than 2 wait, then 2 wait with 5 running.
    expect([h.queue.active, h.queue.depth]).toEqual([5, 4]);
    await h.finish('a');
    expect([h.queue.active, h.queue.depth]).toEqual([5, 3]);
    await h.finish('b');
    expect([h.queue.active, h.queue.depth]).toEqual([5, 2]);
    // Two left waiting: the shallow queue keeps to `concurrency`; no new key starts until fewer than 2 run.
    for (const k of ['c', 'd', 'e']) await h.finish(k);
    expect([h.queue.active, h.queue.depth]).toEqual([2, 2]);
    await h.finish('f');
    expect([h.queue.active, h.queue.depth]).toEqual([2, 1]);
    expect(h.maxRunning).toBe(5);
  });

  it('holds for any adds and any order of finishing: within the limit, one run per key at a time, every key run', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 0, max: 6 }),
      fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), fc.boolean(), fc.nat()), { minLength: 1, maxLength: 25 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      async (concurrency, burst, steps, drainOrder) => {
        const h = harness({ concurrency, burst });
        const adds = new Map<string, number>();
        for (const [key, finishOne, pick] of steps) {
          h.queue.add(key);
          adds.set(key, (adds.get(key) ?? 0) + 1);
          await settle();
          if (finishOne && h.unfinished().length > 0) await h.finish(pick);
        }
        for (let i = 0; h.unfinished().length > 0; i++) await h.finish(drainOrder[i % Math.max(1, drainOrder.length)] ?? 0);
        await h.queue.idle();
        expect(h.maxRunning).toBeLessThanOrEqual(Math.max(concurrency, burst));
        expect(h.overlapped).toBeUndefined();
        expect(new Set(h.keys())).toEqual(new Set(adds.keys()));
        for (const [key, n] of adds) expect(h.keys().filter((k) => k === key).length).toBeLessThanOrEqual(n);
        expect([h.queue.active, h.queue.depth]).toEqual([0, 0]);
      },
    ), { numRuns: 150 });
  });
});

describe('retries', () => {
  it('retries a failing key with growing delays up to the cap', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1); // no jitter: every delay is its ceiling
    const times: number[] = [];
    const q = new WorkQueue({ concurrency: 1, baseDelayMs: 100, maxDelayMs: 1000 }, async () => {
      times.push(Date.now());
      throw new Error('boom');
    });
    q.add('a');
    await vi.advanceTimersByTimeAsync(5000);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps.slice(0, 7)).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('waits at least half the backoff ceiling with jitter', async () => {
    const { q, times } = alwaysFailing(0, 1000);
    q.add('a');
    await vi.advanceTimersByTimeAsync(1000);
    expect(times.slice(1).map((t, i) => t - times[i]!).slice(0, 3)).toEqual([50, 100, 200]);
  });

  it('starts again from the base delay after a success', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const outcomes = ['fail', 'fail', 'fail', 'ok', 'fail', 'fail'];
    const times: number[] = [];
    const q = new WorkQueue({ concurrency: 1, baseDelayMs: 100, maxDelayMs: 10_000 }, async () => {
      times.push(Date.now());
      if (outcomes[times.length - 1] === 'fail') throw new Error('boom');
    });
    q.add('a');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(times).toEqual([0, 100, 300, 700]); // three failures, then a success that asks for nothing more
    q.add('a'); // at 10 000: fails twice more, then succeeds
    await vi.advanceTimersByTimeAsync(10_000);
    // Without the reset the next delays would have been 800 and 1600.
    expect(times.slice(4).map((t) => t - 10_000)).toEqual([0, 100, 300]);
  });

  it('keeps a separate backoff per key', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const runs: Array<[string, number]> = [];
    const q = new WorkQueue({ concurrency: 2, baseDelayMs: 100, maxDelayMs: 10_000 }, async (key) => {
      runs.push([key, Date.now()]);
      if (key === 'bad') throw new Error('boom');
    });
    q.add('bad');
    await vi.advanceTimersByTimeAsync(250);
    q.add('good');
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs.filter(([k]) => k === 'good')).toEqual([['good', 250]]);
    expect(runs.filter(([k]) => k === 'bad').map(([, t]) => t).slice(0, 4)).toEqual([0, 100, 300, 700]);
  });

  it('forgets a key\'s failures on forget()', async () => {
    const { q, times } = alwaysFailing(1, 10_000);
    q.add('a');
    await vi.advanceTimersByTimeAsync(300); // runs at 0, 100, 300; next retry due at 700
    q.forget('a');
    await vi.advanceTimersByTimeAsync(400);
    expect(times).toEqual([0, 100, 300, 700]);
    await vi.advanceTimersByTimeAsync(100);
    expect(times.at(-1)).toBe(800);
  });

  it('treats a worker that throws synchronously as a failure and retries it', async () => {
    let n = 0;
    const q = new WorkQueue({ concurrency: 1, baseDelayMs: 10, maxDelayMs: 10 }, () => {
      n++;
      throw new Error('sync');
    });
    q.add('a');
    await vi.advanceTimersByTimeAsync(25);
    expect(n).toBeGreaterThanOrEqual(3);
  });

  it('runs again after requeueAfterMs, not before', async () => {
    const times: number[] = [];
    const q = new WorkQueue({ concurrency: 1 }, async () => {
      times.push(Date.now());
      return times.length === 1 ? { requeueAfterMs: 30_000 } : undefined;
    });
    q.add('a');
    await vi.advanceTimersByTimeAsync(29_999);
    expect(times).toEqual([0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(times).toEqual([0, 30_000]);
    await vi.advanceTimersByTimeAsync(100_000);
    expect(times).toHaveLength(2);
  });
});

describe('addAfter', () => {
  it.each([[[1000, 500]], [[500, 1000]], [[500, 500]], [[700, 500, 900]]])('with delays %j, runs once, at the earliest', async (delaysMs) => {
    const times: number[] = [];
    const q = new WorkQueue({ concurrency: 1 }, async () => { times.push(Date.now()); });
    for (const d of delaysMs) q.addAfter('a', d);
    await vi.advanceTimersByTimeAsync(5000);
    expect(times).toEqual([Math.min(...delaysMs)]);
  });

  it('adds at once for a delay of zero or less', async () => {
    const h = harness({ concurrency: 1 });
    h.queue.addAfter('a', 0);
    h.queue.addAfter('b', -5);
    expect(h.queue.active + h.queue.depth).toBe(2);
  });

  it('folds a delayed add into a key already waiting', async () => {
    const h = harness({ concurrency: 1 });
    h.queue.add('busy');
    h.queue.add('a');
    h.queue.addAfter('a', 100);
    await vi.advanceTimersByTimeAsync(100);
    await h.finish('busy');
    await h.finish('a');
    expect(h.keys()).toEqual(['busy', 'a']);
  });
});

describe('timing hooks', () => {
  it('reports how long a key waited and ran, and how it ended', async () => {
    const done: unknown[] = [];
    const gates = [deferred<WorkResult>(), deferred<WorkResult>()];
    let i = 0;
    const q = new WorkQueue({ concurrency: 1, baseDelayMs: 1000 }, () => gates[i++]!.promise, { onDone: (key, outcome, waited, ran) => done.push([key, outcome, waited, ran]) });
    q.add('first');
    q.add('second');
    await vi.advanceTimersByTimeAsync(100);
    gates[0]!.resolve();
    await settle();
    await vi.advanceTimersByTimeAsync(250);
    gates[1]!.reject(new Error('boom'));
    await settle();
    expect(done).toEqual([['first', 'ok', 0, 100], ['second', 'error', 100, 250]]);
  });
});

describe('shutdown', () => {
  it('waits for running work, drops what waits, and takes nothing new', async () => {
    const h = harness({ concurrency: 1 });
    h.queue.add('running');
    h.queue.add('waiting');
    h.queue.addAfter('later', 50);
    let stopped = false;
    const stopping = h.queue.shutdown().then(() => { stopped = true; });
    await settle();
    expect(stopped).toBe(false);
    h.queue.add('new');
    await h.finish('running');
    await stopping;
    expect(stopped).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.keys()).toEqual(['running']);
  });

  it('does not retry work that fails during shutdown', async () => {
    const h = harness({ concurrency: 1, baseDelayMs: 10 });
    h.queue.add('a');
    const stopping = h.queue.shutdown();
    await h.finish('a', new Error('boom'));
    await stopping;
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.keys()).toEqual(['a']);
  });

  it('returns at once when nothing runs', async () => {
    const h = harness({ concurrency: 1 });
    await expect(h.queue.shutdown()).resolves.toBeUndefined();
  });
});

describe('paused', () => {
  it('holds work until resume(), folding repeated adds, then runs within the limit', async () => {
    const h = harness({ concurrency: 2, paused: true });
    for (const k of ['a', 'b', 'a', 'c']) h.queue.add(k);
    await settle();
    expect(h.keys()).toEqual([]);
    expect(h.queue.depth).toBe(3);
    h.queue.resume();
    await settle();
    expect(h.keys()).toEqual(['a', 'b']);
    await h.finish('a');
    expect(h.keys()).toEqual(['a', 'b', 'c']);
  });

  it('runs timed adds that fall due while paused only after resume()', async () => {
    const h = harness({ concurrency: 1, paused: true });
    h.queue.addAfter('a', 100);
    await vi.advanceTimersByTimeAsync(500);
    expect(h.keys()).toEqual([]);
    h.queue.resume();
    await settle();
    expect(h.keys()).toEqual(['a']);
  });

  it('can shut down without ever resuming', async () => {
    const h = harness({ concurrency: 1, paused: true });
    h.queue.add('a');
    await h.queue.shutdown();
    h.queue.resume();
    await settle();
    expect(h.keys()).toEqual([]);
  });
});

describe('idle', () => {
  it('resolves once nothing runs and nothing waits', async () => {
    const h = harness({ concurrency: 1 });
    h.queue.add('a');
    h.queue.add('b');
    let idle = false;
    void h.queue.idle().then(() => { idle = true; });
    await h.finish('a');
    expect(idle).toBe(false);
    await h.finish('b');
    expect(idle).toBe(true);
  });
});
