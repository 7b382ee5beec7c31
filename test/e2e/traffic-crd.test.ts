// Without the Gateway API's CRDs: a Microservice asking for a route is Stalled (GatewayAPIMissing)
// and nothing else is held up; once the CRDs are installed the running operator notices (it asks
// discovery) and starts watching HTTPRoutes, with no restart. The test removes the CRDs first and
// installs them again at the end, as the other files expect them. The Gateway controller's status
// is the only part played.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, condition, createNamespace, deleteNamespace, eventually, getJSON, installCRD, microservice, Operator } from './harness.js';
import { GatewayController, installGatewayAPI, mayRemoveGatewayAPI, removeGatewayAPI } from './gateway.js';

let ns: string;
let operator: Operator;
let gateway: GatewayController | undefined;

/** Why the CRDs are not removed here (someone else's Gateway API, on a cluster the suite is pointed at), if so. */
let notHere: string | undefined;

beforeAll(async () => {
  await installCRD();
  const may = await mayRemoveGatewayAPI();
  if (may !== true) {
    notHere = may;
    return;
  }
  await removeGatewayAPI();
  ns = await createNamespace('e2e-gwapi');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  if (notHere) return;
  await operator.stop();
  await gateway?.stop();
  await installGatewayAPI();
  await deleteNamespace(ns);
});

const ms = (name: string) => getJSON('microservice', '-n', ns, name);

describe('the Gateway API missing, then installed', () => {
  it('stalls only the Microservice that asks for a route, and goes on once the CRDs are installed, without a restart', async (t) => {
    if (notHere) t.skip(`not removing the Gateway API CRDs: ${notHere}`);
    const ports = [{ name: 'http', port: 8080 }];
    await apply(microservice('routed', {
      image: 'registry.example/routed:1', replicas: 2, ports,
      traffic: { gateway: { parentRefs: [{ name: 'public', namespace: 'gateways' }], hostnames: ['routed.example.com'] } },
    }, ns));
    await apply(microservice('plain', { image: 'registry.example/plain:1', replicas: 2, ports }, ns));

    const stalled = await eventually('routed Stalled with GatewayAPIMissing', async () => {
      const o = await ms('routed');
      return condition(o, 'Stalled')?.reason === 'GatewayAPIMissing' ? o : undefined;
    });
    expect(condition(stalled, 'Stalled')!.message).toMatch(/spec\.traffic\.gateway needs the Gateway API: HTTPRoutes \(gateway\.networking\.k8s\.io\/v1\) are not served/);
    expect(stalled.status.phase).toBe('Degraded');
    expect(await getJSON('deployment', '-n', ns, 'routed-blue')).toBeUndefined(); // nothing written for it
    await eventually('plain Healthy all the same', async () => (await ms('plain'))?.status?.phase === 'Healthy' || undefined);
    await eventually('a GatewayAPIMissing Event', async () =>
      (await getJSON('events', '-n', ns, '--field-selector', 'involvedObject.name=routed,reason=GatewayAPIMissing')).items.length > 0, 15_000);

    const pid = operator.pid;
    await installGatewayAPI();
    gateway = await new GatewayController(ns).start();
    const live = await eventually('routed Healthy behind an accepted route', async () => {
      const o = await ms('routed');
      return o?.status?.phase === 'Healthy' && o.status.traffic?.accepted === 'True' ? o : undefined;
    }, 90_000);
    expect(condition(live, 'Stalled')?.status).toBe('False');
    expect(operator.alive).toBe(true);
    expect(operator.pid).toBe(pid);
    expect(operator.lines().some((l) => l.msg === 'resource served: watching it' && l.resource === 'httproutes.gateway.networking.k8s.io')).toBe(true);
    const route = await getJSON('httproute', '-n', ns, 'routed');
    expect(route.metadata.ownerReferences[0]).toMatchObject({ kind: 'Microservice', name: 'routed', controller: true });
  });
});
