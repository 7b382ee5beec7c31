// Exact weights through the Gateway API on a real API server, with the Gateway API's own CRDs
// (standard channel, from their Go module). No data plane runs here: the test plays only the
// Gateway controller's part, writing each route's status.parents (Accepted for the generation it
// saw, or a refusal when told to). Everything else is the real operator and the real API server.
import * as yaml from 'js-yaml';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/kube/client.js';
import {
  apply, condition, createNamespace, deleteNamespace, eventually, getJSON, installCRD, k, KUBECONFIG, kubectl, microservice, Operator, ROOT, sleep,
} from './harness.js';
import { GATEWAY_GROUP, GatewayController, installGatewayAPI, REFUSAL, routeWeights } from './gateway.js';
import { story, watchServing } from './rollout-harness.js';

let ns: string;
let operator: Operator;
let gateway: GatewayController;
let client: KubeClient;

beforeAll(async () => {
  await installCRD();
  await installGatewayAPI();
  ns = await createNamespace('e2e-traffic');
  gateway = await new GatewayController(ns).start();
  operator = new Operator(['--namespaces', ns]).start();
  client = await KubeClient.fromEnvironment(KUBECONFIG, undefined, 'coxswain-e2e-sampler');
});
afterAll(async () => {
  await operator.stop();
  await gateway.stop();
  client.close();
  await deleteNamespace(ns);
});

const parentRefs = [{ name: 'public', namespace: 'gateways', sectionName: 'https' }];
const routedSpec = (name: string, image: string, steps: unknown[], extra: Record<string, unknown> = {}) => ({
  image, replicas: 4, ports: [{ name: 'http', port: 8080, servicePort: 80 }],
  traffic: { gateway: { parentRefs, hostnames: [`${name}.example.com`] } },
  strategy: { type: 'Canary', canary: { steps, maxSurge: 1, maxUnavailable: 0 }, progressDeadlineSeconds: 20 },
  ...extra,
});
const ms = (name: string) => getJSON('microservice', '-n', ns, name);
const other = (slot: string) => (slot === 'blue' ? 'green' : 'blue');
const healthyAt = (name: string, image: string) => async () => {
  const o = await ms(name);
  return o?.status?.phase === 'Healthy' && o.status.observedGeneration === o.metadata.generation && o.status.traffic?.accepted === 'True'
    && o.status.slots?.[o.status.activeSlot]?.image === image && condition(o, 'Ready')?.status === 'True' ? o : undefined;
};
/** Asks the operator for an action as `kubectl coxswain` does: the annotation, with an id of its own. */
const act = (name: string, action: string) => k('annotate', '--overwrite', '-n', ns, 'microservice', name, `coxswain.dev/action=${action}:${Date.now().toString(36)}`);

interface Sample {
  at: number;
  /** Each slot Deployment's spec.replicas, and its Ready pods (read from the pods, as the operator does). */
  slots: Record<string, { replicas: number; ready: number }>;
  /** The candidate's and the stable slot's weights in the route as it is, and whether that generation is accepted. */
  weights: Record<string, number>;
  generation: number;
  accepted: boolean;
  headers: string[];
  rollout?: { step?: number; weight?: number };
}

/** Samples the slots, the route and the Microservice until stopped, straight from the API server. */
function record(name: string) {
  const samples: Sample[] = [];
  let running = true;
  const sample = async () => {
    // The route first: Ready pods read after it include every pod that was Ready when it was read.
    const route = await client.request<any>('GET', `/apis/${GATEWAY_GROUP}/v1/namespaces/${ns}/httproutes/${name}`);
    const deps = await client.request<{ items: any[] }>('GET', `/apis/apps/v1/namespaces/${ns}/deployments?labelSelector=app.kubernetes.io/name=${name}`);
    const pods = await client.request<{ items: any[] }>('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=app.kubernetes.io/name=${name}`);
    const readyIn = (slot: string) => pods.items.filter((p) => p.metadata.labels['coxswain.dev/slot'] === slot && !p.metadata.deletionTimestamp
      && p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')).length;
    const obj = await client.request<any>('GET', `/apis/coxswain.dev/v1alpha1/namespaces/${ns}/microservices/${name}`);
    const weighted = route.spec.rules.find((r: any) => r.name === 'weighted');
    const conditions = route.status?.parents?.[0]?.conditions ?? [];
    samples.push({
      at: Date.now(),
      slots: Object.fromEntries(deps.items.map((d) => [d.metadata.labels['coxswain.dev/slot'], { replicas: d.spec.replicas, ready: readyIn(d.metadata.labels['coxswain.dev/slot']) }])),
      weights: Object.fromEntries(weighted.backendRefs.map((b: any) => [b.name.slice(name.length + 1), b.weight])),
      generation: route.metadata.generation,
      accepted: conditions.some((c: any) => c.type === 'Accepted' && c.status === 'True' && c.observedGeneration === route.metadata.generation),
      headers: route.spec.rules.flatMap((r: any) => (r.name?.startsWith('header-') ? [r.name.slice(7)] : [])),
      rollout: obj.status?.rollout,
    });
  };
  const loop = (async () => {
    while (running) {
      await sample().catch(() => undefined);
      await sleep(250);
    }
  })();
  return { samples, stop: async () => { running = false; await loop; await sample(); } };
}

describe('a canary through the route', () => {
  it('sets the route\'s weights exactly, 5/95, 10/90, 50/50, with the candidate at 1, 1 and 2 of 4 pods, and 4 Ready pods behind <name> throughout', async () => {
    const steps = [{ setWeight: 5 }, { pause: { duration: '2s' } }, { setWeight: 10 }, { pause: { duration: '2s' } }, { setWeight: 50 }, { pause: { duration: '2s' } }];
    await apply(microservice('cart', routedSpec('cart', 'registry.example/cart:1', steps), ns));
    const first = await eventually('first revision live behind an accepted route', healthyAt('cart', 'registry.example/cart:1'));
    const stable = first.status.activeSlot;
    const cand = other(stable);
    expect((await routeWeights(ns, 'cart'))?.weights).toBe(stable === 'blue' ? 'blue=100 green=0' : 'blue=0 green=100');

    const rec = record('cart');
    // Every change of `<name>` and its pods, watched: a dip between two polls is seen too.
    const serving = await watchServing(ns, 'cart');
    await apply(microservice('cart', routedSpec('cart', 'registry.example/cart:2', steps), ns));
    await eventually('the canary to complete', healthyAt('cart', 'registry.example/cart:2'), 150_000);
    await rec.stop();
    const timeline = await serving.stop();
    expect(timeline.length, 'the watch saw the pods change').toBeGreaterThan(2);
    expect(Math.min(...timeline.map((t) => t.pods.length)), `Ready pods behind cart at each change: ${story(timeline)}`).toBeGreaterThanOrEqual(4);

    // Every generation of the route, as the Gateway controller saw it: the candidate's weight exactly.
    const generations = gateway.seen.filter((s) => s.route === 'cart').map((s) => `${s.weights[`cart-${stable}`]}/${s.weights[`cart-${cand}`]}`);
    expect(generations).toEqual(['100/0', '95/5', '90/10', '50/50', '0/100']);
    // The candidate's pods when each weight was first accepted: 1, 1, 2; the stable slot, which
    // `<name>` selects alone, keeps its 4 (maxUnavailable 0) until the flip.
    for (const [weight, candidate, stableAfter] of [[5, 1, 4], [10, 1, 4], [50, 2, 4]] as const) {
      const at = rec.samples.filter((s) => s.weights[cand] === weight && s.accepted);
      expect(at.length, `samples with ${weight}% accepted`).toBeGreaterThan(0);
      expect(at[0]!.slots[cand]?.replicas, `candidate pods at ${weight}%`).toBe(candidate);
      expect(at.map((s) => s.slots[stable]?.replicas), `stable pods at ${weight}%`).toContain(stableAfter);
      // Status says the weight the route serves.
      expect(rec.samples.some((s) => s.rollout?.weight === weight)).toBe(true);
    }
    for (const s of rec.samples) {
      // Above maxSurge with a route, but never above the whole stable slot and a whole candidate.
      expect((s.slots.blue?.replicas ?? 0) + (s.slots.green?.replicas ?? 0)).toBeLessThanOrEqual(8);
      // The route never sends the candidate more than its Ready pods were sized for.
      if (s.weights[cand]! > 0 && s.weights[cand]! < 100) expect(s.slots[cand]?.ready ?? 0).toBeGreaterThanOrEqual(Math.ceil((4 * s.weights[cand]!) / 100));
    }
    // <name> selects the stable slot only: after promotion, the new one.
    expect((await getJSON('service', '-n', ns, 'cart'))?.spec.selector['coxswain.dev/slot']).toBe(cand);
  });

  it('sends a header route to the candidate at weight 0, keeps it and the weight when the operator restarts, and removes it at promotion', async () => {
    const steps = [{ setHeaderRoute: { name: 'beta', match: [{ header: 'X-Canary', value: 'true' }] } }, { setWeight: 10 }, { pause: {} }];
    await apply(microservice('search', routedSpec('search', 'registry.example/search:1', steps), ns));
    const first = await eventually('first revision live', healthyAt('search', 'registry.example/search:1'));
    const cand = other(first.status.activeSlot);
    await apply(microservice('search', routedSpec('search', 'registry.example/search:2', steps), ns));

    // Step 0: the header route alone, at weight 0, to a candidate of one Ready pod.
    await eventually('the header route at weight 0', async () =>
      gateway.seen.some((s) => s.route === 'search' && s.headers.includes('beta') && s.weights[`search-${cand}`] === 0) || undefined);
    const paused = await eventually('paused at step 2', async () => {
      const o = await ms('search');
      return o?.status?.phase === 'Paused' && o.status.rollout?.step === 2 ? o : undefined;
    });
    const route = await getJSON('httproute', '-n', ns, 'search');
    const header = route.spec.rules.find((r: any) => r.name === 'header-beta');
    expect(header).toEqual({
      name: 'header-beta',
      matches: [{ path: { type: 'PathPrefix', value: '/' }, headers: [{ type: 'Exact', name: 'X-Canary', value: 'true' }] }],
      backendRefs: [{ group: '', kind: 'Service', name: `search-${cand}`, port: 80, weight: 1 }],
    });
    expect(paused.status.traffic).toMatchObject({ accepted: 'True', headerRoutes: ['beta'], acceptedWeights: { [cand]: 10 } });
    expect(paused.status.rollout.weight).toBe(10);

    // The operator killed and started again: the route is left exactly as it was.
    await operator.stop('SIGKILL');
    const before = await routeWeights(ns, 'search');
    operator = new Operator(['--namespaces', ns]).start();
    await eventually('the new operator to reconcile', async () => operator.lines().some((l) => l.msg === 'reconciled' && l.key === `${ns}/search`) || undefined, 60_000);
    await sleep(3000);
    expect(await routeWeights(ns, 'search')).toEqual(before);
    expect(before?.headers).toEqual(['beta']);
    expect((await ms('search')).status).toMatchObject({ phase: 'Paused', rollout: { step: 2, weight: 10 } });

    await act('search', 'promote');
    await eventually('promoted', healthyAt('search', 'registry.example/search:2'), 90_000);
    const after = await routeWeights(ns, 'search');
    expect(after?.headers).toEqual([]);
    expect(after?.weights).toBe(cand === 'blue' ? 'blue=100 green=0' : 'blue=0 green=100');
  });

  it('holds a step whose route is refused, then aborts with the parent\'s message and puts the route back on the stable slot', async () => {
    const steps = [{ setWeight: 10 }, { pause: {} }];
    await apply(microservice('inventory', routedSpec('inventory', 'registry.example/inventory:1', steps), ns));
    const first = await eventually('first revision live', healthyAt('inventory', 'registry.example/inventory:1'));
    const stable = first.status.activeSlot;
    const cand = other(stable);
    const baseline = (await routeWeights(ns, 'inventory'))!.generation;
    // Once: the generation that moves 10% to the candidate is refused; every later one is accepted.
    gateway.answer = (route, generation) => (route === 'inventory' && generation === baseline + 1 ? 'refuse' : 'accept');
    const rec = record('inventory');
    await apply(microservice('inventory', routedSpec('inventory', 'registry.example/inventory:2', steps), ns));

    const held = await eventually('the step held, saying why', async () => {
      const o = await ms('inventory');
      return o?.status?.rollout?.message?.includes(REFUSAL.message) ? o : undefined;
    }, 60_000);
    expect(held.status.rollout).toMatchObject({ step: 0, weight: 0, desiredWeight: 10 });
    expect(held.status.rollout.message).toMatch(/waiting for the parents to accept the HTTPRoute inventory: Gateway gateways\/public \(https\): NotAllowedByListeners/);
    expect(held.status.traffic).toMatchObject({ accepted: 'False', weights: { [cand]: 10 }, acceptedWeights: { [cand]: 0 } });

    const aborted = await eventually('the rollout aborted', async () => {
      const o = await ms('inventory');
      return condition(o, 'Stalled')?.reason === 'RolloutAborted' ? o : undefined;
    }, 90_000);
    expect(condition(aborted, 'Stalled')!.message).toMatch(/the HTTPRoute inventory was not accepted within 20s: Gateway gateways\/public \(https\): NotAllowedByListeners: no listener of Gateway gateways\/public allows routes/);
    await eventually('the route back on the stable slot, accepted, and the candidate at 0', async () => {
      const r = await routeWeights(ns, 'inventory');
      const d = await getJSON('deployment', '-n', ns, `inventory-${cand}`);
      return r?.weights === (stable === 'blue' ? 'blue=100 green=0' : 'blue=0 green=100') && r.accepted === r.generation && d?.spec.replicas === 0;
    }, 60_000);
    await rec.stop();
    // The candidate never shrank while the route last accepted gave it traffic (here it never got
    // any: its only generation with weight was refused).
    const firstShrink = rec.samples.findIndex((s, i) => i > 0 && (s.slots[cand]?.replicas ?? 0) < (rec.samples[i - 1]!.slots[cand]?.replicas ?? 0));
    const lastAccepted = rec.samples.slice(0, firstShrink + 1).filter((s) => s.accepted).at(-1);
    if (firstShrink > 0) expect(lastAccepted?.weights[cand]).toBe(0);
    expect(rec.samples.some((s) => s.accepted && s.weights[cand]! > 0)).toBe(false);
    gateway.answer = () => 'accept';
  });

  it('refuses a promote with the parents\' words, not the pods, when the route is the reason', async () => {
    const steps = [{ setWeight: 50 }, { pause: {} }];
    await apply(microservice('ship', routedSpec('ship', 'registry.example/ship:1', steps), ns));
    await eventually('first revision live', healthyAt('ship', 'registry.example/ship:1'));
    await apply(microservice('ship', routedSpec('ship', 'registry.example/ship:2', steps, { strategy: { type: 'Canary', canary: { steps, maxSurge: 1, maxUnavailable: 0 }, progressDeadlineSeconds: 600 } }), ns));
    await eventually('paused at 50/50', async () => {
      const o = await ms('ship');
      return o?.status?.phase === 'Paused' && o.status.rollout?.weight === 50 ? o : undefined;
    }, 90_000);
    // The Gateway changes: its controller now refuses the route the pause holds.
    gateway.answer = (route) => (route === 'ship' ? 'refuse' : 'accept');
    gateway.again('ship');
    const said = await eventually('status to name the parents\' refusal', async () => {
      const o = await ms('ship');
      return o?.status?.rollout?.message?.includes(REFUSAL.reason) ? o : undefined;
    }, 30_000);
    expect(said.status.rollout.message).toContain(REFUSAL.message);
    await act('ship', 'promote');
    const answered = await eventually('the promote answered', async () => {
      const o = await ms('ship');
      return o?.status?.lastAction?.action === 'promote' ? o.status.lastAction : undefined;
    }, 30_000);
    expect(answered.ok).toBe(false);
    expect(answered.message).toContain(REFUSAL.reason);
    expect(answered.message).not.toContain('Ready pods');
    gateway.answer = () => 'accept';
    gateway.again('ship');
  });

  it('puts the route back on the stable slot before the candidate scales down when aborted by hand', async () => {
    const steps = [{ setWeight: 50 }, { pause: {} }];
    await apply(microservice('pay', routedSpec('pay', 'registry.example/pay:1', steps), ns));
    const first = await eventually('first revision live', healthyAt('pay', 'registry.example/pay:1'));
    const stable = first.status.activeSlot;
    const cand = other(stable);
    await apply(microservice('pay', routedSpec('pay', 'registry.example/pay:2', steps), ns));
    await eventually('paused at 50/50', async () => {
      const o = await ms('pay');
      return o?.status?.phase === 'Paused' && o.status.rollout?.weight === 50 ? o : undefined;
    }, 90_000);
    expect((await getJSON('deployment', '-n', ns, `pay-${cand}`))?.spec.replicas).toBe(2);

    // The Gateway controller is slow to take the route back: the candidate keeps its pods meanwhile.
    gateway.answer = (route) => (route === 'pay' ? 'silent' : 'accept');
    await act('pay', 'abort');
    await eventually('the route back on the stable slot', async () => (await routeWeights(ns, 'pay'))?.weights === (stable === 'blue' ? 'blue=100 green=0' : 'blue=0 green=100') || undefined);
    for (let t = 0; t < 5; t++) {
      await sleep(1000);
      expect((await getJSON('deployment', '-n', ns, `pay-${cand}`))?.spec.replicas, 'candidate pods while the route back is not accepted').toBe(2);
    }
    gateway.answer = () => 'accept';
    await eventually('the candidate at 0 once the route back is accepted', async () => (await getJSON('deployment', '-n', ns, `pay-${cand}`))?.spec.replicas === 0, 60_000);
    expect(condition(await ms('pay'), 'Stalled')?.reason).toBe('RolloutAborted');
  });
});

describe('blue-green through the route', () => {
  const bg = (image: string) => ({
    image, replicas: 3, ports: [{ name: 'http', port: 8080 }],
    traffic: { gateway: { parentRefs, hostnames: ['web.example.com'], previewHostnames: ['web-preview.example.com'] } },
    strategy: { type: 'BlueGreen', blueGreen: { scaleDownDelaySeconds: 5, previewReplicas: 2 } },
  });

  it('keeps the route on the active slot, the preview route on the candidate, and switches the route\'s backend on promotion', async () => {
    await apply(microservice('web', bg('registry.example/web:1'), ns));
    const first = await eventually('first revision live', healthyAt('web', 'registry.example/web:1'));
    const blue = first.status.activeSlot;
    const green = other(blue);
    const only = (slot: string) => (slot === 'blue' ? 'blue=100 green=0' : 'blue=0 green=100');
    await apply(microservice('web', bg('registry.example/web:2'), ns));
    await eventually('the preview ready and waiting', async () => (await ms('web'))?.status?.phase === 'Paused' || undefined, 90_000);
    expect((await routeWeights(ns, 'web'))?.weights).toBe(only(blue));
    const preview = await getJSON('httproute', '-n', ns, 'web-preview');
    expect(preview.spec.hostnames).toEqual(['web-preview.example.com']);
    expect(preview.spec.rules[0].backendRefs).toEqual([{ group: '', kind: 'Service', name: `web-${green}`, port: 8080, weight: 1 }]);

    await act('web', 'promote');
    await eventually('the route switched to the new slot, accepted', async () => {
      const r = await routeWeights(ns, 'web');
      return r?.weights === only(green) && r.accepted === r.generation || undefined;
    }, 90_000);
    expect((await getJSON('service', '-n', ns, 'web'))?.spec.selector['coxswain.dev/slot']).toBe(green);
    await eventually('Healthy, the old slot at 0', async () => (await healthyAt('web', 'registry.example/web:2')()) && (await getJSON('deployment', '-n', ns, `web-${blue}`))?.spec.replicas === 0, 90_000);
    expect((await getJSON('httproute', '-n', ns, 'web-preview')).spec.rules[0].backendRefs[0].name).toBe(`web-${green}`);
  });
});

describe('GitOps', () => {
  it('writes no field of the Microservice\'s spec, and the route shows no diff against what Coxswain applied after the API server\'s defaulting', async () => {
    const manifest = microservice('ledger', routedSpec('ledger', 'registry.example/ledger:1', [{ setWeight: 20 }]), ns);
    // Applied as Argo CD applies it: server-side, with its own field manager.
    await k('apply', '--server-side', '--field-manager=argocd-controller', '-f', writeTemp('ledger.json', manifest));
    const live = await eventually('live behind an accepted route', healthyAt('ledger', 'registry.example/ledger:1'));

    // The Microservice: Coxswain owns status only; Git (argocd-controller) every field of the spec.
    const managed = (await getJSON('microservice', '-n', ns, 'ledger', '--show-managed-fields')).metadata.managedFields as Array<{ manager: string; subresource?: string; fieldsV1: Record<string, unknown> }>;
    for (const m of managed.filter((x) => x.manager === 'coxswain')) {
      expect(m.subresource, 'coxswain writes the Microservice only through /status').toBe('status');
      expect(m.fieldsV1).not.toHaveProperty('f:spec');
    }
    const diffMs = await kubectl(['diff', '--server-side', '--field-manager=argocd-controller', '-f', writeTemp('ledger.json', manifest)]);
    expect([diffMs.code, diffMs.stdout]).toEqual([0, '']);

    // The route: what `coxswain render` prints for this Microservice is exactly what is stored.
    const rendered = await renderObjects({ ...manifest, metadata: { ...manifest.metadata, uid: live.metadata.uid } });
    const route = rendered.find((o) => o.kind === 'HTTPRoute' && o.metadata.name === 'ledger')!;
    const stored = await getJSON('httproute', '-n', ns, 'ledger');
    expect(stored.spec).toEqual(route.spec);
    expect(stored.metadata.annotations['coxswain.dev/applied']).toBe(route.metadata.annotations['coxswain.dev/applied']);
    const routeFile = writeTemp('ledger-route.json', route);
    const diff = await kubectl(['diff', '--server-side', '--field-manager=coxswain', '--force-conflicts', '-f', routeFile]);
    expect([diff.code, diff.stdout]).toEqual([0, '']);
    const dry = JSON.parse(await k('apply', '--server-side', '--field-manager=coxswain', '--force-conflicts', '--dry-run=server', '-o', 'json', '-f', routeFile));
    expect([dry.metadata.generation, dry.metadata.resourceVersion]).toEqual([stored.metadata.generation, stored.metadata.resourceVersion]);
  });
});

const tmp = mkdtempSync(join(tmpdir(), 'coxswain-e2e-traffic-'));
function writeTemp(name: string, obj: unknown): string {
  const file = join(tmp, name);
  writeFileSync(file, JSON.stringify(obj));
  return file;
}

/** `coxswain render -f -` of one Microservice: the objects the operator applies first. */
function renderObjects(obj: unknown): Promise<Array<{ kind: string; metadata: { name: string; annotations: Record<string, string> }; spec: unknown }>> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [resolve(ROOT, 'dist/cli/main.js'), 'render', '-f', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? done(yaml.loadAll(out) as never) : fail(new Error(`coxswain render: ${err}`))));
    child.stdin.end(JSON.stringify(obj));
  });
}
