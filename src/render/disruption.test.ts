// The PodDisruptionBudget <name>: over both slots, and never one that blocks a drain for good.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MicroserviceSpecInput } from '../api/schema.js';
import { LABEL_MANAGED_BY, LABEL_NAME, LABEL_SLOT } from '../api/names.js';
import { microservice, renderPlan, SPEC, UID } from '../../test/support/fixtures.js';
import { budgetFor } from './disruption.js';
import { revisionOf } from './index.js';

const BASE: MicroserviceSpecInput = { image: 'registry.example/orders:1.4.2', replicas: 4 };
const MID_CANARY = { slots: { blue: { replicas: 3 }, green: { replicas: 2, revision: SPEC } } };
const pdbOf = (spec: Partial<MicroserviceSpecInput>) =>
  renderPlan(microservice({ ...BASE, ...spec }), MID_CANARY).objects.find((o) => o.kind === 'PodDisruptionBudget') as any;

describe('the PodDisruptionBudget', () => {
  it('is not made unless spec.disruption asks for one', () => {
    expect(pdbOf({})).toBeUndefined();
  });

  it('is <name>, owned, selecting every pod of the Microservice whatever its slot', () => {
    const pdb = pdbOf({ disruption: { maxUnavailable: 1 } });
    expect(pdb).toMatchObject({
      apiVersion: 'policy/v1', kind: 'PodDisruptionBudget',
      metadata: { name: 'orders', namespace: 'shop', ownerReferences: [{ kind: 'Microservice', name: 'orders', uid: UID, controller: true }] },
    });
    expect(pdb.spec).toEqual({
      selector: { matchLabels: { [LABEL_NAME]: 'orders', [LABEL_MANAGED_BY]: 'coxswain' } },
      maxUnavailable: 1,
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    });
    // Both slots' pods carry the selector's labels; it names no slot.
    const deps = renderPlan(microservice({ ...BASE, disruption: { maxUnavailable: 1 } }), { slots: { blue: { replicas: 3, revision: SPEC }, green: { replicas: 2, revision: SPEC } } })
      .objects.filter((o) => o.kind === 'Deployment') as any[];
    for (const d of deps) expect(d.spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(Object.keys(pdb.spec.selector.matchLabels)).not.toContain(LABEL_SLOT);
  });

  it.each<[string, MicroserviceSpecInput['disruption'], number, object]>([
    ['maxUnavailable as written', { maxUnavailable: 2 }, 4, { maxUnavailable: 2 }],
    ['a maxUnavailable percentage as written', { maxUnavailable: '25%' }, 4, { maxUnavailable: '25%' }],
    ['maxUnavailable 0 as 1', { maxUnavailable: 0 }, 4, { maxUnavailable: 1 }],
    ['maxUnavailable 0% as 1', { maxUnavailable: '0%' }, 4, { maxUnavailable: 1 }],
    ['minAvailable below replicas as written', { minAvailable: 3 }, 4, { minAvailable: 3 }],
    ['minAvailable at replicas as replicas - 1', { minAvailable: 4 }, 4, { minAvailable: 3 }],
    ['minAvailable above replicas as replicas - 1', { minAvailable: 10 }, 4, { minAvailable: 3 }],
    ['minAvailable 1 of 1 replica as 0', { minAvailable: 1 }, 1, { minAvailable: 0 }],
    ['minAvailable 100% as replicas - 1', { minAvailable: '100%' }, 4, { minAvailable: 3 }],
    ['minAvailable 50% of 1 replica (rounded up: 1) as 0', { minAvailable: '50%' }, 1, { minAvailable: 0 }],
    ['minAvailable 75% of 4 as written', { minAvailable: '75%' }, 4, { minAvailable: '75%' }],
    ['minAvailable 1 of 0 replicas as 0', { minAvailable: 1 }, 0, { minAvailable: 0 }],
  ])('renders %s', (_what, disruption, replicas, budget) => {
    expect(budgetFor(disruption!, replicas)).toEqual(budget);
    const pdb = pdbOf({ disruption, replicas });
    expect(pdb.spec).toEqual({ selector: expect.any(Object), ...budget, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
  });

  it('always allows an eviction at full health, at replicas pods or more (both slots mid-rollout)', () => {
    const arbBudget = fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 100 }).map((p) => `${p}%`));
    fc.assert(fc.property(fc.boolean(), arbBudget, fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 6 }), (max, value, replicas, extra) => {
      const expected = replicas + extra; // the pods the disruption controller expects: both slots' sizes
      const b = budgetFor(max ? { maxUnavailable: value } : { minAvailable: value }, replicas);
      // As the disruption controller computes it (percentages rounded up).
      const scaled = (v: number | string) => (typeof v === 'number' ? v : Math.ceil((expected * Number(v.slice(0, -1))) / 100));
      const allowed = 'maxUnavailable' in b ? scaled(b.maxUnavailable) : expected - scaled(b.minAvailable);
      expect(allowed).toBeGreaterThanOrEqual(1);
    }));
  });

  it('is no part of the revision', () => {
    expect(revisionOf(microservice({ ...BASE, disruption: { minAvailable: '50%' } }))).toBe(revisionOf(microservice(BASE)));
  });
});
