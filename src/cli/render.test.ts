import { readFileSync } from 'node:fs';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { renderFile } from './render.js';

const ROUTED = `
apiVersion: coxswain.dev/v1alpha1
kind: Microservice
metadata: { name: orders, namespace: shop }
spec:
  image: registry.example/orders:1.4.2
  replicas: 4
  ports: [ { name: http, port: 8080, servicePort: 80 } ]
  traffic:
    gateway:
      parentRefs: [ { name: public, namespace: gateways } ]
      hostnames: [ orders.example.com ]
      previewHostnames: [ orders-preview.example.com ]
  strategy: { type: Canary, canary: { steps: [ { setWeight: 5 } ] } }
`;

describe('coxswain render with spec.traffic.gateway', () => {
  it('prints the HTTPRoute, its preview route and the slot Services, all of it to the first slot', () => {
    const result = renderFile(ROUTED);
    if (!result.ok) throw new Error(result.problems.join('; '));
    const ids = result.objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(ids).toEqual(expect.arrayContaining(['Service/orders', 'Service/orders-blue', 'Service/orders-green', 'HTTPRoute/orders', 'HTTPRoute/orders-preview']));
    const route = result.objects.find((o) => o.kind === 'HTTPRoute' && o.metadata.name === 'orders') as any;
    expect(route.apiVersion).toBe('gateway.networking.k8s.io/v1');
    expect(route.spec.rules).toEqual([{
      name: 'weighted',
      matches: [{ path: { type: 'PathPrefix', value: '/' } }],
      backendRefs: [{ group: '', kind: 'Service', name: 'orders-blue', port: 80, weight: 100 }, { group: '', kind: 'Service', name: 'orders-green', port: 80, weight: 0 }],
    }]);
    // It reads back as YAML any kubectl takes.
    expect(yaml.load(yaml.dump(route))).toEqual(route);
  });

  it('refuses a header route without a route, naming the field', () => {
    const result = renderFile(ROUTED.replace(/  traffic:[\s\S]*?previewHostnames.*\n/, '').replace('{ setWeight: 5 }', '{ setHeaderRoute: { name: beta, match: [ { header: X-Beta, value: "1" } ] } }'));
    expect(result).toEqual({ ok: false, problems: ['spec.strategy.canary.steps: setHeaderRoute steps need spec.traffic.gateway: without a route, traffic follows the replicas'] });
  });
});

describe('coxswain render of the whole pod (the examples in README.md and docs/pod.md)', () => {
  /** The first ```yaml block of a document that holds a Microservice. */
  const exampleIn = (file: string) => {
    const text = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
    return [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('kind: Microservice'))!;
  };

  it.each(['README.md', 'docs/pod.md'])('renders the example in %s: sidecars before init containers, the hooks, the pod fields, the budget', (file) => {
    const result = renderFile(exampleIn(file));
    if (!result.ok) throw new Error(result.problems.join('; '));
    const dep = result.objects.find((o) => o.kind === 'Deployment') as any;
    const pod = dep.spec.template.spec;
    expect(pod.initContainers.map((c: any) => [c.name, c.restartPolicy])).toEqual([['db-proxy', 'Always'], ['migrate', undefined]]);
    expect(pod.containers[0]).toMatchObject({ name: 'orders', lifecycle: { preStop: { sleep: { seconds: 5 } } }, imagePullPolicy: 'IfNotPresent', workingDir: '/app' });
    expect(pod).toMatchObject({ priorityClassName: 'business-critical', enableServiceLinks: false });
    expect(pod.topologySpreadConstraints[0].labelSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'orders', 'app.kubernetes.io/managed-by': 'coxswain' } });
    expect(dep.spec.minReadySeconds).toBe(10);
    const pdb = result.objects.find((o) => o.kind === 'PodDisruptionBudget') as any;
    expect(pdb.spec).toEqual({ selector: { matchLabels: { 'app.kubernetes.io/name': 'orders', 'app.kubernetes.io/managed-by': 'coxswain' } }, maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
  });

  it('renders the README example\'s HPA with its external metric after the cpu target', () => {
    const result = renderFile(exampleIn('README.md'));
    if (!result.ok) throw new Error(result.problems.join('; '));
    const hpa = result.objects.find((o) => o.kind === 'HorizontalPodAutoscaler') as any;
    expect(hpa.spec.metrics.map((m: any) => m.type)).toEqual(['Resource', 'External']);
  });
});
