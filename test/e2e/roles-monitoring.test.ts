// Labels people's tools read, on the real cluster: every pod's coxswain.dev/role follows the
// release (stable and canary mid-canary, all stable once promoted; preview in a blue-green until
// the switch), patched on the very pods (their uids unchanged, no new ReplicaSet: nothing
// restarts for it); and the PodMonitor of spec.monitoring, Stalled (PodMonitorMissing) where its
// CRD is not served, rendered by the running operator once the CRD is installed, with no restart.
// The CRD is the Prometheus Operator's (hack/tools/prometheus-operator/crds.sh); no Prometheus
// Operator runs, as nothing here needs one to read the PodMonitor.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, condition, crdsEstablished, createNamespace, deleteNamespace, eventually, getJSON, installCRD, k, kubectl, microservice, Operator, ROOT } from './harness.js';
import { healthyAt, msOf } from './rollout-harness.js';

const PODMONITORS_CRD = 'podmonitors.monitoring.coreos.com';

let ns: string;
let operator: Operator;

/** The directory holding the PodMonitor CRD, generated and cached on first use. */
function podMonitorCRD(): Promise<string> {
  return new Promise((done, fail) => {
    execFile(resolve(ROOT, 'hack/tools/prometheus-operator/crds.sh'), { maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
      err ? fail(new Error(`hack/tools/prometheus-operator/crds.sh failed: ${stderr}`)) : done(stdout.trim()));
  });
}

/** On the PodMonitor CRD once this file has installed it: only such a one is ever removed here. */
const INSTALLED_HERE = 'coxswain.dev/e2e-installed';

/** Why the PodMonitor CRD may not be removed here (the cluster's own, or PodMonitors of someone else's would go with it), if so. */
async function mayRemovePodMonitors(): Promise<true | string> {
  const crd = await getJSON('crd', PODMONITORS_CRD);
  if (!crd) return true;
  if (crd.metadata.annotations?.[INSTALLED_HERE] !== 'true') return 'the cluster has a PodMonitor CRD the suite did not install';
  const foreign = ((await getJSON('podmonitors', '--all-namespaces'))?.items ?? []).filter((m: any) => !m.metadata.namespace.startsWith('e2e-'));
  return foreign.length === 0 ? true : `${foreign.length} PodMonitor(s) outside the suite's namespaces would be deleted with the CRD`;
}

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-roles');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

interface PodView { name: string; uid: string; slot: string; revision: string; role?: string }

/** The live (not terminating) pods of a Microservice. */
async function podsOf(name: string): Promise<PodView[]> {
  const items = (await getJSON('pods', '-n', ns, '-l', `app.kubernetes.io/name=${name}`))?.items ?? [];
  return items.filter((p: any) => !p.metadata.deletionTimestamp).map((p: any) => ({
    name: p.metadata.name, uid: p.metadata.uid, slot: p.metadata.labels['coxswain.dev/slot'],
    revision: p.metadata.labels['coxswain.dev/revision'], role: p.metadata.labels['coxswain.dev/role'],
  }));
}

/** The pods once every one of them has the role `want` gives its revision (and there are `count`). */
const rolesAre = (name: string, count: number, want: (revision: string) => string | undefined) => async () => {
  const pods = await podsOf(name);
  return pods.length === count && pods.every((p) => p.role === want(p.revision)) ? pods : undefined;
};

/** The ReplicaSets a slot's Deployment has made: a role patched on its pods must make none. */
const replicaSets = async (deployment: string) =>
  ((await getJSON('replicasets', '-n', ns))?.items ?? []).filter((r: any) => r.metadata.ownerReferences?.some((o: any) => o.name === deployment)).length;

describe('the role of each pod', () => {
  it('canary: stable and canary at the pause, every pod stable once promoted, the same pods (none restarted)', async () => {
    const spec = (image: string) => ({
      image, replicas: 2,
      strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: {} }], maxSurge: 1, maxUnavailable: 0 } },
    });
    await apply(microservice('orders', spec('registry.example/orders:1'), ns));
    const v1 = await eventually('v1 live', healthyAt(ns, 'orders', 'registry.example/orders:1'), 120_000);
    const r1 = v1.status.stableRevision as string;
    const before = await eventually('both v1 pods stable', rolesAre('orders', 2, (r) => (r === r1 ? 'stable' : undefined)), 30_000);

    await apply(microservice('orders', spec('registry.example/orders:2'), ns));
    const paused = await eventually('paused at 50%', async () => {
      const o = await msOf(ns, 'orders');
      return o?.status?.phase === 'Paused' && o.status.desiredRevision !== r1 ? o : undefined;
    }, 120_000);
    const r2 = paused.status.desiredRevision as string;
    const mid = await eventually('stable and canary pods', rolesAre('orders', 2, (r) => (r === r1 ? 'stable' : r === r2 ? 'canary' : undefined)), 30_000);
    expect(mid.map((p) => `${p.slot}:${p.role}`).sort()).toEqual(['blue:stable', 'green:canary']);
    // The stable pod is the very pod it was before the rollout: labelled, not replaced.
    expect(before.map((p) => p.uid)).toContain(mid.find((p) => p.role === 'stable')!.uid);
    const canaryPod = mid.find((p) => p.role === 'canary')!;
    // The role is on the pod, not in the template: the Deployment never rolls for it.
    const green = await getJSON('deployment', '-n', ns, 'orders-green');
    expect(green.spec.template.metadata.labels).not.toHaveProperty(['coxswain.dev/role']);
    expect(green.spec.selector.matchLabels).not.toHaveProperty(['coxswain.dev/role']);

    await k('annotate', '-n', ns, 'microservice', 'orders', 'coxswain.dev/action=promote', '--overwrite');
    await eventually('v2 live', healthyAt(ns, 'orders', 'registry.example/orders:2'), 120_000);
    const after = await eventually('every v2 pod stable', rolesAre('orders', 2, (r) => (r === r2 ? 'stable' : undefined)), 30_000);
    expect(after.map((p) => p.uid)).toContain(canaryPod.uid); // the canary pod itself became stable
    expect(await replicaSets('orders-green')).toBe(1);

    // A pod labelled like one of ours but made by no slot's ReplicaSet is not the operator's to write.
    const reconciles = () => operator.lines().filter((l) => l.msg === 'reconciled' && l.key === `${ns}/orders`).length;
    const seen = reconciles();
    await apply({
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: 'orders-lookalike', namespace: ns,
        labels: { 'app.kubernetes.io/name': 'orders', 'app.kubernetes.io/managed-by': 'coxswain', 'coxswain.dev/slot': 'green', 'coxswain.dev/revision': r2, 'coxswain.dev/role': 'canary' },
      },
      spec: { containers: [{ name: 'app', image: 'registry.example/orders:2' }] },
    });
    await eventually('a reconcile after the lookalike appeared', async () => reconciles() > seen, 30_000);
    expect((await getJSON('pod', '-n', ns, 'orders-lookalike')).metadata.labels['coxswain.dev/role']).toBe('canary');
    await k('delete', 'pod', '-n', ns, 'orders-lookalike', '--wait=false');
  });

  it('blue-green: the candidate\'s pod is preview until the switch, then stable, the same pod', async () => {
    const spec = (image: string) => ({ image, replicas: 2, strategy: { type: 'BlueGreen', blueGreen: { previewReplicas: 1, scaleDownDelaySeconds: 0 } } });
    await apply(microservice('pay', spec('registry.example/pay:1'), ns));
    const v1 = await eventually('v1 live', healthyAt(ns, 'pay', 'registry.example/pay:1'), 120_000);
    const r1 = v1.status.stableRevision as string;
    await apply(microservice('pay', spec('registry.example/pay:2'), ns));
    const waiting = await eventually('waiting for promotion', async () => {
      const o = await msOf(ns, 'pay');
      return o?.status?.phase === 'Paused' && o.status.desiredRevision !== r1 ? o : undefined;
    }, 120_000);
    const r2 = waiting.status.desiredRevision as string;
    const mid = await eventually('stable and preview pods', rolesAre('pay', 3, (r) => (r === r1 ? 'stable' : r === r2 ? 'preview' : undefined)), 30_000);
    const preview = mid.find((p) => p.role === 'preview')!;

    await k('annotate', '-n', ns, 'microservice', 'pay', 'coxswain.dev/action=promote', '--overwrite');
    await eventually('v2 live', healthyAt(ns, 'pay', 'registry.example/pay:2'), 120_000);
    const after = await eventually('every v2 pod stable', rolesAre('pay', 2, (r) => (r === r2 ? 'stable' : undefined)), 30_000);
    expect(after.map((p) => p.uid)).toContain(preview.uid);
    expect(await replicaSets(`pay-${preview.slot}`)).toBe(1);
  });
});

describe('the PodMonitor of spec.monitoring', () => {
  it('is Stalled, PodMonitorMissing, without the CRD (all else applied), and rendered once the CRD is installed, with no restart', async (t) => {
    const may = await mayRemovePodMonitors();
    if (may !== true) t.skip(`not removing the PodMonitor CRD: ${may}`);
    await kubectl(['delete', 'crd', PODMONITORS_CRD, '--ignore-not-found', '--wait=true', '--timeout=120s']);
    await eventually('PodMonitors no longer served', async () => !(await kubectl(['get', '--raw', '/apis/monitoring.coreos.com/v1'])).stdout.includes('"podmonitors"'), 60_000);

    const ports = [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9090 }];
    await apply(microservice('metered', { image: 'registry.example/metered:1', replicas: 2, ports, monitoring: { port: 'metrics', interval: '15s' } }, ns));
    const stalled = await eventually('Stalled with PodMonitorMissing', async () => {
      const o = await msOf(ns, 'metered');
      return condition(o, 'Stalled')?.reason === 'PodMonitorMissing' && o.status.readyReplicas === 2 ? o : undefined;
    }, 120_000);
    expect(condition(stalled, 'Stalled')!.message).toMatch(/spec\.monitoring needs the Prometheus Operator: PodMonitors \(monitoring\.coreos\.com\/v1\) are not served/);
    expect(await getJSON('deployment', '-n', ns, 'metered-blue')).toBeDefined(); // everything else applied, its pods Ready
    await eventually('a PodMonitorMissing Event', async () =>
      (await getJSON('events', '-n', ns, '--field-selector', 'involvedObject.name=metered,reason=PodMonitorMissing')).items.length > 0, 15_000);

    const pid = operator.pid;
    await k('apply', '--server-side', '--force-conflicts', '-f', await podMonitorCRD());
    await k('annotate', 'crd', PODMONITORS_CRD, `${INSTALLED_HERE}=true`, '--overwrite');
    await crdsEstablished(PODMONITORS_CRD);
    const pm = await eventually<any>('the PodMonitor rendered', () => getJSON('podmonitor', '-n', ns, 'metered'), 90_000);
    expect(pm.metadata.ownerReferences[0]).toMatchObject({ kind: 'Microservice', name: 'metered', controller: true });
    expect(pm.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'metered', 'app.kubernetes.io/managed-by': 'coxswain' });
    expect(pm.spec.podMetricsEndpoints).toEqual([{
      port: 'metrics', path: '/metrics', interval: '15s',
      relabelings: ['revision', 'slot', 'role'].map((l) => ({ action: 'replace', sourceLabels: [`__meta_kubernetes_pod_label_coxswain_dev_${l}`], targetLabel: l })),
    }]);
    const healthy = await eventually('Healthy, no longer Stalled', async () => {
      const o = await msOf(ns, 'metered');
      return o?.status?.phase === 'Healthy' && condition(o, 'Stalled')?.status === 'False' ? o : undefined;
    }, 60_000);
    expect(condition(healthy, 'Ready')?.status).toBe('True');
    expect(operator.alive).toBe(true);
    expect(operator.pid).toBe(pid);
    expect(operator.lines().some((l) => l.msg === 'resource served: watching it' && l.resource === PODMONITORS_CRD)).toBe(true);
  });
});
