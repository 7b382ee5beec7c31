// Properties of rendering that must hold for every valid Microservice and plan.
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MicroserviceSpecInput } from '../api/schema.js';
import { arbName, arbPlan, arbSpecInput } from '../../test/support/arbitraries.js';
import { microservice, planFor, renderPlan, SPEC } from '../../test/support/fixtures.js';
import { configMapNameFor, render, revisionOf } from './index.js';
import { LABEL_MANAGED_BY } from '../api/names.js';
import { type KubeObject } from '../kube/object.js';

type Labels = Record<string, string>;
const selects = (selector: Labels, labels: Labels | undefined) => Object.entries(selector).every(([k, v]) => labels?.[k] === v);
const deployments = (objects: KubeObject[]) => objects.filter((o) => o.kind === 'Deployment') as any[];

describe('render properties', () => {
  it('gives every Deployment a selector that matches its own pod template', () => {
    fc.assert(fc.property(arbName, arbSpecInput, arbPlan, (name, spec, plan) => {
      for (const d of deployments(renderPlan(microservice(spec, { name }), plan).objects)) {
        expect(Object.keys(d.spec.selector.matchLabels).length).toBeGreaterThan(0);
        expect(selects(d.spec.selector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
      }
    }));
  });

  it('gives no two Deployments overlapping selectors, so each slot owns its pods', () => {
    fc.assert(fc.property(arbName, arbSpecInput, arbPlan, (name, spec, plan) => {
      const deps = deployments(renderPlan(microservice(spec, { name }), plan).objects);
      for (const a of deps) for (const b of deps) if (a !== b) expect(selects(a.spec.selector.matchLabels, b.spec.template.metadata.labels)).toBe(false);
    }));
  });

  it('selects the pods of some rendered Deployment with every Service', () => {
    fc.assert(fc.property(arbName, arbSpecInput, arbPlan, (name, spec, plan) => {
      const objects = renderPlan(microservice(spec, { name }), plan).objects;
      const templates = deployments(objects).map((d) => d.spec.template.metadata.labels as Labels);
      for (const svc of objects.filter((o) => o.kind === 'Service') as any[]) {
        expect(templates.some((labels) => selects(svc.spec.selector, labels)), `${svc.metadata.name} selects no rendered pods`).toBe(true);
      }
    }));
  });

  it('renames the ConfigMap exactly when config.data changes', () => {
    const arbData = fc.dictionary(fc.stringMatching(/^[A-Z]{1,3}$/), fc.constantFrom('', 'a', 'b', 'info'), { maxKeys: 3, noNullPrototype: true });
    // The second map is often the first with its keys in another order, so equal content is exercised too.
    const arbPair = arbData.chain((a) => fc.tuple(fc.constant(a), fc.oneof(arbData, fc.shuffledSubarray(Object.entries(a), { minLength: Object.keys(a).length }).map(Object.fromEntries))));
    fc.assert(fc.property(arbPair, fc.boolean(), ([a, b], mount) => {
      const mountPath = mount ? '/etc/app' : undefined;
      const first = configMapNameFor(microservice({ image: 'app:1', config: { data: a } }));
      const second = configMapNameFor(microservice({ image: 'app:1', config: { data: b, mountPath } }));
      expect(first === second).toBe(isDeepStrictEqual({ ...a }, { ...b }));
    }));
  });

  it('changes the revision when the image, env or config changes', () => {
    const changes: Array<[string, (s: MicroserviceSpecInput) => MicroserviceSpecInput]> = [
      ['image', (s) => ({ ...s, image: `${s.image}-patched` })],
      ['env', (s) => ({ ...s, env: [...(s.env ?? []), { name: 'ADDED_BY_TEST', value: 'x' }] })],
      ['config.data', (s) => ({ ...s, config: { ...s.config, data: { ...s.config?.data, ADDED_BY_TEST: 'x' } } })],
      ['config.mountPath', (s) => ({ ...s, config: { data: s.config?.data ?? {}, mountPath: s.config?.mountPath === '/mnt/other' ? '/mnt/else' : '/mnt/other' } })],
      ['a sidecar', (s) => ({ ...s, sidecars: [...(s.sidecars ?? []), { name: 'x-added-0', image: 'registry.example/added:1' }] })],
      ['an init container', (s) => ({ ...s, initContainers: [{ name: 'x-added-0', image: 'registry.example/added:1' }, ...(s.initContainers ?? [])] })],
      ['the preStop hook', (s) => ({ ...s, lifecycle: { preStop: { sleep: { seconds: 99 } } } })],
      ['a pod field', (s) => ({ ...s, pod: { ...s.pod, runtimeClassName: 'added-by-test' } })],
    ];
    fc.assert(fc.property(arbName, arbSpecInput, fc.constantFrom(...changes), (name, spec, [, change]) => {
      expect(revisionOf(microservice(change(spec), { name }))).not.toBe(revisionOf(microservice(spec, { name })));
    }));
  });

  it('keeps the revision when only replicas, autoscaling, strategy, paused, minReadySeconds or the disruption budget change', () => {
    const arbOther = fc.record({
      minReadySeconds: fc.integer({ min: 0, max: 9 }),
      disruption: fc.option(fc.record({ maxUnavailable: fc.integer({ min: 0, max: 3 }) }), { nil: undefined }),
      replicas: fc.integer({ min: 0, max: 50 }),
      autoscaling: fc.option(fc.record({ minReplicas: fc.constant(1), maxReplicas: fc.integer({ min: 1, max: 99 }) }), { nil: undefined }),
      strategy: fc.record({ progressDeadlineSeconds: fc.integer({ min: 10, max: 5000 }) }),
      paused: fc.boolean(),
    });
    fc.assert(fc.property(arbName, arbSpecInput, arbOther, (name, spec, other) => {
      expect(revisionOf(microservice({ ...spec, ...other }, { name }))).toBe(revisionOf(microservice(spec, { name })));
    }));
  });

  it('renders the same objects for the same input, also from a copy', () => {
    fc.assert(fc.property(arbName, arbSpecInput, arbPlan, (name, spec, plan) => {
      const ms = microservice(spec, { name });
      const first = renderPlan(ms, plan);
      expect(renderPlan(ms, plan)).toStrictEqual(first);
      expect(renderPlan(structuredClone(ms), structuredClone(plan))).toStrictEqual(first);
    }));
  });

  it('does not change the Microservice it renders', () => {
    fc.assert(fc.property(arbName, arbSpecInput, arbPlan, (name, spec, plan) => {
      const ms = microservice(spec, { name });
      const before = structuredClone(ms);
      renderPlan(ms, plan);
      expect(ms).toStrictEqual(before);
    }));
  });

  it('labels every object managed-by coxswain and gives it a controller reference to the Microservice uid', () => {
    fc.assert(fc.property(arbName, arbSpecInput, arbPlan, fc.uuid(), (name, spec, plan, uid) => {
      for (const o of renderPlan(microservice(spec, { name, uid }), plan).objects) {
        expect(o.metadata.labels?.[LABEL_MANAGED_BY]).toBe('coxswain');
        const controllers = (o.metadata.ownerReferences ?? []).filter((r) => r.controller);
        expect(controllers).toEqual([expect.objectContaining({ kind: 'Microservice', apiVersion: 'coxswain.dev/v1alpha1', name, uid })]);
      }
    }));
  });

  it('renders the first revision of any spec at full size in the blue slot', () => {
    fc.assert(fc.property(arbName, arbSpecInput, (name, spec) => {
      const ms = microservice(spec, { name });
      const deps = deployments(renderPlan(ms, { slots: { blue: { replicas: ms.spec.replicas, revision: SPEC } } }).objects);
      expect(deps.map((d) => [d.metadata.name, d.spec.replicas])).toEqual([[`${name}-blue`, ms.spec.replicas]]);
    }));
  });
});
