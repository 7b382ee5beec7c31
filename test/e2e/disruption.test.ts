// The PodDisruptionBudget <name> on a real cluster, its status computed by the real disruption
// controller: it selects the pods of both slots mid-canary, and a drain simulated with the
// eviction API is refused exactly when it would breach the budget. It never blocks a drain for
// good: an unready pod can always be evicted, and a single replica too. Removing spec.disruption
// removes the budget; one of that name that is not ours is never taken over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, condition, createNamespace, deleteNamespace, eventually, getJSON, installCRD, k, kubectl, microservice, Operator } from './harness.js';
import { healthyAt, msOf } from './rollout-harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-pdb');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

/** POST pods/<pod>/eviction, as kubectl drain does: 'evicted', or 'refused' (429, the budget). */
async function evict(pod: string): Promise<'evicted' | 'refused'> {
  const body = JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: ns } });
  const r = await kubectl(['create', '--raw', `/api/v1/namespaces/${ns}/pods/${pod}/eviction`, '-f', '-'], body);
  if (r.code === 0) return 'evicted';
  if (/TooManyRequests|disruption budget/i.test(r.stderr)) return 'refused';
  throw new Error(`eviction of ${pod}: ${r.stderr}`);
}

/** The live pods a PDB's selector picks, with their slot and readiness. */
async function selected(pdb: any): Promise<Array<{ name: string; slot: string; ready: boolean }>> {
  const selector = Object.entries(pdb.spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = (await getJSON('pods', '-n', ns, '-l', selector)).items.filter((p: any) => !p.metadata.deletionTimestamp);
  return pods.map((p: any) => ({
    name: p.metadata.name, slot: p.metadata.labels['coxswain.dev/slot'],
    ready: !!p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'),
  }));
}

const canary = (image: string, extra: Record<string, unknown> = {}) => ({
  image, replicas: 4, disruption: { maxUnavailable: 1 },
  strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: {} }], maxSurge: 1, maxUnavailable: 0 }, progressDeadlineSeconds: 600 },
  ...extra,
});

/** The budget as the disruption controller last computed it, once it has seen `pods` healthy pods of `expected`. */
const budgetAt = (name: string, healthy: number, expected: number) => async () => {
  const pdb = await getJSON('pdb', '-n', ns, name);
  const s = pdb?.status;
  return s && s.observedGeneration === pdb.metadata.generation && s.currentHealthy === healthy && s.expectedPods === expected ? pdb : undefined;
};

describe('the PodDisruptionBudget', () => {
  it('selects both slots mid-canary, and the eviction API refuses exactly the eviction that would breach it', async () => {
    await apply(microservice('cart', canary('registry.example/cart:1'), ns));
    await eventually('v1 live', healthyAt(ns, 'cart', 'registry.example/cart:1'), 120_000);
    await apply(microservice('cart', canary('registry.example/cart:2'), ns));
    await eventually('paused at 50%', async () => (await msOf(ns, 'cart'))?.status?.phase === 'Paused', 120_000);

    // 2 stable + 2 candidate pods, all healthy: the budget expects 4 and allows one eviction.
    const pdb = await eventually('the budget over both slots', budgetAt('cart', 4, 4), 60_000);
    expect(pdb.spec).toMatchObject({ maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
    expect(pdb.status).toMatchObject({ desiredHealthy: 3, disruptionsAllowed: 1 });
    const pods = await selected(pdb);
    expect(pods.map((p) => p.slot).sort()).toEqual(['blue', 'blue', 'green', 'green']);
    const blue = pods.find((p) => p.slot === 'blue')!.name;
    const green = pods.find((p) => p.slot === 'green')!.name;

    // A drain cordons first: evicted pods come back Pending, not Ready, until the nodes are uncordoned.
    const nodes = (await getJSON('nodes')).items.map((n: any) => n.metadata.name as string);
    try {
      for (const n of nodes) await k('cordon', n);
      expect(await evict(blue)).toBe('evicted');
      const spent = await eventually('the budget spent', budgetAt('cart', 3, 4), 30_000);
      expect(spent.status.disruptionsAllowed).toBe(0);
      expect(await evict(green)).toBe('refused'); // 2 of 4 healthy would breach desiredHealthy 3
    } finally {
      for (const n of nodes) await kubectl(['uncordon', n]);
    }
    // The stable slot's pod is back and Ready: the candidate's may go now.
    await eventually('the budget healthy again', async () => (await budgetAt('cart', 4, 4)())?.status.disruptionsAllowed === 1, 60_000);
    expect(await evict(green)).toBe('evicted');
  });

  it('refuses to evict a Ready pod while a stuck candidate already takes the budget, and always lets the stuck pod go', async () => {
    // A candidate that never becomes Ready: the stable slot stays at 4, the candidate's pod is the one unavailable.
    await apply(microservice('cart', canary('registry.example/cart:3', { pod: { labels: { 'coxswain.dev/e2e-ready': 'false' } } }), ns));
    const pods = await eventually('the budget spent on the stuck candidate', async () => {
      const p = await budgetAt('cart', 4, 5)();
      const all = p ? await selected(p) : [];
      return p?.status.disruptionsAllowed === 0 && all.filter((x) => !x.ready).length === 1 ? all : undefined;
    }, 90_000);
    const ready = pods.find((x) => x.ready)!;
    const stuck = pods.find((x) => !x.ready)!;
    expect(await evict(ready.name)).toBe('refused'); // 4 healthy of 5 expected is the floor
    expect(await evict(stuck.name)).toBe('evicted'); // unhealthyPodEvictionPolicy AlwaysAllow
  });

  it('never blocks a drain of a single replica, even with minAvailable 1', async () => {
    await apply(microservice('solo', { image: 'registry.example/solo:1', disruption: { minAvailable: 1 } }, ns));
    await eventually('live', healthyAt(ns, 'solo', 'registry.example/solo:1'), 60_000);
    const pdb = await eventually('the budget computed', budgetAt('solo', 1, 1), 60_000);
    expect(pdb.spec.minAvailable).toBe(0);
    const [only] = await selected(pdb);
    expect(await evict(only!.name)).toBe('evicted');
  });

  it('is deleted with spec.disruption, and a budget of that name that is not ours is never taken over', async () => {
    await apply(microservice('solo', { image: 'registry.example/solo:1' }, ns));
    await eventually('the budget gone', async () => (await getJSON('pdb', '-n', ns, 'solo')) === undefined, 30_000);

    await apply({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'solo', namespace: ns }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'other' } } } });
    await apply(microservice('solo', { image: 'registry.example/solo:1', disruption: { maxUnavailable: 1 } }, ns));
    const stalled = await eventually('NameConflict', async () => {
      const o = await msOf(ns, 'solo');
      return condition(o, 'Stalled')?.reason === 'NameConflict' ? o : undefined;
    }, 30_000);
    expect(condition(stalled, 'Stalled')!.message).toMatch(/PodDisruptionBudget .*\/solo exists and is not owned by this Microservice/);
    const theirs = await getJSON('pdb', '-n', ns, 'solo');
    expect(theirs.metadata.ownerReferences).toBeUndefined();
    expect(theirs.spec.selector.matchLabels).toEqual({ app: 'other' });
  });
});
