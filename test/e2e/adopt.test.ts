// Issue 22: moving a running Deployment, Service and HPA under a Microservice. They are made by
// another field manager (`helm`, as Helm or Argo CD would); `kubectl coxswain adopt` prints the
// Microservice without writing anything; applied, it takes over with the Ready pods behind the
// Service never below 4 (every pod and Service change watched, not polled); something scaling the
// old Deployment back up is reported with its manager's name and not fought (audit log); and new
// pods that never become Ready put the old Deployment back; an operator killed mid-takeover finishes it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as yaml from 'js-yaml';
import {
  apply, auditMark, condition, createNamespace, deleteNamespace, eventually, getJSON, hasAuditLog, installCRD, kubectl, kubectlCoxswain, Operator, operatorRequests, sleep, WRITE_VERBS,
} from './harness.js';
import { current, servingPods, story, watchServing } from './rollout-harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-adopt');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

/** What a chart would render: a Deployment, its Service and HPA, selected by app.kubernetes.io/name and instance. */
function chart(name: string, replicas: number) {
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

/** Applied as Helm would: server-side, field manager `helm`. */
async function install(name: string, replicas: number): Promise<void> {
  const r = await kubectl(['apply', '--server-side', '--field-manager=helm', '-f', '-'], chart(name, replicas).map((o) => JSON.stringify(o)).join('\n'));
  expect(r.stderr).toBe('');
  await eventually(`${name}: ${replicas} pods Ready`, async () => (await getJSON('deployment', '-n', ns, name))?.status?.readyReplicas === replicas, 120_000);
}

const resourceVersions = async (name: string) =>
  Promise.all(['deployment', 'service', 'hpa'].map(async (kind) => (await getJSON(kind, '-n', ns, name))?.metadata.resourceVersion));

describe('adopting a 4-replica Deployment, its Service and HPA', () => {
  const name = 'shop';

  it('prints the Microservice, writes nothing, and takes over with 4 Ready pods behind the Service throughout', async () => {
    await install(name, 4);
    const before = await resourceVersions(name);
    const printed = await kubectlCoxswain(ns, ['adopt', `deployment/${name}`, '--service', name, '--hpa', name]);
    expect(printed.stderr).toBe('');
    expect(printed.code).toBe(0);
    expect(await resourceVersions(name)).toEqual(before);
    const ms = yaml.load(printed.stdout) as any;
    expect(ms.spec).toMatchObject({ image: `registry.example/${name}:1`, replicas: 4, adopt: { deployment: name, service: name, hpa: name },
      autoscaling: { minReplicas: 4, maxReplicas: 8, targetCPUUtilizationPercentage: 70 } });

    const watch = await watchServing(ns, name);
    const applied = await apply(printed.stdout);
    expect(applied.stderr).toBe('');
    const done = await eventually('the takeover done', async () => {
      const o = await current(ns, name);
      return o?.status?.adoption?.phase === 'Done' && condition(o, 'Ready')?.status === 'True' && o;
    }, 180_000);
    const timeline = await watch.stop();
    const min = Math.min(...timeline.map((t) => t.pods.length));
    expect(min, `Ready pods behind service/${name} at each of ${timeline.length} changes: ${story(timeline)}`).toBeGreaterThanOrEqual(4);
    expect(timeline.some((t) => t.pods.some((p) => p.slot === 'blue')) && timeline.some((t) => t.pods.some((p) => p.slot === undefined)), 'old and new pods served side by side').toBe(true);

    // The Service selects the blue slot only, and is Coxswain's; the old Deployment at 0, annotated, kept.
    const svc = await getJSON('service', '-n', ns, name);
    expect(svc.spec.selector).toMatchObject({ 'app.kubernetes.io/name': name, 'app.kubernetes.io/managed-by': 'coxswain' });
    const serving = await servingPods(ns, name);
    expect(serving?.pods.map((p) => p.slot)).toEqual(['blue', 'blue', 'blue', 'blue']);
    expect(svc.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Microservice', name, uid: done.metadata.uid, controller: true })]);
    const old = await getJSON('deployment', '-n', ns, name);
    expect([old.spec.replicas, old.metadata.annotations['coxswain.dev/adopted-by']]).toEqual([0, name]);
    // One HPA, on the Microservice.
    const hpas = (await getJSON('hpa', '-n', ns)).items;
    expect(hpas.map((h: any) => [h.metadata.name, h.spec.scaleTargetRef.kind, h.spec.scaleTargetRef.name])).toEqual([[name, 'Microservice', name]]);
    expect((await kubectlCoxswain(ns, ['get', name])).stdout).toMatch(/^Adoption: +deployment\/shop Done \(at 0 of 4 replicas\)/m);
  });

  it('reports the old Deployment scaled back up by another manager, naming it, and does not fight it', async () => {
    // As an Argo CD sync does: the chart's Deployment applied again, by its own field manager.
    const deployment = chart(name, 4)[0]!;
    const scale = (replicas: number) => kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=argocd-controller', '-f', '-'],
      JSON.stringify({ ...deployment, spec: { ...deployment.spec, replicas } }));
    expect((await scale(2)).code).toBe(0);
    const revived = await eventually('AdoptedWorkloadRevived', async () => {
      const c = condition(await current(ns, name), 'Stalled');
      return c?.reason === 'AdoptedWorkloadRevived' && c;
    }, 90_000);
    expect(revived.message).toContain('by argocd-controller');
    const mark = auditMark();
    await sleep(60_000);
    if (hasAuditLog) {
      const writes = operatorRequests(mark, ns).filter((e) => WRITE_VERBS.has(e.verb));
      expect(writes.map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.subresource ?? ''}${e.objectRef?.name}`)).toEqual([]);
    }
    expect((await getJSON('deployment', '-n', ns, name)).spec.replicas).toBe(2);
    // The Service kept serving the Microservice's pods meanwhile.
    expect((await getJSON('service', '-n', ns, name)).spec.selector['app.kubernetes.io/managed-by']).toBe('coxswain');
    // Back at 0: it carries on.
    expect((await scale(0)).code).toBe(0);
    await eventually('no longer stalled', async () => condition(await current(ns, name), 'Stalled')?.status === 'False', 90_000);
  });
});

describe('the operator killed at random instants during adoption', () => {
  it('finishes, with 4 Ready pods behind the Service throughout', async () => {
    const name = 'crash';
    await install(name, 4);
    const printed = await kubectlCoxswain(ns, ['adopt', `deployment/${name}`, '--service', name, '--hpa', name]);
    expect(printed.code).toBe(0);
    const watch = await watchServing(ns, name);
    expect((await apply(printed.stdout)).stderr).toBe('');
    // SIGKILL (no graceful shutdown) twice, a new operator each time: once as soon as the takeover
    // is seen under way, once at a random instant of the next seconds.
    const phases: string[] = [];
    await eventually('the takeover under way', async () => (await current(ns, name))?.status?.adoption?.phase === 'ScalingDown', 60_000, 100);
    for (let i = 0; i < 2; i++) {
      if (i > 0) await sleep(Math.floor(Math.random() * 2500));
      await operator.stop('SIGKILL');
      const a = (await current(ns, name))?.status?.adoption;
      phases.push(a ? `${a.phase} at ${a.scaledTo}` : 'not begun');
      operator = new Operator(['--namespaces', ns]).start();
    }
    await eventually('the takeover done', async () => (await current(ns, name))?.status?.adoption?.phase === 'Done', 180_000);
    const timeline = await watch.stop();
    console.log(`killed at: ${phases.join('; ')}; Ready pods: ${story(timeline)}`);
    expect(Math.min(...timeline.map((t) => t.pods.length)), `killed in phases ${phases.join(', ')}; Ready pods: ${story(timeline)}`).toBeGreaterThanOrEqual(4);
    expect((await getJSON('deployment', '-n', ns, name)).spec.replicas).toBe(0);
    expect((await getJSON('service', '-n', ns, name)).metadata.ownerReferences?.[0]?.kind).toBe('Microservice');
  });
});

describe('adoption whose new pods never become Ready', () => {
  it('puts the old Deployment back at full size, loses no endpoint, and says AdoptionFailed', async () => {
    const name = 'stuck';
    await install(name, 3);
    // Its HPA not named: refused, as it would scale the old Deployment back up.
    const refused = await kubectlCoxswain(ns, ['adopt', `deployment/${name}`, '--service', name]);
    expect([refused.code, refused.stdout, refused.stderr]).toEqual([2, '',
      `cannot adopt deployment/${name}:\n  - horizontalpodautoscaler/${name} scales deployment/${name}: name it with --hpa, or it would scale the old Deployment back up during the takeover\n`]);
    const printed = await kubectlCoxswain(ns, ['adopt', `deployment/${name}`, '--service', name, '--hpa', name]);
    expect(printed.code).toBe(0);
    const ms = yaml.load(printed.stdout) as any;
    // The KWOK stage keeps pods with this label unready: a release that never starts.
    ms.spec.pod.labels['coxswain.dev/e2e-ready'] = 'false';
    ms.spec.strategy = { ...ms.spec.strategy, progressDeadlineSeconds: 20 };
    const watch = await watchServing(ns, name);
    expect((await apply(ms)).stderr).toBe('');
    const failed = await eventually('AdoptionFailed', async () => {
      const c = condition(await current(ns, name), 'Stalled');
      return c?.reason === 'AdoptionFailed' && c;
    }, 120_000);
    expect(failed.message).toContain(`deployment/${name} is back at 3 replicas`);
    const timeline = await watch.stop();
    expect(Math.min(...timeline.map((t) => t.pods.length)), story(timeline)).toBeGreaterThanOrEqual(3);
    const old = await getJSON('deployment', '-n', ns, name);
    expect([old.spec.replicas, old.status.readyReplicas]).toEqual([3, 3]);
    // The Service is still the chart's, on the old pods.
    const svc = await getJSON('service', '-n', ns, name);
    expect([svc.metadata.ownerReferences, svc.spec.selector['app.kubernetes.io/instance']]).toEqual([undefined, name]);
  });
});
