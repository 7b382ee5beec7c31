// The chart's RBAC for routes, proven: the operator runs on a token of the chart's ServiceAccount
// and takes a Microservice with spec.traffic.gateway through everything a route needs (created,
// patched at a step, deleted when the spec drops it); and with gatewayAPI.enabled=false the chart
// grants nothing on httproutes and the operator (--gateway-api=false) asks for nothing, the
// Microservice Stalled with GatewayAPIMissing. The audit log must show no request refused. The
// Gateway controller's status is the only part played.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply, auditEvents, auditMark, condition, createNamespace, deleteNamespace, eventually, getJSON, hasAuditLog, installCRD, kubectl, microservice,
} from './harness.js';
import { installChartRBAC, RunningOperator, serviceAccountKubeconfig, suffix } from './production-harness.js';
import { GatewayController, installGatewayAPI } from './gateway.js';

const cleanups: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  await installCRD();
  await installGatewayAPI();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const refusals = (since: number, user: string) => (hasAuditLog ? auditEvents(since).filter((e) => e.user?.username === user && e.responseStatus?.code === 403) : []);

async function setUp(values: Record<string, unknown>, args: string[]) {
  const operatorNs = await createNamespace('e2e-route-rbac-op');
  const appNs = await createNamespace('e2e-route-rbac-app');
  cleanups.push(() => deleteNamespace(operatorNs), () => deleteNamespace(appNs));
  const rbac = await installChartRBAC(`rbac-${suffix()}`, operatorNs, { watchNamespaces: [appNs], ...values });
  cleanups.push(rbac.cleanup);
  const user = `system:serviceaccount:${operatorNs}:${rbac.sa}`;
  const can = async (...a: string[]) => (await kubectl(['auth', 'can-i', '--as', user, ...a])).stdout.trim();
  await eventually('the RBAC to be in force', async () => (await can('patch', 'microservices.coxswain.dev/status', '-n', appNs)) === 'yes', 15_000);
  const mark = auditMark();
  const op = await new RunningOperator({ kubeconfig: await serviceAccountKubeconfig(operatorNs, rbac.sa), args: ['--namespaces', appNs, ...args] }).start();
  cleanups.push(() => op.stop());
  return { appNs, user, can, mark, op };
}

const spec = (image: string, route = true) => ({
  image, replicas: 2, ports: [{ name: 'http', port: 8080 }],
  ...(route ? { traffic: { gateway: { parentRefs: [{ name: 'public', namespace: 'gateways' }], hostnames: ['checkout.example.com'] } } } : {}),
  strategy: { type: 'Canary', canary: { steps: [{ setWeight: 10 }, { pause: {} }] } },
});

describe('the chart\'s RBAC with routes', () => {
  it('is enough to create, patch and delete a Microservice\'s HTTPRoute, and nothing is refused', async () => {
    const { appNs, user, can, mark, op } = await setUp({}, []);
    expect(await can('patch', 'httproutes.gateway.networking.k8s.io', '-n', appNs)).toBe('yes');
    expect(await can('patch', 'gateways.gateway.networking.k8s.io', '-n', appNs)).toBe('no');
    const gateway = await new GatewayController(appNs).start();
    cleanups.push(() => gateway.stop());

    await apply(microservice('checkout', spec('registry.example/checkout:1'), appNs));
    await eventually('live behind an accepted route', async () => (await getJSON('microservice', '-n', appNs, 'checkout'))?.status?.traffic?.accepted === 'True' || undefined, 120_000);
    await apply(microservice('checkout', spec('registry.example/checkout:2'), appNs));
    await eventually('the route patched to 10%', async () => {
      const o = await getJSON('microservice', '-n', appNs, 'checkout');
      return o?.status?.phase === 'Paused' && o.status.rollout?.weight === 10 || undefined;
    }, 120_000);
    await apply(microservice('checkout', spec('registry.example/checkout:2', false), appNs));
    await eventually('the route deleted once the spec drops it', async () => (await getJSON('httproute', '-n', appNs, 'checkout')) === undefined || undefined, 60_000);

    expect(refusals(mark, user)).toEqual([]);
    expect(op.lines().filter((l) => /forbidden/i.test(JSON.stringify(l)))).toEqual([]);
  });

  it('grants nothing on httproutes with gatewayAPI.enabled=false, and the operator asks for nothing', async () => {
    const { appNs, user, can, mark, op } = await setUp({ gatewayAPI: { enabled: false } }, ['--gateway-api=false']);
    expect(await can('list', 'httproutes.gateway.networking.k8s.io', '-n', appNs)).toBe('no');
    await apply(microservice('checkout', spec('registry.example/checkout:1'), appNs));
    const stalled = await eventually('Stalled with GatewayAPIMissing', async () => {
      const o = await getJSON('microservice', '-n', appNs, 'checkout');
      return condition(o, 'Stalled')?.reason === 'GatewayAPIMissing' ? o : undefined;
    }, 60_000);
    expect(condition(stalled, 'Stalled')!.message).toContain('--gateway-api=false');
    expect(refusals(mark, user)).toEqual([]);
    expect(op.lines().filter((l) => /forbidden/i.test(JSON.stringify(l)))).toEqual([]);
  });
});
