import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { KubeClient } from '../kube/client.js';
import { DEPLOYMENTS } from '../kube/resources.js';
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
