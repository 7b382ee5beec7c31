import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MicroserviceSpecInput, Slot } from '../api/schema.js';
import { LABEL_SLOT } from '../api/names.js';
import type { KubeObject } from '../kube/object.js';
import type { RoutePlan } from '../rollout/types.js';
import { microservice, renderPlan, SPEC, UID, type TestPlan } from '../../test/support/fixtures.js';
import { upToDate } from './diff.js';
import { renderRoute } from './gateway.js';
import { render } from './index.js';
import { revisionOfSpec } from './revision.js';
import { serviceRouter } from './traffic.js';

const GATEWAY = { parentRefs: [{ name: 'public', namespace: 'gateways', sectionName: 'https' }], hostnames: ['orders.example.com'] };
const ROUTED: MicroserviceSpecInput = {
  image: 'registry.example/orders:2',
  replicas: 4,
  ports: [{ name: 'http', port: 8080, servicePort: 80 }],
  traffic: { gateway: GATEWAY },
  strategy: { type: 'Canary', canary: { steps: [{ setWeight: 5 }, { setWeight: 10 }, { setWeight: 50 }] } },
};
const BETA = { name: 'beta', match: [{ header: 'X-Canary', value: 'true', type: 'Exact' as const }] };

/** A canary at `weight` with blue stable and green the candidate. */
const canaryPlan = (route: RoutePlan): TestPlan => ({
  slots: { blue: { replicas: 4, revision: SPEC }, green: { replicas: 1, revision: SPEC } }, previewSlot: route.stable === 'blue' ? 'green' : 'blue', weight: route.weight, route,
});

function objectsOf(spec: Partial<MicroserviceSpecInput> = {}, plan: TestPlan = canaryPlan({ stable: 'blue', weight: 5, headers: [] })): KubeObject[] {
  return renderPlan(microservice({ ...ROUTED, ...spec }), plan).objects;
}
const find = (objects: KubeObject[], kind: string, name: string): any => objects.find((o) => o.kind === kind && o.metadata.name === name);
const weights = (route: any) => route.spec.rules.at(-1).backendRefs.map((b: any) => `${b.name}=${b.weight}`).join(' ');

describe('the Gateway router', () => {
  it('adds the slot Services and the HTTPRoute <name> to <name> and <name>-preview', () => {
    expect(objectsOf().filter((o) => o.kind === 'Service' || o.kind === 'HTTPRoute').map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'Service/orders', 'Service/orders-preview', 'Service/orders-blue', 'Service/orders-green', 'HTTPRoute/orders',
    ]);
  });

  it('writes the route with every default explicit, the header route ahead of the weighted rule', () => {
    const route = find(objectsOf({}, canaryPlan({ stable: 'blue', weight: 5, headers: [BETA] })), 'HTTPRoute', 'orders');
    expect(route.apiVersion).toBe('gateway.networking.k8s.io/v1');
    expect(route.metadata).toMatchObject({
      name: 'orders', namespace: 'shop',
      ownerReferences: [{ apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', name: 'orders', uid: UID, controller: true, blockOwnerDeletion: true }],
    });
    expect(route.spec).toEqual({
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'gateways', sectionName: 'https' }],
      hostnames: ['orders.example.com'],
      rules: [
        {
          name: 'header-beta',
          matches: [{ path: { type: 'PathPrefix', value: '/' }, headers: [{ type: 'Exact', name: 'X-Canary', value: 'true' }] }],
          backendRefs: [{ group: '', kind: 'Service', name: 'orders-green', port: 80, weight: 1 }],
        },
        {
          name: 'weighted',
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          backendRefs: [
            { group: '', kind: 'Service', name: 'orders-blue', port: 80, weight: 95 },
            { group: '', kind: 'Service', name: 'orders-green', port: 80, weight: 5 },
          ],
        },
      ],
    });
  });

  it.each<[Slot, number, string]>([
    ['blue', 0, 'orders-blue=100 orders-green=0'],
    ['blue', 5, 'orders-blue=95 orders-green=5'],
    ['blue', 10, 'orders-blue=90 orders-green=10'],
    ['blue', 50, 'orders-blue=50 orders-green=50'],
    ['blue', 100, 'orders-blue=0 orders-green=100'],
    ['green', 0, 'orders-blue=0 orders-green=100'],
    ['green', 33, 'orders-blue=33 orders-green=67'],
  ])('with %s stable at weight %i sends %s', (stable, weight, expected) => {
    expect(weights(find(objectsOf({}, canaryPlan({ stable, weight, headers: [] })), 'HTTPRoute', 'orders'))).toBe(expected);
  });

  it('points <name> at the stable slot only, and each slot Service at its own slot', () => {
    const objects = objectsOf({}, canaryPlan({ stable: 'green', weight: 50, headers: [] }));
    expect(find(objects, 'Service', 'orders').spec.selector[LABEL_SLOT]).toBe('green');
    expect(find(objects, 'Service', 'orders-preview').spec.selector[LABEL_SLOT]).toBe('blue');
    for (const slot of ['blue', 'green']) {
      const svc = find(objects, 'Service', `orders-${slot}`);
      expect(svc.spec.selector[LABEL_SLOT]).toBe(slot);
      expect(svc.spec).toMatchObject({ type: 'ClusterIP', ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] });
    }
  });

  it('labels the slot Services, and only them, with their slot: the operator watches those Services\' EndpointSlices alone', () => {
    const objects = objectsOf({}, canaryPlan({ stable: 'blue', weight: 10, headers: [] }));
    expect(find(objects, 'Service', 'orders-blue').metadata.labels[LABEL_SLOT]).toBe('blue');
    expect(find(objects, 'Service', 'orders-green').metadata.labels[LABEL_SLOT]).toBe('green');
    expect(find(objects, 'Service', 'orders').metadata.labels[LABEL_SLOT]).toBeUndefined();
    expect(find(objects, 'Service', 'orders-preview').metadata.labels[LABEL_SLOT]).toBeUndefined();
  });

  it('keeps the user\'s Service type and annotations on <name> only', () => {
    const objects = objectsOf({ service: { type: 'LoadBalancer', annotations: { 'lb.example/internal': 'true' } } });
    expect(find(objects, 'Service', 'orders').spec.type).toBe('LoadBalancer');
    expect(find(objects, 'Service', 'orders-blue').spec.type).toBe('ClusterIP');
    expect(find(objects, 'Service', 'orders-blue').metadata.annotations).not.toHaveProperty('lb.example/internal');
  });

  it('sends to traffic.gateway.port when set, else the first Service port', () => {
    const ports = [{ name: 'http', port: 8080, servicePort: 80 }, { name: 'admin', port: 9090 }];
    const backendPorts = (spec: Partial<MicroserviceSpecInput>) =>
      find(objectsOf({ ports, ...spec }), 'HTTPRoute', 'orders').spec.rules[0].backendRefs.map((b: any) => b.port);
    expect(backendPorts({})).toEqual([80, 80]);
    expect(backendPorts({ traffic: { gateway: { ...GATEWAY, port: 9090 } } })).toEqual([9090, 9090]);
  });

  it('gives every rule the timeouts, the path prefix, and leaves out hostnames when none are given', () => {
    const spec = { traffic: { gateway: { parentRefs: [{ name: 'public' }], path: '/orders', timeouts: { request: '10s', backendRequest: '2s' } } } };
    const route = find(objectsOf(spec, canaryPlan({ stable: 'blue', weight: 5, headers: [BETA] })), 'HTTPRoute', 'orders');
    expect(route.spec.hostnames).toBeUndefined();
    expect(route.spec.parentRefs).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public' }]);
    for (const r of route.spec.rules) {
      expect(r.timeouts).toEqual({ request: '10s', backendRequest: '2s' });
      expect(r.matches[0].path).toEqual({ type: 'PathPrefix', value: '/orders' });
    }
  });

  it('renders the preview route on previewHostnames, to the candidate while a rollout runs', () => {
    const spec = { traffic: { gateway: { ...GATEWAY, previewHostnames: ['orders-preview.example.com'] } } };
    const preview = find(objectsOf(spec), 'HTTPRoute', 'orders-preview');
    expect(preview.spec).toEqual({
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'gateways', sectionName: 'https' }],
      hostnames: ['orders-preview.example.com'],
      rules: [{ name: 'preview', matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ group: '', kind: 'Service', name: 'orders-green', port: 80, weight: 1 }] }],
    });
    expect(find(objectsOf(), 'HTTPRoute', 'orders-preview')).toBeUndefined();
  });

  it('renders the candidate\'s Service on the candidate\'s ports, and the stable one\'s on the stable revision\'s', () => {
    const old = microservice({ ...ROUTED, image: 'registry.example/orders:1', ports: [{ name: 'http', port: 8080, servicePort: 81 }] });
    const ms = microservice(ROUTED);
    const stable = revisionOfSpec(old);
    const candidate = revisionOfSpec(ms);
    const revisions = new Map([[stable.revision, stable], [candidate.revision, candidate]]);
    const plan = { slots: {}, previewSlot: 'green' as const, servingRevision: stable.revision, previewRevision: candidate.revision, weight: 10, route: { stable: 'blue' as const, weight: 10, headers: [] } };
    const objects = render(ms, plan, revisions).objects;
    expect(find(objects, 'Service', 'orders-blue').spec.ports[0].port).toBe(81);
    expect(find(objects, 'Service', 'orders-green').spec.ports[0].port).toBe(80);
    expect(find(objects, 'Service', 'orders').spec.ports[0].port).toBe(81);
    expect(find(objects, 'HTTPRoute', 'orders').spec.rules[0].backendRefs.map((b: any) => b.port)).toEqual([81, 80]);
  });

  it('is not used without spec.traffic.gateway: no route and no slot Services', () => {
    const objects = renderPlan(microservice({ ...ROUTED, traffic: undefined, strategy: { type: 'Canary', canary: { steps: [{ setWeight: 5 }] } } }), canaryPlan({ stable: 'blue', weight: 5, headers: [] })).objects;
    expect(objects.filter((o) => o.kind === 'HTTPRoute' || o.metadata.name.endsWith('-blue') && o.kind === 'Service')).toEqual([]);
    expect(serviceRouter.objects(microservice(ROUTED), { slots: {}, servingRevision: 'x', previewRevision: 'x', weight: 0 }, new Map()).filter(Boolean)).toHaveLength(1);
  });

  it('holds the route it rendered when read back as the API server stores it', () => {
    const route = find(objectsOf({}, canaryPlan({ stable: 'blue', weight: 5, headers: [BETA] })), 'HTTPRoute', 'orders');
    const stored = { ...structuredClone(route), metadata: { ...route.metadata, generation: 3, uid: 'u', resourceVersion: '9' }, status: { parents: [] } };
    expect(upToDate(stored, route)).toBe(true);
    stored.spec.rules[1].backendRefs[1].weight = 6;
    expect(upToDate(stored, route)).toBe(false);
  });
});

describe('renderRoute, for any weight and header routes', () => {
  it('gives the candidate exactly its weight, the stable slot the rest, and every header route to the candidate', () => {
    const ms = microservice(ROUTED);
    const arbHeader = fc.record({ name: fc.constantFrom('a', 'b', 'beta'), match: fc.array(fc.record({ header: fc.constantFrom('X-A', 'X-B'), value: fc.string({ minLength: 1, maxLength: 3 }), type: fc.constantFrom('Exact' as const, 'RegularExpression' as const) }), { maxLength: 2 }) });
    fc.assert(fc.property(fc.constantFrom<Slot>('blue', 'green'), fc.integer({ min: 0, max: 100 }), fc.array(arbHeader, { maxLength: 3 }), (stable, weight, headers) => {
      const route = renderRoute(ms, { stable, weight, headers }, { blue: 80, green: 80 }) as any;
      const candidate = stable === 'blue' ? 'orders-green' : 'orders-blue';
      const weighted = route.spec.rules.at(-1);
      expect(weighted.name).toBe('weighted');
      expect(weighted.backendRefs.map((b: any) => b.name)).toEqual(['orders-blue', 'orders-green']);
      expect(weighted.backendRefs.find((b: any) => b.name === candidate).weight).toBe(weight);
      expect(weighted.backendRefs.reduce((n: number, b: any) => n + b.weight, 0)).toBe(100);
      expect(route.spec.rules.slice(0, -1).map((r: any) => [r.name, r.backendRefs.map((b: any) => b.name)])).toEqual(headers.map((h) => [`header-${h.name}`, [candidate]]));
    }));
  });
});
