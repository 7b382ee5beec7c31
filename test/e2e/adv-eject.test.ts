// Adversarial (wt-adv): `kubectl coxswain eject` of a Microservice that serves through the Gateway
// API (spec.traffic.gateway). Its users reach it through the HTTPRoute `<name>`, whose backends
// are the slot Services `<name>-blue` / `<name>-green`: all three are Coxswain's, owned by the
// Microservice, so the eject's last step (deleting the Microservice) would take them with it, and
// every request through the gateway would fail from then on: the route must be handed over first.
// The Gateway controller is the suite's stand-in (test/e2e/gateway.ts: it only writes route
// status; no data plane is needed to see that the route itself is gone).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, condition, createNamespace, deleteNamespace, eventually, getJSON, installCRD, kubectlCoxswain, microservice, Operator } from './harness.js';
import { GatewayController, installGatewayAPI } from './gateway.js';

let ns: string;
let operator: Operator;
let gateway: GatewayController;

beforeAll(async () => {
  await installCRD();
  await installGatewayAPI();
  ns = await createNamespace('e2e-adv-eject');
  gateway = await new GatewayController(ns).start();
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await gateway.stop();
  await deleteNamespace(ns);
});

describe('ejecting a Microservice served through an HTTPRoute', () => {
  // Found by adversarial testing: eject handed over the Service <name> but not the HTTPRoute <name>,
  // whose backends (the slot Services) and then itself went with the Microservice. The eject now
  // points the route at <name> (the plain pods by then) and releases it (src/eject/plain.ts,
  // routeHandover) before deleting the Microservice.
  it('leaves the traffic through the gateway a route to the plain pods (or refuses)', async () => {
    const name = 'routed';
    const spec = { image: `registry.example/${name}:1`, replicas: 2, ports: [{ name: 'http', port: 8080, servicePort: 80 }],
      traffic: { gateway: { parentRefs: [{ name: 'public', namespace: 'gateways' }], hostnames: [`${name}.example.com`] } } };
    expect((await apply(microservice(name, spec, ns))).stderr).toBe('');
    await eventually(`${name} Ready`, async () => {
      const o = await getJSON('microservice', '-n', ns, name);
      return condition(o, 'Ready')?.status === 'True' && o.status?.traffic?.accepted === 'True' && o;
    }, 120_000);
    expect(await getJSON('httproute', '-n', ns, name)).toBeDefined();
    const ejected = await kubectlCoxswain(ns, ['eject', name, '--timeout', '2m']);
    if (ejected.code !== 0) {
      // Refused, naming the route: acceptable, nothing lost.
      expect(ejected.stderr).toMatch(/route|gateway/i);
      return;
    }
    // Ejected: some HTTPRoute must still send the host's traffic to Ready pods (the plain ones).
    await eventually('the slot Services gone with the Microservice', async () => !(await getJSON('service', '-n', ns, `${name}-blue`)), 60_000);
    const routes = ((await getJSON('httproutes', '-n', ns))?.items ?? []).map((r: any) => ({ name: r.metadata.name, hostnames: r.spec.hostnames,
      backends: r.spec.rules.flatMap((rule: any) => rule.backendRefs.map((b: any) => b.name)) }));
    expect(routes.filter((r: any) => r.hostnames?.includes(`${name}.example.com`)), `eject printed: ${ejected.stdout}\nroutes now: ${JSON.stringify(routes)}`)
      .toContainEqual(expect.objectContaining({ backends: expect.arrayContaining([name]) }));
  });
});
