import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { KubeClient, WatchEvent } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';
import { DEPLOYMENTS, MICROSERVICES } from '../kube/resources.js';
import { Freshness, isOlder } from './freshness.js';
import { Informer } from './informer.js';

const obj = (namespace: string, name: string, rv = '1') => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { namespace, name, resourceVersion: rv } });

describe('the informer cache', () => {
  it('indexes by owner across namespaces, and keeps the index in step with replacements', () => {
    const byNamespace = (o: { metadata: { namespace?: string } }) => o.metadata.namespace;
    const inf = new Informer({} as KubeClient, { resource: DEPLOYMENTS, ownerOf: byNamespace }, pino({ level: 'silent' }));
    inf.remember(obj('shop', 'a'));
    inf.remember(obj('shop', 'b'));
    inf.remember(obj('pay', 'a'));
    inf.remember(obj('shop', 'a', '2'));
    expect(inf.listOwned('shop').map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort()).toEqual(['a@2', 'b@1']);
    expect(inf.listOwned('pay').map((o) => o.metadata.name)).toEqual(['a']);
    expect(inf.listOwned('none')).toEqual([]);
    expect(inf.list()).toHaveLength(3);
  });
});

describe('what the informer caches', () => {
  it('drops managedFields and kubectl\'s last-applied copy, keeps every other annotation, then applies the watch\'s trim', () => {
    const trims: string[] = [];
    const inf = new Informer({} as KubeClient, { resource: DEPLOYMENTS, transform: (o) => (trims.push(o.metadata.name), { ...o, trimmed: true }) }, pino({ level: 'silent' }));
    inf.remember({
      ...obj('shop', 'a'),
      metadata: {
        namespace: 'shop', name: 'a', resourceVersion: '1',
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"spec":{}}', 'coxswain.dev/action': 'promote:1' },
        managedFields: [{ manager: 'coxswain', operation: 'Apply' }],
      } as ReturnType<typeof obj>['metadata'],
    });
    const cached = inf.get('shop', 'a')!;
    expect(cached.metadata).toEqual({ namespace: 'shop', name: 'a', resourceVersion: '1', annotations: { 'coxswain.dev/action': 'promote:1' } });
    expect([cached.trimmed, trims]).toEqual([true, ['a']]);
  });
});

describe('the owner index', () => {
  const owned = (name: string, owner: string | undefined, rv = '1') => ({
    ...obj('shop', name, rv), metadata: { namespace: 'shop', name, resourceVersion: rv, labels: (owner ? { owner } : {}) as Record<string, string> },
  });
  const ownerOf = (o: { metadata: { namespace?: string; labels?: Record<string, string> } }) => (o.metadata.labels?.owner ? `${o.metadata.namespace}/${o.metadata.labels.owner}` : undefined);

  it('lists what belongs to one owner, following an object that changes owner and dropping one that has none', () => {
    const inf = new Informer({} as KubeClient, { resource: DEPLOYMENTS, ownerOf }, pino({ level: 'silent' }));
    inf.remember(owned('a-1', 'a'));
    inf.remember(owned('a-2', 'a'));
    inf.remember(owned('b-1', 'b'));
    inf.remember(owned('a-2', 'b', '2')); // relabelled: now b's
    inf.remember(owned('b-1', undefined, '2')); // no owner any more
    const names = (owner: string) => inf.listOwned(owner).map((o) => o.metadata.name).sort();
    expect([names('shop/a'), names('shop/b')]).toEqual([['a-1'], ['a-2']]);
    expect(inf.list()).toHaveLength(3);
  });
});

describe('the cache never goes back in time', () => {
  /** A fake API server: one list, then a watch the test feeds by hand. */
  function fakeServer(list: () => { rv: string; items: KubeObject[] }) {
    let send: ((e: WatchEvent<KubeObject>) => void) | undefined;
    const client = {
      request: async () => {
        const { rv, items } = list();
        return { metadata: { resourceVersion: rv }, items };
      },
      watch: (_path: string, _query: unknown, onEvent: (e: WatchEvent<KubeObject>) => void, signal?: AbortSignal) => {
        send = onEvent;
        return new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
      },
    } as unknown as KubeClient;
    return { client, send: (type: WatchEvent<KubeObject>['type'], object: KubeObject) => send!({ type, object }), watching: () => send !== undefined, reset: () => (send = undefined) };
  }
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
    expect(cond()).toBe(true);
  };
  const version = (o: KubeObject | undefined) => o?.metadata.resourceVersion;

  for (const resource of [DEPLOYMENTS, MICROSERVICES]) {
    const at = (rv: string, extra: Record<string, unknown> = {}): KubeObject => ({ ...obj('shop', 'orders', rv), kind: resource.kind, ...extra });

    it(`${resource.kind}: a write's answer older than the watch's event, or than its delete, is not taken`, async () => {
      let listed = { rv: '10', items: [at('10')] };
      const server = fakeServer(() => listed);
      const inf = new Informer(server.client, { resource }, pino({ level: 'silent' }));
      const events: string[] = [];
      inf.on((e, o) => events.push(`${e}@${version(o)}`));
      inf.start();
      try {
        await until(() => inf.synced && server.watching());
        // We scale to 1 (answer: rv 11); the Deployment controller's status write (rv 12) is watched first.
        server.send('MODIFIED', at('12', { status: { replicas: 1 } }));
        inf.remember(at('11', { status: { replicas: 3 } }));
        expect([version(inf.get('shop', 'orders')), inf.get('shop', 'orders')!.status]).toEqual(['12', { replicas: 1 }]);
        // A duplicate of an older event changes nothing and tells no handler.
        server.send('MODIFIED', at('11'));
        expect(version(inf.get('shop', 'orders'))).toBe('12');
        // Deleted (rv 14) before the answer to a write at rv 13 comes back: it stays deleted.
        server.send('DELETED', at('14'));
        inf.remember(at('13'));
        expect(inf.get('shop', 'orders')).toBeUndefined();
        // Created again after the delete: that answer is newer, and taken.
        inf.remember(at('15'));
        expect(version(inf.get('shop', 'orders'))).toBe('15');
        // ... and the old object's delete, watched late, does not remove the new one.
        server.send('DELETED', at('14'));
        expect(version(inf.get('shop', 'orders'))).toBe('15');
        expect(events).toEqual(['add@10', 'update@12', 'delete@14']);

        // A relist replaces everything, older versions included; what it no longer holds stays gone.
        const other = (rv: string) => ({ ...at(rv), metadata: { namespace: 'shop', name: 'other', resourceVersion: rv } });
        inf.remember(other('16'));
        listed = { rv: '20', items: [at('9')] };
        server.reset();
        inf.restart();
        await until(() => server.watching());
        expect([version(inf.get('shop', 'orders')), inf.get('shop', 'other')]).toEqual(['9', undefined]);
        inf.remember(other('19'));
        expect(inf.get('shop', 'other')).toBeUndefined();
        inf.remember(other('21'));
        expect(version(inf.get('shop', 'other'))).toBe('21');
      } finally {
        await inf.stop();
      }
    });
  }
});

describe('resourceVersions', () => {
  it('compare as integers (int64, beyond a double\'s precision), and a write is taken when either is not one', () => {
    expect([isOlder('9', '10'), isOlder('10', '9'), isOlder('10', '10')]).toEqual([true, false, false]);
    expect(isOlder('9007199254740993', '9007199254740994')).toBe(true);
    expect([isOlder('abc', '10'), isOlder('10', 'x7'), isOlder(undefined, '10'), isOlder('10', undefined), isOlder('', '1')]).toEqual([false, false, false, false, false]);
  });

  it('a cache remembers a bounded number of deletes, the oldest forgotten first', () => {
    const f = new Freshness(2);
    for (const k of ['a', 'b', 'c']) f.delete(k, '10', undefined);
    expect([f.size, f.put('a', '5', undefined), f.put('c', '5', undefined), f.put('c', '11', undefined), f.size]).toEqual([2, true, false, true, 1]);
  });
});
