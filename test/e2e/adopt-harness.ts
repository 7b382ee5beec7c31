// What the adoption e2e files share: a chart's objects applied as Helm would, and a takeover held
// half-way for as long as a test needs, and a teardown that lets the adoption finalizer go.
import { expect } from 'vitest';
import { apply, deleteNamespace, eventually, getJSON, kubectl, type Operator } from './harness.js';

/** What a chart would render: a Deployment, its Service and HPA, selected by app.kubernetes.io/name and instance. */
export function chart(ns: string, name: string, replicas: number) {
  const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': name };
  return [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns, labels: { ...labels, 'app.kubernetes.io/managed-by': 'Helm' } },
      spec: { replicas, selector: { matchLabels: labels }, strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: { metadata: { labels }, spec: { containers: [{ name, image: `registry.example/${name}:1`, ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/ready', port: 'http' } } }] } } } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns, labels }, spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
    { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name, namespace: ns },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name }, minReplicas: replicas, maxReplicas: 8,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }] } },
  ];
}

/** The chart applied as Helm would (server-side, field manager `helm`), its pods Ready. */
export async function installChart(ns: string, name: string, replicas: number): Promise<void> {
  const r = await kubectl(['apply', '--server-side', '--field-manager=helm', '-f', '-'], chart(ns, name, replicas).map((o) => JSON.stringify(o)).join('\n'));
  expect(r.stderr).toBe('');
  await eventually(`${name}: ${replicas} pods Ready`, async () => (await getJSON('deployment', '-n', ns, name))?.status?.readyReplicas === replicas, 120_000);
}

/**
 * A takeover held half-way: a ResourceQuota `one-pod-more` lets the namespace have one pod more
 * than it has, so new pods come one at a time, each only once an old one has gone.
 */
export const holdOnePodMore = (ns: string): Promise<void> => quotaPods(ns, 1);

/** The same quota moved to the pods the namespace has now: no new pod starts until it goes. */
export const holdPods = (ns: string): Promise<void> => quotaPods(ns, 0);

/** The quota `one-pod-more` at `more` pods above those running now (applied again, it moves). */
async function quotaPods(ns: string, more: number): Promise<void> {
  const running = async () => ((await getJSON('pods', '-n', ns))?.items ?? []).filter((p: any) => !p.metadata.deletionTimestamp && !['Succeeded', 'Failed'].includes(p.status?.phase)).length;
  const hard = String((await running()) + more);
  const quota = { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'one-pod-more', namespace: ns }, spec: { hard: { pods: hard } } };
  expect((await apply(quota)).stderr).toBe('');
  await eventually('the quota counted', async () => {
    const q = await getJSON('resourcequota', '-n', ns, 'one-pod-more');
    return q?.status?.used?.pods !== undefined && q.status.hard?.pods === hard;
  }, 30_000);
}

/** The quota gone, whatever a test left it at (a test that failed half-way must not hold the next one's pods). */
export async function releasePods(ns: string): Promise<void> {
  await kubectl(['delete', 'resourcequota', 'one-pod-more', '-n', ns, '--ignore-not-found']);
}

/**
 * The namespace deleted while the operator still runs, then the operator stopped: a Microservice
 * left mid-takeover (or failed) holds the coxswain.dev/adoption finalizer, which only a running
 * operator lets go (src/adopt/backout.ts), as in a cluster.
 */
export async function teardown(ns: string, operator: Operator): Promise<void> {
  await deleteNamespace(ns);
  await eventually(`the Microservices of namespace ${ns} gone`, async () => ((await getJSON('microservices', '-n', ns))?.items.length ?? 0) === 0, 60_000);
  await operator.stop();
}
