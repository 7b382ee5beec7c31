import { describe, expect, it } from 'vitest';
import type { MicroserviceObject } from '../api/schema.js';
import type { KubeObject } from '../kube/object.js';
import { renderDeployment } from '../render/workload.js';
import { renderHPA, renderService } from '../render/network.js';
import { microservice, UID } from '../../test/support/fixtures.js';
import { deploymentReady, handedOver, hpaHandover, manifest, plainDeployment, reown, routeHandover, serviceHandover, stableSlot } from './plain.js';

const ms = microservice({
  image: 'registry.example/orders:1.0.0', replicas: 4, ports: [{ name: 'http', port: 8080 }],
  pod: { labels: { team: 'payments', 'app.kubernetes.io/instance': 'orders' }, annotations: { 'prometheus.io/scrape': 'true' } },
}) as unknown as MicroserviceObject;
const settled = { ...ms, status: { activeSlot: 'blue', stableRevision: 'abc' } } as MicroserviceObject;
const blue = renderDeployment(ms as never, 'blue', 4);
const green = (replicas: number, pods = replicas) => ({ ...renderDeployment(ms as never, 'green', replicas), status: { replicas: pods } });
const rendered = renderService(ms as never, 'orders', [{ name: 'http', port: 8080, protocol: 'TCP' }] as never, 'blue')!;
const service: KubeObject = { ...rendered, metadata: { ...rendered.metadata, resourceVersion: '42' } };

/** Applies a JSON patch as the API server does (test, add, replace, remove on object paths). */
function patched<T extends object>(obj: T, ops: Array<{ op: string; path: string; value?: unknown }>): T {
  const out = structuredClone(obj) as Record<string, any>;
  for (const { op, path, value } of ops) {
    const keys = path.split('/').slice(1).map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = keys.pop()!;
    const parent = keys.reduce((o, k) => o[k], out);
    if (op === 'test') expect(parent[last]).toEqual(value);
    else if (op === 'remove') { expect(parent).toHaveProperty([last]); delete parent[last]; } else if (op === 'replace') { expect(parent).toHaveProperty([last]); parent[last] = value; } else parent[last] = value;
  }
  return out as T;
}

describe('stableSlot', () => {
  it('is the active slot, when the other one has no pods', () => {
    expect(stableSlot(settled, [blue, green(0, 0)])).toEqual({ ok: true, slot: blue });
    expect(stableSlot(settled, [blue])).toEqual({ ok: true, slot: blue });
    expect(stableSlot({ ...settled, status: { ...settled.status, adoption: { deployment: 'orders-old', phase: 'Done' } } } as MicroserviceObject, [blue])).toEqual({ ok: true, slot: blue });
  });
  it.each([
    ['a rollout under way', settled, [blue, green(1)], 'deployment/orders-green still has pods: a rollout is under way'],
    // After a promotion (or an abort or undo) the slot let go keeps its pods for the scale-down
    // delay: no rollout to finish or abort, so the reason says to wait for it, and until when.
    ['the previous slot in its scale-down delay', { ...settled, status: { ...settled.status, desiredRevision: 'abc', rollout: { scaleDownAt: '2030-01-01T00:00:30Z' } } },
      [blue, green(4)], 'deployment/orders-green still has pods until its scale-down delay ends at 2030-01-01T00:00:30Z: run kubectl coxswain eject again then'],
    ['pods of the other slot still terminating', settled, [blue, green(0, 2)], 'deployment/orders-green still has pods'],
    ['no stable revision yet', ms, [blue], 'has no stable revision yet'],
    ['the active slot missing', settled, [green(0)], 'deployment/orders-blue (the active slot) does not exist'],
    // Half taken over, the old Deployment still serves: deleting the Microservice puts it back (src/adopt/backout.ts).
    ['a takeover under way', { ...settled, status: { ...settled.status, adoption: { deployment: 'orders-old', phase: 'ScalingDown' } } }, [blue],
      'the takeover of deployment/orders-old is not done (status.adoption.phase ScalingDown): let it finish, or delete the Microservice'],
  ])('refuses %s, saying why', (_what, m, slots, reason) => {
    const r = stableSlot(m as MicroserviceObject, slots as KubeObject[]);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain(reason);
  });
});

describe('plainDeployment', () => {
  const d = plainDeployment(settled, blue, 'orders', 4) as any;
  const tpl = (blue.spec as any).template;

  it('runs the stable slot\'s pod spec unchanged, at full size, without Coxswain\'s slot, revision or managed-by labels', () => {
    expect(d.spec.template.spec).toEqual(tpl.spec);
    expect(d.spec.replicas).toBe(4);
    expect(d.spec.template.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'orders', team: 'payments', 'app.kubernetes.io/instance': 'orders' });
    expect(d.spec.template.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true' });
    expect(d.spec.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'orders' } });
    expect(d.metadata).toEqual({ name: 'orders', namespace: 'shop', labels: { 'app.kubernetes.io/name': 'orders' }, annotations: { 'coxswain.dev/ejected-from': 'orders' } });
    expect(d.spec.strategy).toEqual((blue.spec as any).strategy);
    expect(d.spec.paused).toBeUndefined();
  });

  it('has pods that the slot\'s Service selector does not pick, but the plain selector picks as it picks the slot\'s', () => {
    const slotSelector = (service.spec as any).selector as Record<string, string>;
    const picks = (sel: Record<string, string>, labels: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);
    expect(picks(slotSelector, d.spec.template.metadata.labels)).toBe(false);
    expect(picks(d.spec.selector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
    expect(picks(d.spec.selector.matchLabels, tpl.metadata.labels)).toBe(true);
  });
});

describe('the Service handed over', () => {
  it('loses the owner reference, Coxswain\'s labels and annotations, and selects the plain pods', () => {
    expect(handedOver(service, settled)).toBe(false);
    const after = patched(service, serviceHandover(service, settled));
    expect(after.metadata.ownerReferences).toBeUndefined();
    expect(after.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'orders' });
    expect(Object.keys(after.metadata.annotations ?? {}).filter((k) => k.startsWith('coxswain.dev/'))).toEqual([]);
    expect((after.spec as any).selector).toEqual({ 'app.kubernetes.io/name': 'orders' });
    expect((after.spec as any).ports).toEqual((service.spec as any).ports);
    expect(handedOver(after, settled)).toBe(true);
  });

  it('keeps another owner\'s reference', () => {
    const other = { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'other' };
    const shared = { ...service, metadata: { ...service.metadata, ownerReferences: [...service.metadata.ownerReferences!, other] } };
    expect(patched(shared, serviceHandover(shared, settled)).metadata.ownerReferences).toEqual([other]);
  });

  it('is a patch that fails on a Service changed since it was read', () => {
    expect(serviceHandover(service, settled)[0]).toEqual({ op: 'test', path: '/metadata/resourceVersion', value: '42' });
  });
});

describe('hpaHandover', () => {
  const scaled = microservice({ image: 'registry.example/orders:1.0.0', ports: [{ name: 'http', port: 8080 }], autoscaling: { minReplicas: 4, maxReplicas: 8 } });
  const live: KubeObject = { ...renderHPA(scaled)!, metadata: { ...renderHPA(scaled)!.metadata, resourceVersion: '5' } };

  it('points the Microservice\'s HPA at the plain Deployment, released from the Microservice, its bounds and metrics kept', () => {
    const after = patched(live, hpaHandover(live, settled, 'orders-plain')!) as any;
    expect(after.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'orders-plain' });
    expect([after.spec.minReplicas, after.spec.maxReplicas, after.spec.metrics]).toEqual([4, 8, (live.spec as any).metrics]);
    expect(after.metadata.ownerReferences).toBeUndefined();
    expect(hpaHandover(after, settled, 'orders-plain')).toBeUndefined(); // done: a re-run leaves it
  });
});

describe('routeHandover', () => {
  const ref = (slot: string, weight: number) => ({ group: '', kind: 'Service', name: `orders-${slot}`, port: 80, weight });
  const live: KubeObject = {
    apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute',
    metadata: { name: 'orders', namespace: 'shop', resourceVersion: '9', labels: { 'app.kubernetes.io/managed-by': 'coxswain', 'app.kubernetes.io/name': 'orders' },
      ownerReferences: [{ apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', name: 'orders', uid: UID, controller: true }] },
    spec: {
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'gateways' }], hostnames: ['orders.example.com'],
      rules: [
        { name: 'beta', matches: [{ headers: [{ type: 'Exact', name: 'X-Canary', value: 'true' }] }], backendRefs: [ref('green', 1)] },
        { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [ref('blue', 90), ref('green', 10)] },
      ],
    },
  };

  it('sends every rule to <name> (the plain pods by then), its matches, hosts and parents kept, released from the Microservice', () => {
    const after = patched(live, routeHandover(live, settled)!) as any;
    expect(after.spec.rules.map((r: any) => r.backendRefs)).toEqual([[{ group: '', kind: 'Service', name: 'orders', port: 80, weight: 1 }], [{ group: '', kind: 'Service', name: 'orders', port: 80, weight: 1 }]]);
    expect(after.spec.rules.map((r: any) => r.matches)).toEqual((live.spec as any).rules.map((r: any) => r.matches));
    expect([after.spec.hostnames, after.spec.parentRefs]).toEqual([(live.spec as any).hostnames, (live.spec as any).parentRefs]);
    expect(after.metadata.ownerReferences).toBeUndefined();
    expect(routeHandover(after, settled)).toBeUndefined(); // done: a re-run leaves it
  });
});

describe('reown', () => {
  const plain = { ...plainDeployment(settled, blue, 'orders', 4), metadata: { name: 'orders', namespace: 'shop', uid: 'plain-uid' } };
  const cm = (owner: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'orders-abc', namespace: 'shop', resourceVersion: '7', ownerReferences: [{ apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', name: 'orders', uid: owner, controller: true }] } });

  it('moves a ConfigMap of the Microservice\'s to the plain Deployment', () => {
    const after = patched(cm(UID), reown(cm(UID), settled, plain)!);
    expect(after.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'orders', uid: 'plain-uid' }]);
    expect(reown(after, settled, plain)).toBeUndefined(); // done: a re-run does nothing
  });
  it('leaves one that is not the Microservice\'s alone', () => {
    expect(reown(cm('someone-else'), settled, plain)).toBeUndefined();
  });
});

describe('deploymentReady', () => {
  const d = (spec: number, st: Record<string, number>, gen = 2) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x', generation: gen }, spec: { replicas: spec }, status: st });
  it.each([
    [d(4, { observedGeneration: 2, updatedReplicas: 4, availableReplicas: 4, readyReplicas: 4 }), true],
    [d(4, { observedGeneration: 1, updatedReplicas: 4, availableReplicas: 4, readyReplicas: 4 }), false],
    [d(4, { observedGeneration: 2, updatedReplicas: 4, availableReplicas: 3, readyReplicas: 4 }), false],
    [d(4, { observedGeneration: 2, updatedReplicas: 4, availableReplicas: 4, readyReplicas: 3 }), false],
    [undefined, false],
  ])('%#', (dep, ready) => expect(deploymentReady(dep as KubeObject | undefined)).toBe(ready));
});

describe('manifest', () => {
  it('keeps what Git needs and nothing the cluster or Coxswain set', () => {
    const live = {
      ...patched(service, serviceHandover(service, settled)),
      metadata: { name: 'orders', namespace: 'shop', uid: 'u', resourceVersion: '9', creationTimestamp: 'now', managedFields: [], labels: { team: 'x' }, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
      spec: { ...(patched(service, serviceHandover(service, settled)).spec as object), clusterIP: '10.0.0.1', clusterIPs: ['10.0.0.1'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', sessionAffinity: 'None', internalTrafficPolicy: 'Cluster' },
      status: { loadBalancer: {} },
    };
    expect(manifest(live)).toEqual({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'orders', namespace: 'shop', labels: { team: 'x' } },
      spec: { type: 'ClusterIP', selector: { 'app.kubernetes.io/name': 'orders' }, ports: (service.spec as any).ports },
    });
  });

  it('leaves the API server\'s defaults out of the pod template, and keeps what is not a default', () => {
    const d = plainDeployment(settled, blue, 'orders', 4) as any;
    const c = d.spec.template.spec.containers[0];
    const live = { ...d, spec: { ...d.spec, template: { ...d.spec.template, spec: { ...d.spec.template.spec, dnsPolicy: 'ClusterFirst', restartPolicy: 'Always', terminationGracePeriodSeconds: 45,
      containers: [{ ...c, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' }] } } } };
    const out = manifest(live).spec as any;
    expect(out.template.spec.dnsPolicy).toBeUndefined();
    expect(out.template.spec.restartPolicy).toBeUndefined();
    expect(out.template.spec.terminationGracePeriodSeconds).toBe(45);
    expect(out.template.spec.containers[0].terminationMessagePath).toBeUndefined();
    expect(out.template.spec.containers[0].image).toBe('registry.example/orders:1.0.0');
  });
});
