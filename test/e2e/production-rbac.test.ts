// RBAC proven, not assumed: the operator runs with a token of the chart's ServiceAccount, bound by
// the chart's own (rendered) RBAC, and takes Microservices through everything that needs a
// permission: create, change (a stale ConfigMap deleted), a canary (slots resized through
// /scale), an action (the annotation cleared), events, and the leader Lease. The API server's
// audit log must then show no request of that ServiceAccount refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply, auditEvents, type AuditEvent, auditMark, condition, createNamespace, deleteNamespace, eventually, getJSON, hasAuditLog, installCRD, k, kubectl, microservice,
} from './harness.js';
import { installChartRBAC, RunningOperator, serviceAccountKubeconfig, suffix } from './production-harness.js';

function refusals(since: number, username: string): AuditEvent[] {
  return auditEvents(since).filter((e) => e.user?.username === username && e.responseStatus?.code === 403);
}

const ready = (ns: string, name: string) => async () => {
  const o = await getJSON('microservice', '-n', ns, name);
  return o?.status?.observedGeneration === o?.metadata.generation && condition(o, 'Ready')?.status === 'True' ? o : undefined;
};

const cleanups: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  await installCRD();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Runs one Microservice through every kind of write the operator makes, as `sa`. */
async function exercise(operatorNs: string, appNs: string, kubeconfig: string, args: string[]) {
  // The production default, secure /metrics: the token reviews it asks for are in the chart's RBAC too.
  const op = await new RunningOperator({ kubeconfig, metrics: 'secure', args: ['--namespaces', appNs, '--leader-elect', '--leader-election-namespace', operatorNs, ...args] }).start();
  cleanups.push(() => op.stop());
  const name = 'checkout';
  const spec = {
    image: 'registry.example/checkout:1',
    replicas: 2,
    ports: [{ name: 'http', port: 8080 }],
    config: { data: { MODE: 'a' } },
    autoscaling: { minReplicas: 2, maxReplicas: 4 },
    disruption: { maxUnavailable: 1 },
  };
  expect((await apply(microservice(name, spec, appNs))).code).toBe(0);
  await eventually('Ready under the ServiceAccount', ready(appNs, name), 120_000);
  for (const kind of ['deployment', 'service', 'hpa', 'networkpolicy', 'poddisruptionbudget']) {
    expect((await kubectl(['get', '-n', appNs, kind, kind === 'deployment' ? `${name}-blue` : name])).code, kind).toBe(0);
  }

  // A config change: a new ConfigMap, and the old one deleted once the rollout is done.
  await apply(microservice(name, { ...spec, config: { data: { MODE: 'b' } } }, appNs));
  await eventually('the stale ConfigMap deleted', async () => {
    const cms = (await getJSON('configmaps', '-n', appNs, '-l', `app.kubernetes.io/name=${name}`))?.items ?? [];
    return cms.length === 1 && cms[0].data?.MODE === 'b' && (await ready(appNs, name)());
  }, 120_000);

  // A canary to a pause: the slots are resized through deployments/scale.
  const canary = { ...spec, image: 'registry.example/checkout:2', strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: {} }] } } };
  await apply(microservice(name, canary, appNs));
  await eventually('the canary paused at 50%', async () => {
    const o = await getJSON('microservice', '-n', appNs, name);
    return o?.status?.rollout?.weight === 50 && o?.status?.phase === 'Paused';
  }, 120_000);

  // An action: carried out, and its annotation cleared (a patch of the Microservice).
  await k('annotate', '-n', appNs, `microservice/${name}`, `coxswain.dev/action=promote:${suffix()}`);
  await eventually('promoted, the annotation cleared', async () => {
    const o = await ready(appNs, name)();
    return o && !o.metadata.annotations?.['coxswain.dev/action'] && o.status.slots?.[o.status.activeSlot]?.image === canary.image;
  }, 120_000);

  // Events were recorded by the operator.
  const events = (await getJSON('events', '-n', appNs, '--field-selector', `involvedObject.name=${name}`))?.items ?? [];
  expect(events.some((e: { source?: { component?: string } }) => e.source?.component === 'coxswain')).toBe(true);
  return op;
}

describe('the chart\'s RBAC, limited to listed namespaces (Roles)', () => {
  it('is enough for the whole life of a Microservice, and nothing the operator asks is refused', async () => {
    const operatorNs = await createNamespace('e2e-prod-rbac-op');
    const appNs = await createNamespace('e2e-prod-rbac-app');
    cleanups.push(() => deleteNamespace(operatorNs), () => deleteNamespace(appNs));
    const rbac = await installChartRBAC(`rbac-${suffix()}`, operatorNs, { watchNamespaces: [appNs] });
    cleanups.push(rbac.cleanup);
    // Cluster-wide only what secure /metrics needs: the auth-delegator binding and the reader role.
    expect(rbac.objects.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'Role', 'Role', 'RoleBinding', 'RoleBinding', 'ServiceAccount']);
    const user = `system:serviceaccount:${operatorNs}:${rbac.sa}`;

    // Least privilege, spot-checked: what it needs, and not more.
    const can = async (...args: string[]) => (await kubectl(['auth', 'can-i', '--as', user, ...args])).stdout.trim();
    // The authorizer reads RBAC through an informer: a new binding is in force a moment after apply.
    await eventually('the RBAC to be in force', async () => (await can('patch', 'microservices.coxswain.dev/status', '-n', appNs)) === 'yes', 15_000);
    expect(await can('list', 'microservices.coxswain.dev', '-n', 'default')).toBe('no');
    expect(await can('get', 'secrets', '-n', appNs)).toBe('no');
    expect(await can('delete', 'microservices.coxswain.dev', '-n', appNs)).toBe('no');
    expect(await can('update', 'leases.coordination.k8s.io/someone-else', '-n', operatorNs)).toBe('no');
    expect([await can('create', 'tokenreviews.authentication.k8s.io'), await can('create', 'subjectaccessreviews.authorization.k8s.io')]).toEqual(['yes', 'yes']);

    const mark = hasAuditLog ? auditMark() : 0;
    const kubeconfig = await serviceAccountKubeconfig(operatorNs, rbac.sa);
    const op = await exercise(operatorNs, appNs, kubeconfig, []);
    const lease = await getJSON('lease', '-n', operatorNs, 'coxswain-leader');
    expect(lease?.spec.holderIdentity).toBe(op.identity);
    if (hasAuditLog) expect(refusals(mark, user)).toEqual([]);
    expect(op.lines().filter((l) => /forbidden/i.test(JSON.stringify(l)))).toEqual([]);
    expect((await op.stop()).code).toBe(0);
  });
});

describe('the chart\'s RBAC, cluster-wide (ClusterRole)', () => {
  it('lets the operator watch every namespace, and is enough for the whole life of a Microservice', async () => {
    const operatorNs = await createNamespace('e2e-prod-rbac-op');
    const appNs = await createNamespace('e2e-prod-rbac-app');
    cleanups.push(() => deleteNamespace(operatorNs), () => deleteNamespace(appNs));
    const rbac = await installChartRBAC(`rbac-${suffix()}`, operatorNs);
    cleanups.push(rbac.cleanup);
    expect(rbac.objects.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ServiceAccount']);
    const user = `system:serviceaccount:${operatorNs}:${rbac.sa}`;
    const can = async (...args: string[]) => (await kubectl(['auth', 'can-i', '--as', user, ...args])).stdout.trim();
    // Watching all namespaces takes cluster-wide list and watch. (The operator under test is
    // still limited to its own namespace: others' test namespaces have their own operators.)
    await eventually('the RBAC to be in force', async () => (await can('list', 'microservices.coxswain.dev', '--all-namespaces')) === 'yes', 15_000);
    expect(await can('watch', 'deployments.apps', '--all-namespaces')).toBe('yes');
    expect(await can('get', 'secrets', '-n', appNs)).toBe('no');

    const mark = hasAuditLog ? auditMark() : 0;
    const kubeconfig = await serviceAccountKubeconfig(operatorNs, rbac.sa);
    const op = await exercise(operatorNs, appNs, kubeconfig, []);
    if (hasAuditLog) expect(refusals(mark, user)).toEqual([]);
    expect((await op.stop()).code).toBe(0);
  });
});
