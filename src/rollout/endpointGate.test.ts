// The EndpointSlice gate's worth, shown both ways: on the simulated cluster a Ready pod's address
// reaches its slot Service's EndpointSlice two ticks late (test/support/cluster.ts, publishLag),
// and the Gateway sends each slot what its accepted route says. A route that sends a slot traffic
// while that slot publishes no address is what Traefik answers with 503 "no available server".
// With the operator reading the EndpointSlices (ObservedSlot.publishedReady) that never happens;
// without them (the engine as it was before the gate) it happens at the first weight of every
// rollout, so this test fails if the gate is taken out.
import { describe, expect, it } from 'vitest';
import type { MicroserviceSpecInput } from '../api/schema.js';
import { SLOTS } from '../api/names.js';
import { runSim, startRouted } from '../../test/support/gateway.js';

const spec: MicroserviceSpecInput = {
  image: 'registry.example/orders:2', replicas: 4, ports: [{ name: 'http', port: 8080, servicePort: 80 }],
  traffic: { gateway: { parentRefs: [{ name: 'public', namespace: 'gateways' }], hostnames: ['orders.example.com'] } },
  strategy: { type: 'Canary', canary: { steps: [{ setWeight: 5 }, { setWeight: 25 }, { setWeight: 50 }], maxSurge: 1, maxUnavailable: 0, scaleDownDelaySeconds: 0 } },
};

/** Seconds the accepted route sent some slot traffic while it published no address, through a whole canary. */
function noBackendSeconds(seed: number, watched: boolean): number {
  const { sim, gateway } = startRouted(spec, seed);
  sim.cluster.behaviour.publishLag = { watched };
  let seconds = 0;
  const done = runSim(sim, (r) => r.status.stableRevision === 'r2' && r.status.phase === 'Healthy', () => {
    const live = gateway.live;
    if (live?.acceptance.state !== 'Accepted') return;
    for (const slot of SLOTS) {
      const sends = (live.weights[slot] ?? 0) > 0 || live.headers.some((h) => h.slot === slot);
      if (sends && (sim.cluster.slots[slot]?.published ?? 0) === 0) seconds++;
    }
  });
  expect(done, 'the canary completes').toBeDefined();
  return seconds;
}

describe('the EndpointSlice gate', () => {
  const seeds = [1, 2, 3, 4, 5, 6, 7, 8];

  it('without it, the route sends the candidate traffic before its address is published (a 503 at the gateway)', () => {
    const lost = seeds.map((seed) => noBackendSeconds(seed, false));
    expect(lost.every((s) => s > 0), `seconds without a backend per seed: ${lost.join(', ')}`).toBe(true);
  });

  it('with it, never: a weight moves only to published Ready addresses', () => {
    expect(seeds.map((seed) => noBackendSeconds(seed, true))).toEqual(seeds.map(() => 0));
  });
});
