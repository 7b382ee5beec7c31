// The pure parts of Secrets in the revision: where a pod names a Secret, the copies and their
// names, and what status says.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { MicroserviceSpecInput } from '../api/schema.js';
import { podTemplate, revisionOf } from '../render/index.js';
import { microservice } from '../../test/support/fixtures.js';
import { renameInSpec, secretsInSpec, secretsInTemplate } from './refs.js';
import { secretCopyName, trackSecrets, type SecretContent } from './track.js';
import { trackersOf } from './watch.js';
import type { KubeObject } from '../kube/object.js';
import { microserviceController } from '../controller/wiring.js';
import { SECRETS } from '../kube/resources.js';

const everywhere: MicroserviceSpecInput = {
  image: 'a:1',
  trackSecrets: true,
  env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }, { name: 'PLAIN', value: 'x' },
    { name: 'CM', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k' } } }],
  envFrom: [{ secretRef: { name: 'api' } }, { configMapRef: { name: 'cm2' } }],
  initContainers: [{ name: 'migrate', image: 'm:1', env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'migrate-creds', key: 'p' } } }] }],
  sidecars: [{ name: 'proxy', image: 'p:1', envFrom: [{ secretRef: { name: 'proxy-creds' } }] }],
  pod: {
    imagePullSecrets: [{ name: 'registry' }],
    volumes: [{ name: 'tls', secret: { secretName: 'tls' } },
      { name: 'both', projected: { sources: [{ secret: { name: 'projected' } }, { configMap: { name: 'cm3' } }] } },
      { name: 'scratch', emptyDir: {} }],
  },
};
const ALL = ['api', 'db', 'migrate-creds', 'projected', 'proxy-creds', 'tls'];
const content = (v: string): SecretContent => ({ type: 'Opaque', data: { password: Buffer.from(v).toString('base64') } });

describe('where a pod names a Secret', () => {
  it('finds every reference in env, envFrom, secret and projected volumes, in every container; not imagePullSecrets or ConfigMaps', () => {
    const ms = microservice(everywhere);
    expect(secretsInSpec(ms.spec)).toEqual(ALL);
    expect([...secretsInTemplate(podTemplate(ms))].sort()).toEqual(ALL);
  });

  it('renames each reference and nothing else', () => {
    const ms = microservice(everywhere);
    const renamed = renameInSpec(ms.spec, (n) => `${n}-copy`);
    expect(secretsInSpec(renamed)).toEqual(ALL.map((n) => `${n}-copy`));
    expect(renameInSpec(renamed, (n) => n.replace(/-copy$/, ''))).toEqual(ms.spec);
    expect(renamed.pod?.imagePullSecrets).toEqual([{ name: 'registry' }]);
    expect(JSON.stringify(renamed)).toContain('"cm3"');
  });
});

describe('trackSecrets', () => {
  const lookup = (v: string) => (name: string) => (name === 'gone' ? undefined : content(`${name}:${v}`));

  it('leaves a Microservice without spec.trackSecrets as written, and reads nothing', () => {
    const ms = microservice({ ...everywhere, trackSecrets: false });
    const read: string[] = [];
    const t = trackSecrets(ms, (n) => (read.push(n), content('x')));
    expect(t).toEqual({ ms, copies: [] });
    expect(read).toEqual([]);
  });

  it('says so in status when the spec asks and the install does not track', () => {
    const t = trackSecrets(microservice(everywhere), undefined);
    expect(t.copies).toEqual([]);
    expect(t.status).toEqual({ tracked: false, message: expect.stringMatching(/^spec\.trackSecrets is set but this install does not track Secrets \(the operator runs without --track-secrets\): a change to api, db, .* does not roll out$/) });
  });

  it('points the pod at an immutable owned copy per Secret, named by its content; status names sources and copies only', () => {
    const t = trackSecrets(microservice(everywhere), lookup('v1'));
    expect(t.copies.map((c) => c.metadata.annotations?.['coxswain.dev/secret-source']).sort()).toEqual(ALL);
    for (const c of t.copies) {
      expect(c).toMatchObject({ kind: 'Secret', immutable: true, type: 'Opaque', metadata: { ownerReferences: [{ kind: 'Microservice', controller: true }] } });
      expect(c.metadata.name).toMatch(/^orders-secret-[0-9a-f]{10}$/);
    }
    expect(secretsInSpec(t.ms.spec)).toEqual(t.copies.map((c) => c.metadata.name).sort());
    expect(t.status?.tracked).toBe(true);
    const b64 = content('db:v1').data!.password!;
    expect(JSON.stringify(t.status)).not.toContain(b64);
    expect(JSON.stringify(podTemplate(t.ms))).not.toContain(b64);
  });

  it('leaves a missing Secret referenced as written and names it', () => {
    const ms = microservice({ image: 'a:1', trackSecrets: true, envFrom: [{ secretRef: { name: 'gone' } }, { secretRef: { name: 'db' } }] });
    const t = trackSecrets(ms, lookup('v1'));
    expect(secretsInSpec(t.ms.spec)).toEqual(['gone', t.copies[0]!.metadata.name].sort());
    expect(t.status).toEqual({ tracked: false, message: expect.stringMatching(/^tracked in the revision: db \(orders-secret-[0-9a-f]+\); not found, referenced as written until it exists: gone$/) });
  });

  it('makes a new revision exactly when a referenced Secret\'s content changes (property)', () => {
    const ms = microservice(everywhere);
    fc.assert(fc.property(fc.string(), fc.string(), fc.constantFrom(...ALL), (a, b, changed) => {
      const before = trackSecrets(ms, (n) => content(`${n}:${a}`));
      const after = trackSecrets(ms, (n) => content(n === changed ? `${n}:${b}` : `${n}:${a}`));
      expect(revisionOf(before.ms) === revisionOf(after.ms)).toBe(a === b);
    }));
  });

  it('names copies of the same content apart by their source, and by type', () => {
    const c = content('same');
    expect(secretCopyName('orders', 'a', c)).not.toBe(secretCopyName('orders', 'b', c));
    expect(secretCopyName('orders', 'a', c)).not.toBe(secretCopyName('orders', 'a', { ...c, type: 'kubernetes.io/tls' }));
    expect(secretCopyName('orders', 'a', c)).toBe(secretCopyName('orders', 'a', { data: { ...c.data } }));
  });
});

describe('trackersOf', () => {
  it('queues the Microservices of the Secret\'s namespace that track it, and no others', () => {
    const tracking = microservice(everywhere);
    const notAsking = microservice({ ...everywhere, trackSecrets: false }, { name: 'other' });
    const elsewhere = microservice(everywhere, { name: 'far', namespace: 'elsewhere' });
    const all = [tracking, notAsking, elsewhere] as unknown as KubeObject[];
    const secret = (name: string, namespace = 'shop') => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace } });
    expect(trackersOf(secret('db'), all)).toEqual(['shop/orders']);
    expect(trackersOf(secret('registry'), all)).toEqual([]);
    expect(trackersOf(secret('tls', 'elsewhere'), all)).toEqual(['elsewhere/far']);
  });
});

describe('the wiring', () => {
  it('watches Secrets only when the install tracks them: owned copies by owner, sources by who tracks them', () => {
    const watched = (w: ReturnType<typeof microserviceController>) => [...w.watches, ...(w.optionalWatches ?? [])].filter((x) => x.resource === SECRETS);
    expect(watched(microserviceController())).toEqual([]);
    expect(watched(microserviceController({ trackSecrets: false }))).toEqual([]);
    const [secrets, ...more] = watched(microserviceController({ trackSecrets: true }));
    expect(more).toEqual([]);
    expect(secrets!.labelSelector).toBeUndefined(); // the user's Secrets carry no label of ours
    const copy = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'orders-secret-0123456789', namespace: 'shop', ownerReferences: [{ apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', name: 'orders', uid: 'u', controller: true }] } };
    expect(secrets!.keyOf(copy)).toBe('shop/orders');
    expect(secrets!.readersOf!({ ...copy, metadata: { name: 'db', namespace: 'shop' } }, [microservice(everywhere) as unknown as KubeObject])).toEqual(['shop/orders']);
    const slim = secrets!.transform!({ ...copy, data: { a: 'YQ==' }, type: 'Opaque', metadata: { ...copy.metadata, managedFields: [{}], annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } } as never });
    expect(Object.keys(slim).sort()).toEqual(['apiVersion', 'data', 'kind', 'metadata', 'type']);
    expect((slim.metadata as unknown as Record<string, unknown>).managedFields).toBeUndefined();
    expect(slim.metadata.annotations).toEqual({}); // kubectl's last-applied copy of the data is not kept
  });
});
