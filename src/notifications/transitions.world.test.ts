// The transitions the real reconcile's status writes record, on the simulated cluster
// (test/support/world.ts runs the very planReconcile the operator runs): a canary told step by
// step, once, through operator crashes mid-reconcile (a new leader starting from what is stored)
// and lagging watches.
import { describe, expect, it } from 'vitest';
import { World } from '../../test/support/world.js';
import { notificationsOf } from './message.js';

const spec = (image: string) => ({
  image, replicas: 4, ports: [{ name: 'http', port: 8080 }],
  strategy: { type: 'Canary', canary: { steps: [{ setWeight: 25 }, { pause: { duration: '30s' } }, { setWeight: 50 }, { pause: {} }], maxSurge: 1, maxUnavailable: 0 } },
});

/** Every notification the status writes of the run so far record, as `type@revision`. */
function told(w: World) {
  return w.reconciles.filter((r) => r.status && r.read).flatMap((r) => notificationsOf(r.read!, r.read!.status, r.status!, 'sim', new Date(r.at)));
}

function canaryStory(seed: number, trouble: (w: World, step: number) => void) {
  const w = new World({ seed });
  w.createMicroservice(spec('registry.example/orders:v1'));
  expect(w.runUntilQuiet(600_000)).toBe(true);
  const before = told(w).length;
  w.editSpec(() => spec('registry.example/orders:v2'));
  trouble(w, 0);
  w.advanceUntil((x) => x.microservice().status?.phase === 'Paused' && !x.microservice().status?.rollout?.pausedUntil, 600_000);
  trouble(w, 1);
  w.setAction('promote:p1');
  trouble(w, 2);
  expect(w.runUntilQuiet(600_000)).toBe(true);
  expect(w.microservice().status?.stableRevision).toBe(w.microservice().status?.desiredRevision);
  return { notes: told(w).slice(before), crashes: w.reconciles.filter((r) => r.error).length };
}

describe('notifications of a canary on the simulated cluster', () => {
  it('tells started, each step, the pause, the promotion and the completion, once each', () => {
    const { notes } = canaryStory(1, () => {});
    expect(notes.map((n) => `${n.type}${n.step !== undefined ? ` ${n.step}` : ''}`)).toEqual([
      'started 0', 'stepReached 1', 'stepReached 2', 'stepReached 3', 'paused 3', 'promoted 4', 'completed',
    ]);
    expect(new Set(notes.map((n) => n.revision)).size).toBe(1);
    expect(notes.every((n) => n.images[0] === 'registry.example/orders:v2')).toBe(true);
  });

  it.each([1, 2, 3, 4, 5, 6])('tells nothing twice through crashes mid-reconcile and lagging watches (seed %i)', (seed) => {
    const { notes, crashes } = canaryStory(seed, (w, step) => {
      w.lagWatches(20_000, 3_000);
      w.restartOperator(seed + step);
    });
    expect(crashes).toBeGreaterThanOrEqual(2); // the trouble was real: the operator died mid-reconcile
    const ids = notes.map((n) => n.id);
    expect(new Set(ids).size, notes.map((n) => `${n.type} ${n.step}`).join(', ')).toBe(ids.length);
    expect(notes.filter((n) => n.type === 'started')).toHaveLength(1);
    expect(notes.filter((n) => n.type === 'completed')).toHaveLength(1);
  });
});

describe('notifications of a blue-green rollout on the simulated cluster', () => {
  it('tells started, the preview waiting for promotion, the promotion and the completion', () => {
    const bg = (image: string) => ({ image, replicas: 3, ports: [{ name: 'http', port: 8080 }], strategy: { type: 'BlueGreen', blueGreen: { scaleDownDelaySeconds: 30 } } });
    const w = new World({ seed: 1 });
    w.createMicroservice(bg('registry.example/orders:v1'));
    expect(w.runUntilQuiet(600_000)).toBe(true);
    const before = told(w).length;
    w.editSpec(() => bg('registry.example/orders:v2'));
    expect(w.runUntilQuiet(600_000)).toBe(true);
    w.setAction('promote:p1');
    expect(w.runUntilQuiet(600_000)).toBe(true);
    expect(told(w).slice(before).map((n) => n.type)).toEqual(['started', 'paused', 'promoted', 'completed']);
  });
});
