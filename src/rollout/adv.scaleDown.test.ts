// Adversarial: the canary's scale-down delay cut short by a user move that comes in the middle of
// it. The delay exists because a route's change reaches each gateway replica at its own pace and
// requests in flight to the slot let go must finish (scaleDown.ts); a new revision applied during
// it must not take that slot's Ready pods away before the delay has run.
import { describe, expect, it } from 'vitest';
import type { MicroserviceSpecInput } from '../api/schema.js';
import { runSim as run, startRouted as start } from '../../test/support/gateway.js';

const GATEWAY = { parentRefs: [{ name: 'public', namespace: 'gateways' }], hostnames: ['orders.example.com'] };
const routed = (steps: unknown[], canary: Record<string, unknown> = {}): MicroserviceSpecInput => ({
  image: 'registry.example/orders:2', replicas: 4, ports: [{ name: 'http', port: 8080, servicePort: 80 }],
  traffic: { gateway: GATEWAY },
  strategy: { type: 'Canary', canary: { steps: steps as never, maxSurge: 1, maxUnavailable: 0, ...canary }, progressDeadlineSeconds: 60 },
});

describe('a new revision during the scale-down delay after promotion', () => {
  it('keeps the previous slot\'s Ready pods until the delay has run, though the new revision wants that slot', () => {
    const { sim, gateway } = start(routed([{ setWeight: 50 }], { scaleDownDelaySeconds: 20 }));
    // Promoted: r2 serves from green, blue (r1) keeps its pods for 20 s with no traffic.
    const promoted = run(sim, (r) => r.status.stableRevision === 'r2' && r.status.rollout?.scaleDownAt !== undefined
      && gateway.live?.weights.green === 100 && gateway.live.acceptance.state === 'Accepted')!;
    expect(promoted).toBeDefined();
    const scaleDownAt = Date.parse(promoted.status.rollout!.scaleDownAt!);
    expect(sim.cluster.slots.blue?.ready).toBeGreaterThan(0);
    sim.advance(promoted.decision.plan, 1000);
    // A new revision lands 1 s into the delay: its candidate slot is blue, which still holds r1's pods.
    sim.desiredRevision = 'r3';
    const cut = run(sim, (r) => sim.now.getTime() >= scaleDownAt, (r) => {
      const o = r.input.observed.blue;
      const planned = r.decision.plan.slots.blue?.replicas;
      if (!o || planned === undefined || o.revision !== 'r1' || sim.now.getTime() >= scaleDownAt) return;
      expect(planned, `t=${(sim.now.getTime() - scaleDownAt) / 1000}s from the delay's end: blue (r1) planned ${planned} of its ${o.servingReplicas} Ready pods`)
        .toBeGreaterThanOrEqual(Math.min(o.replicas, o.servingReplicas));
    }, 40);
    expect(cut).toBeDefined();
    // The delay over, r3 moves into blue and is promoted.
    expect(run(sim, (r) => r.status.stableRevision === 'r3' && r.status.phase === 'Healthy'), 'r3 rolled out after the delay').toBeDefined();
  });
});

describe('a new revision during the scale-down delay after an abort', () => {
  it('keeps the aborted candidate\'s Ready pods until the delay has run, then rolls the fix out into that slot', () => {
    const { sim, gateway } = start(routed([{ setWeight: 50 }, { pause: {} }], { scaleDownDelaySeconds: 20 }));
    expect(run(sim, (r) => r.status.phase === 'Paused')).toBeDefined();
    sim.reconcile({ action: 'abort', id: 'a1' });
    const armed = run(sim, (r) => r.status.rollout?.scaleDownAt !== undefined)!;
    expect(gateway.live?.weights).toEqual({ blue: 100, green: 0 });
    const scaleDownAt = Date.parse(armed.status.rollout!.scaleDownAt!);
    const kept = sim.cluster.slots.green!.ready;
    expect(kept).toBeGreaterThan(0);
    sim.advance(armed.decision.plan, 1000);
    // The fix is pushed 1 s into the delay: r3's candidate slot is green, which still holds r2's pods.
    sim.desiredRevision = 'r3';
    run(sim, () => sim.now.getTime() >= scaleDownAt, (r) => {
      const o = r.input.observed.green;
      if (!o || o.revision !== 'r2' || sim.now.getTime() >= scaleDownAt) return;
      expect(r.decision.plan.slots.green?.replicas, `${(scaleDownAt - sim.now.getTime()) / 1000}s before the delay's end`).toBeGreaterThanOrEqual(Math.min(o.replicas, o.servingReplicas));
    }, 40);
    const paused = run(sim, (r) => r.status.phase === 'Paused' && r.input.observed.green?.revision === 'r3');
    expect(paused?.status.rollout?.scaleDownAt, 'no stale delay carried into the new rollout').toBeUndefined();
  });
});
