// The generated CRD on a real API server: accepted, and bad Microservices rejected at apply with
// a message that names the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, createNamespace, deleteNamespace, getJSON, installCRD, microservice } from './harness.js';

let ns: string;
beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-crd');
});
afterAll(async () => deleteNamespace(ns));

describe('the Microservice CRD', () => {
  it('is established with the scale subresource, short names and printer columns', async () => {
    const crd = await getJSON('crd', 'microservices.coxswain.dev');
    expect(crd.status.conditions.find((c: { type: string }) => c.type === 'Established').status).toBe('True');
    expect(crd.spec.names.shortNames).toEqual(['ms', 'msvc']);
    expect(crd.spec.versions[0].subresources.scale.specReplicasPath).toBe('.spec.replicas');
  });

  it('accepts a valid Microservice and fills in the defaults', async () => {
    const r = await apply(microservice('valid', { image: 'registry.example/valid:1', ports: [{ port: 8080 }] }, ns), '--dry-run=server', '-o', 'json');
    expect(r.stderr).toBe('');
    const obj = JSON.parse(r.stdout);
    expect(obj.spec.replicas).toBe(1);
    expect(obj.spec.strategy.type).toBe('RollingUpdate');
    expect(obj.spec.ports[0].protocol).toBe('TCP');
  });

  const bad: Array<[string, Record<string, unknown>, RegExp, string?]> = [
    ['no image', { replicas: 2 }, /spec\.image: Required value/],
    ['negative replicas', { image: 'x:1', replicas: -1 }, /spec\.replicas: Invalid value: -1/],
    ['a port out of range', { image: 'x:1', ports: [{ port: 70000 }] }, /spec\.ports\[0\]\.port/],
    ['two unnamed ports', { image: 'x:1', ports: [{ port: 1 }, { port: 2 }] }, /spec\.ports: Invalid value.*every port needs a name/],
    ['a quantity that is not one', { image: 'x:1', resources: { limits: { cpu: 'lots' } } }, /spec\.resources\.limits\.cpu/],
    ['maxReplicas below minReplicas', { image: 'x:1', autoscaling: { minReplicas: 5, maxReplicas: 2 } }, /spec\.autoscaling\.maxReplicas: Invalid value.*maxReplicas must be at least minReplicas/],
    ['decreasing canary weights', { image: 'x:1', strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { setWeight: 20 }] } } }, /spec\.strategy\.canary\.steps.*setWeight values must not decrease/],
    ['a canary step with two actions', { image: 'x:1', strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50, pause: {} }] } } }, /spec\.strategy\.canary\.steps\[0\].*exactly one of setWeight, pause, analysis, setCanaryScale or setHeaderRoute/],
    ['a header route without spec.traffic.gateway', { image: 'x:1', ports: [{ port: 80 }], strategy: { type: 'Canary', canary: { steps: [{ setHeaderRoute: { name: 'beta', match: [{ header: 'X-Beta', value: '1' }] } }] } } },
      /spec\.strategy\.canary\.steps: Invalid value.*setHeaderRoute steps need spec\.traffic\.gateway/],
    ['a route to a port the Service lacks', { image: 'x:1', ports: [{ port: 80 }], traffic: { gateway: { parentRefs: [{ name: 'public' }], port: 81 } } },
      /spec\.traffic\.gateway\.port: Invalid value.*must be one of the Service ports/],
    ['a weight above 100', { image: 'x:1', strategy: { type: 'Canary', canary: { steps: [{ setWeight: 120 }] } } }, /spec\.strategy\.canary\.steps\[0\]\.setWeight/],
    ['Canary without steps', { image: 'x:1', strategy: { type: 'Canary' } }, /spec\.strategy\.canary: Invalid value.*required when type is Canary/],
    ['a bad maxSurge', { image: 'x:1', strategy: { type: 'Canary', canary: { steps: [{ setWeight: 10 }], maxSurge: 'half' } } }, /spec\.strategy\.canary\.maxSurge/],
    ['a rolling update that could not move', { image: 'x:1', strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } } }, /spec\.strategy\.rollingUpdate: Invalid value.*may not both be 0/],
    ['a config key that is no file name', { image: 'x:1', config: { data: { 'a b': '1' } } }, /spec\.config\.data: Invalid value.*keys may hold only/],
    ['an unknown strategy', { image: 'x:1', strategy: { type: 'Shadow' } }, /spec\.strategy\.type: Unsupported value: "Shadow"/],
    ['an unknown field', { image: 'x:1', replica: 3 }, /unknown field "spec\.replica"/],
    ...analysisCases(),
    ...podCases(),
  ];
  it.each(bad)('rejects %s, naming the field', async (_what, spec, message) => {
    const r = await apply(microservice('bad', spec, ns));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('rejects a name too long for its preview Service', async () => {
    const r = await apply(microservice('x'.repeat(56), { image: 'x:1' }, ns));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/metadata\.name must be at most 55 characters/);
  });
});

/** Analysis the API server refuses at apply (src/analysis/api.ts), each naming its field. */
function analysisCases(): Array<[string, Record<string, unknown>, RegExp]> {
  const m = { name: 'error-rate', prometheus: { query: 'sum(rate(x{revision="{{revision}}"}[1m]))' }, max: 0.01 };
  const canary = (steps: unknown[]) => ({ type: 'Canary', canary: { steps } });
  return [
    ['an unknown placeholder', { image: 'x:1', analysis: { metrics: [{ ...m, prometheus: { query: 'x{r="{{rev}}"}' } }] } },
      /spec\.analysis\.metrics\[0\]\.prometheus\.query: Invalid value.*unknown placeholder/],
    ['a step naming an unknown metric', { image: 'x:1', analysis: { metrics: [m] }, strategy: canary([{ setWeight: 10 }, { analysis: { metrics: ['latency'] } }]) },
      /spec\.strategy\.canary\.steps: Invalid value.*names a metric that spec\.analysis\.metrics does not define/],
    ['a metric with two providers', { image: 'x:1', analysis: { metrics: [{ ...m, web: { url: 'http://smoke' } }] } },
      /spec\.analysis\.metrics\[0\]: Invalid value.*exactly one provider/],
    ['min above max', { image: 'x:1', analysis: { metrics: [{ ...m, min: 1 }] } }, /spec\.analysis\.metrics\[0\]\.min: Invalid value.*min may not be above max/],
    ['a bad interval', { image: 'x:1', analysis: { metrics: [{ ...m, interval: '5 minutes' }] } }, /spec\.analysis\.metrics\[0\]\.interval/],
    ['a post-promotion analysis naming an unknown metric', { image: 'x:1', analysis: { metrics: [m] }, strategy: { type: 'BlueGreen', blueGreen: { postPromotionAnalysis: { metrics: ['smoke'] } } } },
      /spec\.strategy\.blueGreen\.postPromotionAnalysis\.metrics: Invalid value/],
  ];
}

/** The pod's fields the API server refuses at apply (src/api/pod.ts), each naming its field. */
function podCases(): Array<[string, Record<string, unknown>, RegExp]> {
  const c = (name: string) => ({ name, image: 'x:1' });
  return [
    ['an init container name twice', { image: 'x:1', initContainers: [c('a'), c('a')] }, /spec\.initContainers: Invalid value.*initContainers names must be unique/],
    ['a sidecar named as an init container', { image: 'x:1', sidecars: [c('a')], initContainers: [c('a')] },
      /spec\.initContainers: Invalid value.*a sidecar and an init container share a name/],
    ['a sidecar named as the Microservice', { image: 'x:1', sidecars: [c('bad')] }, /spec\.sidecars: Invalid value.*named like the Microservice/],
    ['an init container named as the Microservice', { image: 'x:1', initContainers: [c('bad')] }, /spec\.initContainers: Invalid value.*named like the Microservice/],
    ['a sidecar that would not restart', { image: 'x:1', sidecars: [{ ...c('a'), restartPolicy: 'Never' }] }, /spec\.sidecars\[0\]\.restartPolicy: Unsupported value: "Never"/],
    ['dnsPolicy None without dnsConfig', { image: 'x:1', pod: { dnsPolicy: 'None' } }, /spec\.pod\.dnsConfig: Invalid value.*dnsPolicy None needs dnsConfig/],
    ['two spread constraints on one key', { image: 'x:1', pod: { topologySpreadConstraints: [1, 2].map((maxSkew) => ({ maxSkew, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule' })) } },
      /spec\.pod\.topologySpreadConstraints: Invalid value.*must be unique by topologyKey and whenUnsatisfiable/],
    ['a host alias ip twice', { image: 'x:1', pod: { hostAliases: [{ ip: '10.0.0.1' }, { ip: '10.0.0.1' }] } }, /spec\.pod\.hostAliases: Invalid value.*hostAliases ips must be unique/],
    ['minReadySeconds at the deadline', { image: 'x:1', minReadySeconds: 600 }, /spec\.minReadySeconds: Invalid value.*must be below strategy\.progressDeadlineSeconds/],
    ['both budgets', { image: 'x:1', disruption: { maxUnavailable: 1, minAvailable: 1 } }, /spec\.disruption: Invalid value.*exactly one of maxUnavailable or minAvailable/],
    ['a budget above 100%', { image: 'x:1', disruption: { minAvailable: '101%' } }, /spec\.disruption\.minAvailable/],
    ['a metric of no known type', { image: 'x:1', autoscaling: { maxReplicas: 3, metrics: [{ type: 'Custom' }] } }, /spec\.autoscaling\.metrics\[0\]\.type: Unsupported value/],
  ];
}
