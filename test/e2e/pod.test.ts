// The whole pod on a real cluster: init containers, a native sidecar, a preStop hook and the pod's
// scheduling fields go Ready; a canary of a new sidecar image rolls out as a new revision; a
// failing init container or crash-looping sidecar in the candidate aborts it, the container named.
// KWOK plays kubelet: hack/cluster/manifests/kwok-stages.yaml starts sidecars and completes init
// containers, and `coxswain.dev/e2e-fail-init: <name>` makes the named one crash-loop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply, auditMark, condition, createNamespace, deleteNamespace, eventually, getJSON, hasAuditLog, installCRD, k, kubectl, microservice, Operator, operatorRequests,
  sleep, WRITE_VERBS,
} from './harness.js';
import { healthyAt, msOf, slotsOf } from './rollout-harness.js';

let ns: string;
let operator: Operator;
const suffix = Math.random().toString(36).slice(2, 8);
const priorityClass = `e2e-pod-${suffix}`;
const runtimeClass = `e2e-pod-${suffix}`;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-pod');
  // Pods may name only a PriorityClass and a RuntimeClass that exist (admission checks both).
  await apply({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: priorityClass }, value: 1000 });
  await apply({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: runtimeClass }, handler: 'runc' });
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
  await kubectl(['delete', 'priorityclass', priorityClass, '--wait=false']);
  await kubectl(['delete', 'runtimeclass', runtimeClass, '--wait=false']);
});

const migrate = { name: 'migrate', image: 'registry.example/orders:1', command: ['/bin/migrate', 'up'] };
const warm = { name: 'warm', image: 'registry.example/orders:1', command: ['/bin/warm-cache'] };
const proxy = (tag: string) => ({ name: 'proxy', image: `gcr.io/cloud-sql-connectors/cloud-sql-proxy:${tag}`, args: ['--port=5432', 'shop:europe-west1:orders'] });

const spec = (extra: Record<string, unknown> = {}) => ({
  image: 'registry.example/orders:1',
  replicas: 3,
  ports: [{ name: 'http', port: 8080 }],
  initContainers: [migrate, warm],
  sidecars: [proxy('2.14.0')],
  lifecycle: { preStop: { exec: { command: ['/bin/sleep', '5'] } } },
  imagePullPolicy: 'IfNotPresent',
  workingDir: '/app',
  minReadySeconds: 1,
  disruption: { minAvailable: '50%' },
  autoscaling: { minReplicas: 3, maxReplicas: 6, metrics: [{ type: 'Pods', pods: { metric: { name: 'http_requests_per_second' }, target: { type: 'AverageValue', averageValue: '100' } } }] },
  pod: {
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' }],
    priorityClassName: priorityClass,
    runtimeClassName: runtimeClass,
    dnsConfig: { options: [{ name: 'ndots', value: '2' }] },
    hostAliases: [{ ip: '10.1.2.3', hostnames: ['db.internal'] }],
    shareProcessNamespace: true,
    enableServiceLinks: false,
    automountServiceAccountToken: false,
  },
  strategy: { type: 'Canary', canary: { steps: [{ setWeight: 34 }, { pause: { duration: '1s' } }] }, progressDeadlineSeconds: 600 },
  ...extra,
});

describe('a production pod', () => {
  it('with two init containers, a native sidecar and a preStop hook goes Ready, every field on its pods', async () => {
    await apply(microservice('orders', spec(), ns));
    const o = await eventually('Ready', healthyAt(ns, 'orders', 'registry.example/orders:1'), 120_000);
    const dep = await getJSON('deployment', '-n', ns, `orders-${o.status.activeSlot}`);
    const pod = dep.spec.template.spec;
    expect(pod.initContainers.map((c: any) => [c.name, c.restartPolicy])).toEqual([['proxy', 'Always'], ['migrate', undefined], ['warm', undefined]]);
    expect(pod.containers[0]).toMatchObject({ lifecycle: { preStop: { exec: { command: ['/bin/sleep', '5'] } } }, imagePullPolicy: 'IfNotPresent', workingDir: '/app' });
    expect(pod).toMatchObject({
      priorityClassName: priorityClass, runtimeClassName: runtimeClass, shareProcessNamespace: true, enableServiceLinks: false, automountServiceAccountToken: false,
      hostAliases: [{ ip: '10.1.2.3', hostnames: ['db.internal'] }],
      topologySpreadConstraints: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'orders', 'app.kubernetes.io/managed-by': 'coxswain' } } }],
    });
    expect(dep.spec.minReadySeconds).toBe(1);
    expect((await getJSON('hpa', '-n', ns, 'orders')).spec.metrics).toEqual([
      { type: 'Pods', pods: { metric: { name: 'http_requests_per_second' }, target: { type: 'AverageValue', averageValue: '100' } } },
    ]);
    expect((await getJSON('pdb', '-n', ns, 'orders')).spec).toMatchObject({ minAvailable: '50%', unhealthyPodEvictionPolicy: 'AlwaysAllow' });
    // The pods themselves: admitted with the priority, their sidecar running, their init containers done.
    const pods = (await getJSON('pods', '-n', ns, '-l', 'app.kubernetes.io/name=orders')).items;
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.spec.priority).toBe(1000);
      expect(p.status.initContainerStatuses.map((c: any) => [c.name, Object.keys(c.state)[0]])).toEqual([['proxy', 'running'], ['migrate', 'terminated'], ['warm', 'terminated']]);
    }
  });

  it('rolls out a new sidecar image as a new revision, by the canary\'s steps', async () => {
    const before = await msOf(ns, 'orders');
    await apply(microservice('orders', spec({ sidecars: [proxy('2.15.0')] }), ns));
    const after = await eventually('the new sidecar live', async () => {
      const o = await healthyAt(ns, 'orders', 'registry.example/orders:1')();
      return o && o.status.stableRevision !== before.status.stableRevision ? o : undefined;
    }, 120_000);
    expect(after.status.activeSlot).not.toBe(before.status.activeSlot); // a rollout into the other slot, not a native roll
    const dep = await getJSON('deployment', '-n', ns, `orders-${after.status.activeSlot}`);
    expect(dep.spec.template.spec.initContainers[0].image).toBe('gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.15.0');
    expect(dep.spec.template.metadata.labels['coxswain.dev/revision']).toBe(after.status.stableRevision);
    // The revision kept for undo holds the sidecar too.
    const kept = await getJSON('controllerrevision', '-n', ns, `orders-${after.status.stableRevision}`);
    expect(kept.data.template.spec.initContainers[0].image).toBe('gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.15.0');
    expect((await slotsOf(ns, 'orders'))[before.status.activeSlot]?.replicas).toBe(0);
  });

  it.each<[string, string]>([
    ['a failing init container', 'CrashLoopBackOff in init container migrate (exit code 1)'],
    ['a crash-looping sidecar', 'CrashLoopBackOff in sidecar proxy (exit code 1)'],
  ])('aborts a candidate with %s, naming the container, long before the deadline', async (_what, failure) => {
    const container = failure.split(' ').at(-4)!;
    const stable = (await msOf(ns, 'orders')).status.stableRevision;
    const started = Date.now();
    await apply(microservice('orders', spec({ sidecars: [proxy('2.15.0')], image: `registry.example/orders:bad-${container}`, pod: { ...spec().pod, labels: { 'coxswain.dev/e2e-fail-init': container } } }), ns));
    const aborted = await eventually('the candidate aborted', async () => {
      const o = await msOf(ns, 'orders');
      return condition(o, 'Stalled')?.reason === 'RolloutAborted' ? o : undefined;
    }, 90_000);
    expect(condition(aborted, 'Stalled')!.message).toContain(`are failing (${failure})`);
    expect(Date.now() - started).toBeLessThan(60_000); // the deadline is 600 s
    expect(aborted.status.stableRevision).toBe(stable);
    // The candidate's pod really is stuck in its init phase, as kubelet reports it.
    const stuck = (await getJSON('pods', '-n', ns, '-l', `coxswain.dev/revision=${aborted.status.desiredRevision}`))?.items ?? [];
    for (const p of stuck) expect(p.status.phase).toBe('Pending');
    // Back to a good spec for the next case.
    await apply(microservice('orders', spec({ sidecars: [proxy('2.15.0')] }), ns));
    await eventually('back on the good revision', async () => {
      const o = await msOf(ns, 'orders');
      return o.status.stableRevision === stable && condition(o, 'Ready')?.status === 'True' && o.status.observedGeneration === o.metadata.generation;
    }, 60_000);
  });

  it('is refused at apply when a sidecar takes the main container\'s name', async () => {
    const r = await apply(microservice('orders', spec({ sidecars: [{ ...proxy('2.15.0'), name: 'orders' }] }), ns));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.sidecars: Invalid value.*container names must be unique/);
    await k('get', 'microservice', '-n', ns, 'orders');
  });

  it.skipIf(!hasAuditLog)('is left alone at rest: a restarted operator finds every object as it renders it, and writes nothing', async () => {
    await operator.stop();
    const mark = auditMark();
    operator = new Operator(['--namespaces', ns]).start();
    await eventually('the restarted operator to reconcile', async () => operator.lines().some((l) => l.msg === 'reconciled'));
    await sleep(3000);
    expect(operatorRequests(mark, ns).filter((e) => WRITE_VERBS.has(e.verb)).map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name}`)).toEqual([]);
  });
});
