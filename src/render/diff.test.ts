import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbName, arbPlan, arbQuantity, arbSpecInput } from '../../test/support/arbitraries.js';
import { getPath, microservice, setPath, stringLeaves, planFor, renderPlan, SPEC } from '../../test/support/fixtures.js';
import { canonicalQuantity, serverLike } from '../../test/support/server.js';
import { holds, quantityValue, upToDate } from './diff.js';
import { render } from './index.js';
import { type KubeObject } from '../kube/object.js';

describe('quantityValue', () => {
  it.each<[unknown, number | undefined]>([
    ['500m', 0.5],
    ['0.5', 0.5],
    ['.5', 0.5],
    ['1', 1],
    [2, 2],
    ['1k', 1000],
    ['1e3', 1000],
    ['1E-3', 0.001],
    ['1Ki', 1024],
    ['1Mi', 1024 ** 2],
    ['1Gi', 1024 ** 3],
    ['1G', 1e9],
    ['250u', 0.00025],
    ['100n', 1e-7],
    ['+3', 3],
    ['lots', undefined],
    ['1.5.2', undefined],
    ['', undefined],
    ['1 Gi', undefined],
    [undefined, undefined],
    [{}, undefined],
  ])('reads %j as %s', (q, expected) => {
    const v = quantityValue(q);
    if (expected === undefined) expect(v).toBeUndefined();
    else expect(v).toBeCloseTo(expected, 15);
  });

  it('agrees with itself on every way of writing the same amount', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 4096 }), (n) => {
      expect(quantityValue(`${n}Mi`)).toBe(quantityValue(n * 1024 * 1024));
      expect(quantityValue(`${n}k`)).toBe(quantityValue(`${n}e3`));
      expect(quantityValue(`${n}m`)).toBeCloseTo(n / 1000, 12);
    }));
  });
});

const resources = (requests: Record<string, unknown>) => ({ containers: [{ resources: { requests } }] });

describe('holds', () => {
  it.each<[string, unknown, unknown]>([
    ['"0.5" and "500m"', resources({ cpu: '500m' }), resources({ cpu: '0.5' })],
    ['1 and "1"', resources({ cpu: '1' }), resources({ cpu: 1 })],
    ['"1024Mi" and "1Gi"', resources({ memory: '1Gi' }), resources({ memory: '1024Mi' })],
    ['"1000m" and "1"', { limits: { cpu: '1' } }, { limits: { cpu: '1000m' } }],
    ['an observed object with more fields', { image: 'a', imagePullPolicy: 'IfNotPresent', status: { ready: true } }, { image: 'a' }],
    ['an observed map with more keys', { labels: { a: '1', b: '2' } }, { labels: { a: '1' } }],
    ['an empty desired list and an absent one', {}, { ports: [] }],
    ['an empty desired map and an absent one', {}, { annotations: {} }],
    ['a desired empty map and an observed empty map', { podSelector: {} }, { podSelector: {} }],
    ['an empty string the server left out (omitempty)', { env: [{ name: 'A' }] }, { env: [{ name: 'A', value: '' }] }],
    ['a zero the server left out (omitempty)', { probe: { periodSeconds: 5 } }, { probe: { periodSeconds: 5, initialDelaySeconds: 0 } }],
    ['a false the server left out (omitempty)', { mount: { name: 'x' } }, { mount: { name: 'x', readOnly: false } }],
    ['a field we do not render', { replicas: 3 }, { replicas: undefined }],
  ])('counts %s as equal', (_what, have, want) => {
    expect(holds(have, want)).toBe(true);
  });

  it.each<[string, unknown, unknown]>([
    ['a changed image', { image: 'app:1' }, { image: 'app:2' }],
    ['an added list element', { args: ['a'] }, { args: ['a', 'b'] }],
    ['a removed list element', { args: ['a', 'b'] }, { args: ['a'] }],
    ['reordered list elements', { args: ['a', 'b'] }, { args: ['b', 'a'] }],
    ['a changed label', { labels: { tier: 'web' } }, { labels: { tier: 'api' } }],
    ['a missing label', { labels: {} }, { labels: { tier: 'web' } }],
    ['a label that reads like a different way to write the same number', { labels: { version: '1' } }, { labels: { version: '1.0' } }],
    ['an annotation that reads like a quantity', { annotations: { timeout: '1000m' } }, { annotations: { timeout: '1' } }],
    ['a changed quantity', resources({ cpu: '500m' }), resources({ cpu: '0.6' })],
    ['a quantity against a non-quantity', resources({ cpu: 'lots' }), resources({ cpu: '1' })],
    ['an observed value where we want none', { selector: { a: '1' } }, { selector: {} }],
    ['an observed list where we want an empty one', { ingress: [{ from: [] }] }, { ingress: [] }],
    ['a number against the string of it outside resources', { port: '80' }, { port: 80 }],
    ['a changed number', { replicas: 2 }, { replicas: 3 }],
    ['a flipped boolean', { immutable: false }, { immutable: true }],
    ['a list where a map is wanted', { data: ['a'] }, { data: { a: '1' } }],
    ['a map where a list is wanted', { args: { 0: 'a' } }, { args: ['a'] }],
    ['an absent value we want', {}, { image: 'a' }],
    ['an empty string we want set to something', { value: '' }, { value: 'x' }],
  ])('counts %s as a difference', (_what, have, want) => {
    expect(holds(have, want)).toBe(false);
  });
});

describe('upToDate', () => {
  const ms = microservice({
    image: 'registry.example/orders:1.4.2',
    replicas: 3,
    ports: [{ name: 'http', port: 8080 }],
    resources: { requests: { cpu: '0.5', memory: '1024Mi' }, limits: { cpu: 1 } },
    env: [{ name: 'EMPTY', value: '' }],
    config: { data: { LOG_LEVEL: 'info' } },
    autoscaling: { maxReplicas: 4 },
  });
  const objects = renderPlan(ms, { slots: { blue: { replicas: 3, revision: SPEC } } }).objects;
  const deployment = objects.find((o) => o.kind === 'Deployment')!;

  it.each(objects.map((o) => [o.kind, o] as const))('holds for a %s as the API server returns it', (_kind, o) => {
    expect(upToDate(serverLike(o), o)).toBe(true);
  });

  it.each<[string, (o: any) => void]>([
    ['a label removed', (o) => delete o.metadata.labels['app.kubernetes.io/managed-by']],
    ['another owner', (o) => { o.metadata.ownerReferences[0].uid = 'someone-else'; }],
    ['no owner', (o) => delete o.metadata.ownerReferences],
    ['replicas changed', (o) => { o.spec.replicas = 5; }],
    ['a container added', (o) => o.spec.template.spec.containers.push({ name: 'sidecar', image: 'x' })],
    ['a request changed', (o) => { o.spec.template.spec.containers[0].resources.requests.cpu = '600m'; }],
    ['the revision label changed', (o) => { o.spec.template.metadata.labels['coxswain.dev/revision'] = 'other'; }],
  ])('fails for a Deployment with %s', (_what, mutate) => {
    const observed = serverLike(deployment);
    mutate(observed);
    expect(upToDate(observed, deployment)).toBe(false);
  });

  it('ignores annotations when we render none, and compares them when we do', () => {
    const observed = serverLike(deployment);
    expect(observed.metadata.annotations).toBeDefined();
    expect(upToDate(observed, deployment)).toBe(true);
    expect(upToDate(observed, { ...deployment, metadata: { ...deployment.metadata, annotations: { note: 'x' } } })).toBe(false);
  });
});

describe('canonical quantities in the test server', () => {
  it.each([['0.5', '500m'], [1, '1'], ['1024Mi', '1Gi'], ['1000m', '1'], ['1e3', '1k'], ['1536Mi', '1536Mi'], ['250m', '250m']])('writes %j as %s', (q, canonical) => {
    expect(canonicalQuantity(q)).toBe(canonical);
  });

  it('keeps the value of every quantity it rewrites', () => {
    fc.assert(fc.property(arbQuantity, (q) => {
      expect(quantityValue(canonicalQuantity(q))).toBeCloseTo(quantityValue(q)!, 9);
    }));
  });
});

describe('upToDate properties', () => {
  const arbObjects = fc.tuple(arbName, arbSpecInput, arbPlan).map(([name, spec, plan]) => renderPlan(microservice(spec, { name }), plan).objects);

  it('holds for every rendered object as the API server returns it', () => {
    fc.assert(fc.property(arbObjects, (objects) => {
      for (const o of objects) expect(upToDate(serverLike(o), o), `${o.kind}/${o.metadata.name}`).toBe(true);
    }));
  });

  it('fails once any string we render is changed on the observed object', () => {
    // Objects are found by kind, namespace and name, so those always match and are not compared.
    const identity = new Set(['apiVersion', 'kind', 'metadata.name', 'metadata.namespace']);
    const arbCase = arbObjects.chain((objects) => fc.constantFrom(...objects)).chain((o: KubeObject) => {
      const leaves = stringLeaves(o).filter((p) => !identity.has(p.slice(0, 2).join('.')) && !identity.has(String(p[0])));
      return fc.tuple(fc.constant(o), fc.constantFrom(...leaves));
    });
    fc.assert(fc.property(arbCase, ([desired, path]) => {
      const observed = serverLike(desired);
      setPath(observed, path, `${String(getPath(observed, path))}~changed`);
      expect(upToDate(observed, desired), path.join('.')).toBe(false);
    }));
  });
});
