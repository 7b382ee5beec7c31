// Adversarial (wt-adv): a Microservice deleted in the middle of its takeover of a running
// Deployment, the way a user backs out of a migration (`kubectl delete ms`, or Argo CD pruning it
// after the app's manifests were reverted). Coxswain has by then scaled the old Deployment down
// through /scale and may have taken over its HPA; its own blue slot goes with the Microservice.
// The invariant DESIGN.md promises: Ready pods behind the Service never drop below
// replicas - maxUnavailable because of Coxswain, and nothing Coxswain does not own is lost. Last,
// a takeover watched through the Service's EndpointSlices rather than its pods (what traffic
// really reaches): passes (seen e.g. 4 -> 5 -> 6 -> 8 -> 7 -> 4 -> 4 -> 4), kept as a guard.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as yaml from 'js-yaml';
import { apply, createNamespace, deleteNamespace, eventually, getJSON, installCRD, k, kubectl, kubectlCoxswain, kubectlStream, Operator, sleep } from './harness.js';
import { current, story, watchServing } from './rollout-harness.js';
import { holdOnePodMore, holdPods, installChart, releasePods, teardown } from './adopt-harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-adv-adopt');
  operator = new Operator(['--namespaces', ns]).start();
});
afterEach(async () => {
  await releasePods(ns);
});
afterAll(async () => {
  await teardown(ns, operator);
});

const install = (name: string, replicas: number) => installChart(ns, name, replicas);

describe('a Microservice deleted half-way through its takeover', () => {
  // Found by adversarial testing (wt-adv): with no finalizer, nothing put the old Deployment back:
  // it stayed at the size the takeover had scaled it to (3 of 4), its HPA (retargeted to the
  // Microservice, so owned) was garbage-collected with it, and the Service was left with 3 Ready
  // pods for good ("4 -> 5 -> 4 -> 3"). Now the coxswain.dev/adoption finalizer holds the deletion
  // while the old Deployment is put back (src/adopt/backout.ts), so the blue pods serve until the
  // old ones are all available again.
  it('puts the old Deployment back to its replicas and hands its HPA back, keeping 4 Ready pods behind the Service', async () => {
    const name = 'backout';
    await install(name, 4);
    const printed = await kubectlCoxswain(ns, ['adopt', `deployment/${name}`, '--service', name, '--hpa', name]);
    expect(printed.code).toBe(0);
    // Held half-way (as adopt.test.ts does): one pod more than the namespace has, so new pods come one at a time.
    await holdOnePodMore(ns);
    const ms = yaml.load(printed.stdout) as any;
    ms.spec.minReadySeconds = 5;
    expect((await apply(ms)).stderr).toBe('');
    await eventually('the old Deployment scaled down to 3', async () => {
      const a = (await current(ns, name))?.status?.adoption;
      return a?.phase === 'ScalingDown' && a.scaledTo === 3;
    }, 90_000, 200);
    const watch = await watchServing(ns, name);
    expect((await getJSON('microservice', '-n', ns, name)).metadata.finalizers).toEqual(['coxswain.dev/adoption']);
    // No pod more than the namespace has now (the one-pod slack may be free, depending on how far
    // the blue slot got): the old Deployment cannot have its fourth pod back while the quota stands.
    await holdPods(ns);
    expect((await kubectl(['delete', 'microservice', name, '-n', ns, '--wait=false'])).code).toBe(0);
    // Held: so the Microservice (and its blue pods) stay.
    await sleep(3_000);
    expect((await getJSON('microservice', '-n', ns, name))?.metadata.deletionTimestamp).toBeDefined();
    await releasePods(ns);
    await eventually('the Microservice gone', async () => !(await getJSON('microservice', '-n', ns, name)), 90_000);
    // Its blue slot goes with it (garbage collection): the Service is left with the old pods alone.
    await eventually('the blue slot gone', async () => !(await getJSON('deployment', '-n', ns, `${name}-blue`)), 60_000);
    await sleep(2_000);
    const timeline = await watch.stop();
    const old = await getJSON('deployment', '-n', ns, name);
    const hpa = await getJSON('hpa', '-n', ns, name);
    const report = `old deployment spec.replicas=${old?.spec?.replicas} readyReplicas=${old?.status?.readyReplicas}; hpa ${hpa ? `on ${hpa.spec.scaleTargetRef.kind}/${hpa.spec.scaleTargetRef.name}` : 'gone'}; ${story(timeline)}`;
    expect(old?.spec?.replicas, report).toBe(4);
    expect(hpa?.spec?.scaleTargetRef, report).toMatchObject({ kind: 'Deployment', name });
    expect([hpa?.metadata.ownerReferences, old?.metadata.annotations?.['coxswain.dev/adopted-by']], report).toEqual([undefined, undefined]);
    expect(Math.min(...timeline.map((t) => t.pods.length)), report).toBeGreaterThanOrEqual(4);
    expect(timeline.at(-1)?.pods.map((p) => p.slot), report).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe('a takeover applied paused, then resumed', () => {
  // Found by adversarial testing (unit twin in src/adopt/adv.takeover.test.ts): held, the blue
  // slot has no pods by design, and the takeover's deadline ran on (AdoptionFailed for good). Time
  // held no longer counts (status.adoption.heldSince).
  it('holds the takeover while paused, and finishes it once resumed', async () => {
    const name = 'held';
    await install(name, 2);
    const printed = await kubectlCoxswain(ns, ['adopt', `deployment/${name}`, '--service', name, '--hpa', name]);
    expect(printed.code).toBe(0);
    const ms = yaml.load(printed.stdout) as any;
    ms.spec.paused = true;
    ms.spec.strategy = { ...(ms.spec.strategy ?? {}), progressDeadlineSeconds: 10 };
    expect((await apply(ms)).stderr).toBe('');
    await sleep(20_000);
    const held = await current(ns, name);
    expect(held?.status?.adoption?.phase, JSON.stringify(held?.status?.adoption)).not.toBe('Failed');
    expect((await kubectl(['patch', 'microservice', name, '-n', ns, '--type=merge', '-p', '{"spec":{"paused":false}}'])).code).toBe(0);
    await eventually('the takeover done once resumed', async () => (await current(ns, name))?.status?.adoption?.phase === 'Done', 60_000);
  });
});

/**
 * The Service's Ready endpoints as its EndpointSlices say, at every change until stop(): what a
 * kube-proxy or gateway actually sends to (the pod-based watch in rollout-harness.ts counts Ready
 * pods the selector matches, a step ahead of the EndpointSlice controller).
 */
async function watchEndpoints(service: string) {
  const path = `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${service}`)}`;
  const list = JSON.parse(await k('get', '--raw', path));
  const slices = new Map<string, any>(list.items.map((s: any) => [s.metadata.name, s]));
  const ready = () => [...slices.values()].flatMap((s) => s.endpoints ?? []).filter((e: any) => e.conditions?.ready !== false && !e.conditions?.terminating).length;
  const counts = [ready()];
  const w = kubectlStream(['get', '--raw', `${path}&watch=1&resourceVersion=${list.metadata.resourceVersion}`], (line) => {
    const e = JSON.parse(line);
    if (e.type === 'DELETED') slices.delete(e.object.metadata.name);
    else if (e.type === 'ADDED' || e.type === 'MODIFIED') slices.set(e.object.metadata.name, e.object);
    else return;
    counts.push(ready());
  });
  return {
    /** Until at least `n` Ready endpoints are published (the Deployment's pods are Ready a step ahead of its EndpointSlices); counts from there. */
    atLeast: (n: number) => eventually(`${n} Ready endpoints published for service/${service}`, async () => {
      if (ready() < n) return false;
      counts.splice(0, counts.length, ready());
      return true;
    }, 30_000, 100),
    stop: async () => { await w.stop(); return counts; },
  };
}

describe('a takeover seen through the Service\'s EndpointSlices', () => {
  it('never leaves fewer than 4 Ready endpoints behind the Service', async () => {
    const name = 'slices';
    await install(name, 4);
    const printed = await kubectlCoxswain(ns, ['adopt', `deployment/${name}`, '--service', name, '--hpa', name]);
    expect(printed.code).toBe(0);
    const endpoints = await watchEndpoints(name);
    await endpoints.atLeast(4);
    expect((await apply(printed.stdout)).stderr).toBe('');
    await eventually('the takeover done', async () => (await current(ns, name))?.status?.adoption?.phase === 'Done', 120_000);
    await sleep(2000);
    const counts = await endpoints.stop();
    // Seen move: the new pods joined (and the old ones left) through the EndpointSlices.
    expect([counts.length > 4, Math.max(...counts) > 4], counts.join(' -> ')).toEqual([true, true]);
    expect(Math.min(...counts), `Ready endpoints of service/${name} at each EndpointSlice change: ${counts.join(' -> ')}`).toBeGreaterThanOrEqual(4);
  });
});

