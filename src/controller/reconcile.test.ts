// The Reconciler, the shell around the pure core, on fake caches and a fake API server: what it
// does when a namespace is being deleted, and in which order it writes a revision's objects.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { MicroserviceObject } from '../api/schema.js';
import { ApiError, toApiError } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';
import { type Kube, PODS, type Resource } from '../kube/resources.js';
import { revisionOf } from '../render/index.js';
import { microservice, UID } from '../../test/support/fixtures.js';
import { serverLike } from '../../test/support/server.js';
import type { Cache } from './cache.js';
import { Reconciler } from './reconcile.js';

const T0 = new Date('2024-05-01T12:00:00.000Z');

/** A cache of a few objects: what the Reconciler reads of one. */
function cacheOf(objects: KubeObject[] = []): Cache {
  const held = new Map(objects.map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));
  return {
    get: (ns: string, name: string) => held.get(`${ns}/${name}`),
    owned: () => [...held.values()],
    remember: (o: KubeObject) => held.set(`${o.metadata.namespace}/${o.metadata.name}`, o),
  } as unknown as Cache;
}

/** What the API server answers to a create in a namespace being deleted. */
const terminating = () => toApiError(403, JSON.stringify({
  kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 403, reason: 'Forbidden',
  message: 'configmaps "orders-config-1" is forbidden: unable to create new content in namespace shop because it is being terminated',
  details: { causes: [{ reason: 'NamespaceTerminating', message: 'namespace shop is being terminated', field: 'metadata.namespace' }] },
}));

/** An API server that records every request, and answers each write with `answer` (a throw, or the object). */
function fakeKube(answer: (o: KubeObject) => KubeObject | ApiError = serverLike) {
  const requests: string[] = [];
  const write = async (what: string, o: KubeObject) => {
    requests.push(`${what} ${o.kind}/${o.metadata.name}`);
    const a = answer(o);
    if (a instanceof ApiError) throw a;
    return a;
  };
  const kube = {
    apply: (o: KubeObject) => write('apply', o),
    applyNew: (o: KubeObject) => write('applyNew', o),
    get: async (r: Resource, _ns: string, name: string) => { requests.push(`get ${r.kind}/${name}`); return undefined; },
    resize: async (_ns: string, name: string) => { requests.push(`resize ${name}`); },
    delete: async (r: Resource, _ns: string, name: string) => { requests.push(`delete ${r.kind}/${name}`); },
    applyStatus: async (ms: MicroserviceObject, status: unknown) => { requests.push('status'); return { ...ms, status }; },
    event: async (_ms: MicroserviceObject, _t: string, reason: string) => { requests.push(`event ${reason}`); },
    removeAnnotation: async () => { requests.push('annotation'); return true; },
  } as unknown as Kube;
  return { kube, requests };
}

const orders = (meta: Record<string, unknown> = {}) => ({
  ...microservice({ image: 'registry.example/orders:1', replicas: 2, ports: [{ name: 'http', port: 8080 }], config: { data: { A: '1' } } }, meta),
} as MicroserviceObject);

function reconcilerFor(ms: MicroserviceObject, kube: Kube) {
  return new Reconciler({ kube, microservices: cacheOf([ms as unknown as KubeObject]), children: new Map(), log: pino({ level: 'silent' }), clock: () => T0 });
}

describe('Reconciler: a namespace being deleted', () => {
  it('stops at the first create the API server refuses for it: no error, no retry, nothing more', async () => {
    const { kube, requests } = fakeKube(() => terminating());
    const r = reconcilerFor(orders(), kube);
    await expect(r.reconcile('shop/orders')).resolves.toEqual({ outcome: { result: 'gone', writes: 0 } });
    // One create tried (the revision's ControllerRevision), refused; no status, no event.
    expect(requests.map((q) => q.replace(/orders-\w+$/, 'orders-<revision>'))).toEqual(['applyNew ControllerRevision/orders-<revision>']);
    // The next events of its children's deletion: nothing more is tried.
    const before = requests.length;
    await expect(r.reconcile('shop/orders')).resolves.toEqual({ outcome: { result: 'gone', writes: 0 } });
    expect(requests.length).toBe(before);
  });

  it('tries again for a Microservice of the same name created later (the namespace made anew)', async () => {
    let refuse = true;
    const { kube, requests } = fakeKube((o) => (refuse ? terminating() : serverLike(o)));
    const first = orders();
    const r = reconcilerFor(first, kube);
    await r.reconcile('shop/orders');
    r.forget('shop/orders');
    refuse = false;
    const again = new Reconciler({ kube, microservices: cacheOf([orders({ uid: 'another' }) as unknown as KubeObject]), children: new Map(), log: pino({ level: 'silent' }), clock: () => T0 });
    const before = requests.length;
    expect((await again.reconcile('shop/orders')).outcome.result).toBe('updated');
    expect(requests.length).toBeGreaterThan(before);
  });

  it('writes nothing for a Microservice being deleted', async () => {
    const { kube, requests } = fakeKube();
    const r = reconcilerFor(orders({ deletionTimestamp: T0.toISOString() }), kube);
    await expect(r.reconcile('shop/orders')).resolves.toEqual({ outcome: { result: 'gone', writes: 0 } });
    expect(requests).toEqual([]);
  });

  it('still throws anything else, for a retry with backoff', async () => {
    const { kube } = fakeKube(() => toApiError(503, JSON.stringify({ kind: 'Status', code: 503, reason: 'ServiceUnavailable', message: 'try later' })));
    await expect(reconcilerFor(orders(), kube).reconcile('shop/orders')).rejects.toThrow('try later');
  });
});

describe('Reconciler: a revision\'s own objects first', () => {
  it('gives a revision whose ConfigMap was refused no Deployment, and says why in status', async () => {
    const refused = toApiError(422, JSON.stringify({
      kind: 'Status', code: 422, reason: 'Invalid', message: 'ConfigMap "orders-config-1" is invalid: []: Too long: may not be more than 1048576 bytes',
      details: { causes: [{ reason: 'FieldValueTooLong', message: 'Too long: may not be more than 1048576 bytes', field: '[]' }] },
    }));
    const { kube, requests } = fakeKube((o) => (o.kind === 'ConfigMap' ? refused : serverLike(o)));
    const { outcome } = await reconcilerFor(orders(), kube).reconcile('shop/orders');
    expect(outcome.result).toBe('stalled');
    const applied = requests.filter((q) => q.startsWith('apply')).map((q) => q.split(' ')[1]!.split('/')[0]);
    expect(applied.slice(0, 2)).toEqual(['ControllerRevision', 'ConfigMap']);
    expect(applied).not.toContain('Deployment');
  });
});

describe('Reconciler: creating without looking first', () => {
  /** What the API server answers a create-only apply when an object holds the name: 409, the object untouched. */
  const exists = (name: string) => toApiError(409, JSON.stringify({ kind: 'Status', code: 409, reason: 'Conflict', message: `Operation cannot be fulfilled on services "${name}": the object has been modified` }));
  const service = (owner?: string): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'orders', namespace: 'shop', uid: 's1',
    ...(owner ? { ownerReferences: [{ apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', name: 'orders', uid: owner, controller: true }] } : {}) } });
  function withService(there: KubeObject) {
    const fake = fakeKube((o) => (o.kind === 'Service' && o.metadata.name === 'orders' && fake.requests.at(-1)?.startsWith('applyNew') ? exists('orders') : serverLike(o)));
    Object.assign(fake.kube, { get: async (r: Resource, _ns: string, name: string) => { fake.requests.push(`get ${r.kind}/${name}`); return r.kind === 'Service' && name === 'orders' ? there : undefined; } });
    return fake;
  }

  it('creates each new object in one request, reading nothing', async () => {
    const { kube, requests } = fakeKube();
    await reconcilerFor(orders(), kube).reconcile('shop/orders');
    expect(requests.filter((q) => q.startsWith('get '))).toEqual([]);
    expect(requests.filter((q) => q.startsWith('applyNew ')).length).toBeGreaterThanOrEqual(4);
  });

  it('reads an object that holds the name only once the create is refused, and never writes one it does not own', async () => {
    const { kube, requests } = withService(service());
    const { outcome } = await reconcilerFor(orders(), kube).reconcile('shop/orders');
    expect(outcome.result).toBe('stalled');
    const onService = requests.filter((q) => q.endsWith(' Service/orders'));
    expect(onService).toEqual(['applyNew Service/orders', 'get Service/orders']);
  });

  it('applies its own object the caches have not seen (its labels stripped, say)', async () => {
    const { kube, requests } = withService(service(UID));
    const { outcome } = await reconcilerFor(orders(), kube).reconcile('shop/orders');
    expect(outcome.result).not.toBe('stalled');
    expect(requests.filter((q) => q.endsWith(' Service/orders'))).toEqual(['applyNew Service/orders', 'get Service/orders', 'apply Service/orders']);
  });
});

describe('Reconciler: pod roles', () => {
  it('patches the role of only the slots\' pods whose label differs, after the status, and skips a pod gone meanwhile', async () => {
    const ms = orders();
    const revision = revisionOf(microservice({ image: 'registry.example/orders:1', replicas: 2, ports: [{ name: 'http', port: 8080 }], config: { data: { A: '1' } } }));
    const pod = (name: string, role?: string): KubeObject => ({
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name, namespace: 'shop', uid: `uid-${name}`,
        labels: { 'app.kubernetes.io/name': 'orders', 'coxswain.dev/slot': 'blue', 'coxswain.dev/revision': revision, 'pod-template-hash': 'h', ...(role ? { 'coxswain.dev/role': role } : {}) },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'orders-blue-h', uid: 'rs', controller: true }],
      },
    });
    const { kube, requests } = fakeKube();
    const labelled: string[] = [];
    Object.assign(kube, {
      labelPod: async (p: KubeObject, key: string, value: string | null) => {
        requests.push(`label ${p.metadata.name} ${key}=${value}`);
        if (p.metadata.name === 'gone') return undefined;
        labelled.push(p.metadata.name);
        return { ...p, metadata: { ...p.metadata, labels: { ...p.metadata.labels, [key]: value } } };
      },
    });
    const pods = cacheOf([pod('new'), pod('right', 'stable'), pod('wrong', 'canary'), pod('gone')]);
    const r = new Reconciler({ kube, microservices: cacheOf([ms as unknown as KubeObject]), children: new Map([[PODS, pods]]), log: pino({ level: 'silent' }), clock: () => T0 });
    const { outcome } = await r.reconcile('shop/orders');
    const labels = requests.filter((q) => q.startsWith('label '));
    expect(labels).toEqual(['label new coxswain.dev/role=stable', 'label wrong coxswain.dev/role=stable', 'label gone coxswain.dev/role=stable']);
    expect(requests.indexOf('status')).toBeLessThan(requests.indexOf(labels[0]!));
    // The patched pods are remembered as patched: the next pass asks for nothing more of them.
    expect(labelled.map((n) => pods.get('shop', n)?.metadata.labels?.['coxswain.dev/role'])).toEqual(['stable', 'stable']);
    // Every other write, and two pods patched: the one gone meanwhile is no write.
    const others = requests.filter((q) => !/^(get|event|label) /.test(q)).length;
    expect(outcome.writes).toBe(others + 2);
  });
});

describe('Reconciler: an action answered', () => {
  const asked = () => orders({ annotations: { 'coxswain.dev/action': 'promote:r1' } });

  it('clears the annotation it acted on, after the status that answers it', async () => {
    const { kube, requests } = fakeKube();
    await reconcilerFor(asked(), kube).reconcile('shop/orders');
    expect(requests.filter((q) => q === 'annotation')).toHaveLength(1);
    expect(requests.indexOf('status')).toBeLessThan(requests.indexOf('annotation'));
  });

  it('does not clear it again once the cache shows it cleared (an earlier pass\'s clearing landed meanwhile)', async () => {
    const { kube, requests } = fakeKube();
    // The answer to the status write: the Microservice as the API server holds it, the annotation gone.
    Object.assign(kube, {
      applyStatus: async (ms: MicroserviceObject, status: unknown) => {
        requests.push('status');
        return { ...ms, metadata: { ...ms.metadata, annotations: {} }, status };
      },
    });
    await reconcilerFor(asked(), kube).reconcile('shop/orders');
    expect(requests).toContain('status');
    expect(requests).not.toContain('annotation');
  });
});

describe('Reconciler: notifications', () => {
  const told = () => {
    const calls: { before: unknown; after: unknown }[] = [];
    return { calls, notify: (_ms: MicroserviceObject, before: unknown, after: unknown) => void calls.push({ before, after }) };
  };

  it('tells of the status it wrote, after the write went through, with the status it read as before', async () => {
    const { kube, requests } = fakeKube();
    const t = told();
    const ms = orders();
    const r = new Reconciler({ kube, microservices: cacheOf([ms as unknown as KubeObject]), children: new Map(), log: pino({ level: 'silent' }), clock: () => T0, notify: (m, b, a) => { requests.push('notify'); t.notify(m, b, a); } });
    await r.reconcile('shop/orders');
    expect(requests.indexOf('notify')).toBe(requests.indexOf('status') + 1);
    expect(t.calls).toHaveLength(1);
    expect(t.calls[0]!.before).toBeUndefined();
    expect((t.calls[0]!.after as { desiredRevision?: string }).desiredRevision).toMatch(/^[0-9a-f]+$/);
  });

  it('tells nothing when the status write fails (a retry writes, and tells, it)', async () => {
    const { kube } = fakeKube();
    (kube as unknown as { applyStatus: () => Promise<never> }).applyStatus = async () => { throw toApiError(503, '{"kind":"Status","code":503,"message":"try later"}'); };
    const t = told();
    const ms = orders();
    const r = new Reconciler({ kube, microservices: cacheOf([ms as unknown as KubeObject]), children: new Map(), log: pino({ level: 'silent' }), clock: () => T0, notify: t.notify });
    await expect(r.reconcile('shop/orders')).rejects.toThrow('try later');
    expect(t.calls).toEqual([]);
  });
});

describe('Reconciler: a takeover holds the adoption finalizer', () => {
  const adopting = (meta: Record<string, unknown> = {}, status?: MicroserviceObject['status']) => microservice({
    image: 'registry.example/orders:2', replicas: 4, ports: [{ name: 'http', port: 8080 }], adopt: { deployment: 'orders', service: 'orders' },
  }, meta, status) as MicroserviceObject;
  const old = (replicas: number, available: number): KubeObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'orders', namespace: 'shop', uid: 'd1', generation: 1 },
    spec: { replicas, selector: { matchLabels: { app: 'orders' } } }, status: { observedGeneration: 1, replicas: available, availableReplicas: available } });
  function withOld(deployment: KubeObject, service?: KubeObject) {
    // The takeover's annotation on the old Deployment is a partial apply: answered as sent.
    const fake = fakeKube((o) => (o.kind === 'Deployment' && o.metadata.name === 'orders' ? o : serverLike(o)));
    Object.assign(fake.kube, {
      get: async (r: Resource, _ns: string, name: string) => { fake.requests.push(`get ${r.kind}/${name}`); return r.kind === 'Deployment' && name === 'orders' ? deployment : r.kind === 'Service' ? service : undefined; },
      setFinalizer: async (_r: Resource, _o: unknown, f: string, held: boolean) => { fake.requests.push(`finalizer ${held ? 'add' : 'remove'} ${f}`); return true; },
      jsonPatch: async (r: Resource, _ns: string, name: string) => { fake.requests.push(`patch ${r.kind}/${name}`); return true; },
    });
    return fake;
  }

  it('is added before the takeover\'s first write to the old Deployment', async () => {
    const { kube, requests } = withOld(old(4, 4));
    await reconcilerFor(adopting(), kube).reconcile('shop/orders');
    const first = requests.findIndex((q) => q === 'apply Deployment/orders' || q === 'resize orders');
    expect(first).toBeGreaterThan(-1);
    expect(requests.indexOf('finalizer add coxswain.dev/adoption')).toBeGreaterThan(-1);
    expect(requests.indexOf('finalizer add coxswain.dev/adoption')).toBeLessThan(first);
  });

  it('deleted half-way, puts the old Deployment back and lets go only once its pods are all available', async () => {
    const status = { adoption: { deployment: 'orders', phase: 'ScalingDown' as const, replicas: 4, scaledTo: 3 } };
    const ms = adopting({ deletionTimestamp: T0.toISOString(), finalizers: ['coxswain.dev/adoption'] }, status);
    const short = withOld(old(3, 3));
    const held = await reconcilerFor(ms, short.kube).reconcile('shop/orders');
    expect(short.requests.filter((q) => !q.startsWith('get '))).toEqual(['resize orders']);
    expect(held.requeueAfterMs).toBe(1_000);
    const back = withOld(old(4, 4));
    const done = await reconcilerFor(ms, back.kube).reconcile('shop/orders');
    expect([back.requests.filter((q) => !q.startsWith('get ')), done.outcome.result]).toEqual([['finalizer remove coxswain.dev/adoption'], 'gone']);
  });

  it('is let go once the takeover is done, and a deletion without it writes nothing', async () => {
    const done = { adoption: { deployment: 'orders', phase: 'Done' as const, replicas: 4, scaledTo: 0 } };
    const taken: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'orders', namespace: 'shop', ownerReferences: [{ apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', name: 'orders', uid: UID, controller: true }] } };
    const { kube, requests } = withOld(old(0, 0), taken);
    await reconcilerFor(adopting({ finalizers: ['coxswain.dev/adoption'] }, done), kube).reconcile('shop/orders');
    expect(requests).toContain('finalizer remove coxswain.dev/adoption');
    const gone = withOld(old(3, 3));
    await reconcilerFor(adopting({ deletionTimestamp: T0.toISOString() }, done), gone.kube).reconcile('shop/orders');
    expect(gone.requests).toEqual([]);
  });
});
