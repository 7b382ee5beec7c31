import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MicroserviceStatus, Slot } from '../api/schema.js';
import { configMapNameFor, render, revisionOf } from '../render/index.js';
import { SLOTS } from '../api/names.js';
import { type KubeObject } from '../kube/object.js';
import { renderDeployment } from '../render/workload.js';
import { arbMicroservice } from '../../test/support/arbitraries.js';
import { microservice, readySlot, planFor, renderPlan, SPEC } from '../../test/support/fixtures.js';
import { serverLike } from '../../test/support/server.js';
import { configMapsReferenced, observeSlot } from './observe.js';
import { activeSlotOf, writeOrder } from './plan.js';
import { LABEL_REVISION } from '../api/names.js';
import type { ObservedSlots } from './types.js';

const ms = (status?: MicroserviceStatus) => microservice({ image: 'registry.example/orders:2', replicas: 3 }, {}, status);

describe('activeSlotOf', () => {
  it.each<[string, MicroserviceStatus | undefined, ObservedSlots, Slot]>([
    ['blue for a new Microservice', undefined, {}, 'blue'],
    ['the slot status names, over what is observed', { activeSlot: 'green' }, { blue: readySlot('a', 3) }, 'green'],
    ['blue when status names blue, even with green holding pods', { activeSlot: 'blue' }, { green: readySlot('a', 3) }, 'blue'],
    ['green when only green exists and status is lost', undefined, { green: readySlot('a', 3) }, 'green'],
    ['green when blue is scaled to zero and green holds pods', undefined, { blue: readySlot('a', 0), green: readySlot('b', 2) }, 'green'],
    ['blue when both hold pods', undefined, { blue: readySlot('a', 1), green: readySlot('b', 2) }, 'blue'],
    ['the slot holding the stable revision when activeSlot is lost, both holding pods', { stableRevision: 'b' }, { blue: readySlot('a', 5), green: readySlot('b', 9) }, 'green'],
    ['by pods when neither slot holds the stable revision', { stableRevision: 'c' }, { blue: readySlot('a', 0), green: readySlot('b', 2) }, 'green'],
    ['blue when both are empty', undefined, { blue: readySlot('a', 0), green: readySlot('b', 0) }, 'blue'],
  ])('is %s', (_what, status, observed, expected) => {
    expect(activeSlotOf(ms(status), observed)).toBe(expected);
  });
});

describe('observeSlot', () => {
  const spec = { image: 'registry.example/orders:2', replicas: 3, config: { data: { A: '1' } } };
  const deployment = (status: Record<string, unknown> | undefined, generation = 2) => {
    const d = serverLike(renderDeployment(microservice(spec), 'blue', 3)) as KubeObject & { status?: unknown };
    d.metadata.generation = generation;
    if (status) d.status = status;
    else delete d.status;
    return d;
  };

  const pod = (revision: string, ready: boolean, over: Record<string, unknown> = {}) => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${revision}`, labels: { [LABEL_REVISION]: revision }, ...over },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });

  it('reads revision and image from the pod template, sizes from status, Ready pods of its own revision from its pods', () => {
    const rev = revisionOf(microservice(spec));
    const starting = { creationTimestamp: '2024-05-01T11:59:00Z' };
    const pods = [pod(rev, true), pod(rev, true), pod(rev, false, starting), pod('older', true), pod(rev, true, { deletionTimestamp: '2024-05-01T12:00:00Z' })];
    const o = observeSlot(deployment({ observedGeneration: 2, replicas: 4, readyReplicas: 4, updatedReplicas: 3, availableReplicas: 1 }), pods);
    expect(o).toEqual({
      revision: rev, image: spec.image, replicas: 3,
      currentReplicas: 4, livePods: 4, readyReplicas: 2, servingReplicas: 3, updatedReplicas: 3, availableReplicas: 1, settled: true, deadlineExceeded: false,
      failingPods: 0, failure: undefined, startingSince: [Date.parse(starting.creationTimestamp)], templateReady: 2,
    });
  });

  it('counts nothing Ready and nothing settled before the Deployment controller reports', () => {
    expect(observeSlot(deployment(undefined), [])).toMatchObject({ currentReplicas: 0, readyReplicas: 0, updatedReplicas: 0, availableReplicas: 0, settled: false });
  });

  it.each<[number | undefined, number, boolean]>([[1, 2, false], [2, 2, true], [3, 2, true], [undefined, 1, false]])(
    'with observedGeneration %s and generation %s, is settled: %s', (observedGeneration, generation, settled) => {
      expect(observeSlot(deployment({ observedGeneration }, generation), []).settled).toBe(settled);
    });

  it.each<[string, Array<Record<string, string>>, boolean]>([
    ['Progressing=False ProgressDeadlineExceeded', [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }], true],
    ['Progressing=True NewReplicaSetAvailable', [{ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }], false],
    ['Available=False ProgressDeadlineExceeded (wrong type)', [{ type: 'Available', status: 'False', reason: 'ProgressDeadlineExceeded' }], false],
    ['Progressing=False with another reason', [{ type: 'Progressing', status: 'False', reason: 'ReplicaSetCreateError' }], false],
  ])('reads the deadline from %s', (_what, conditions, exceeded) => {
    expect(observeSlot(deployment({ observedGeneration: 2, conditions }), []).deadlineExceeded).toBe(exceeded);
  });

  it('takes a Deployment without spec.replicas as wanting one pod, as Kubernetes defaults it', () => {
    const d = deployment({ observedGeneration: 2 }) as any;
    delete d.spec.replicas;
    expect(observeSlot(d, []).replicas).toBe(1);
  });

  it('reads back the revision, image and size of whatever it rendered', () => {
    fc.assert(fc.property(arbMicroservice, fc.integer({ min: 0, max: 20 }), (m, replicas) => {
      const o = observeSlot(serverLike(renderDeployment(m, 'green', replicas)), []);
      expect([o.revision, o.image, o.replicas]).toEqual([revisionOf(m), m.spec.image, replicas]);
    }));
  });
});

describe('configMapsReferenced', () => {
  it.each([
    ['through envFrom', undefined],
    ['through a volume at mountPath', '/etc/orders'],
  ])('finds the config ConfigMap referenced %s', (_how, mountPath) => {
    const m = microservice({ image: 'a:1', config: { data: { A: '1' }, mountPath } });
    expect(configMapsReferenced(renderDeployment(m, 'blue', 1))).toEqual([configMapNameFor(m)]);
  });

  it('also finds ConfigMaps the user refers to in volumes and envFrom', () => {
    const m = microservice({ image: 'a:1', envFrom: [{ configMapRef: { name: 'shared-env' } }, { secretRef: { name: 's' } }], pod: { volumes: [{ name: 'v', configMap: { name: 'shared-files' } }, { name: 'e', emptyDir: {} }] } });
    expect(configMapsReferenced(renderDeployment(m, 'blue', 1)).sort()).toEqual(['shared-env', 'shared-files']);
  });

  it('finds none in an object without a pod template', () => {
    expect(configMapsReferenced({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' }, spec: {} })).toEqual([]);
  });

  it('finds the config ConfigMap exactly when the spec has config', () => {
    fc.assert(fc.property(arbMicroservice, (m) => {
      const found = configMapsReferenced(renderDeployment(m, 'blue', 1));
      const name = configMapNameFor(m);
      expect(name === undefined ? found.every((n) => !n.startsWith(`${m.metadata.name}-config-`)) : found.includes(name)).toBe(true);
    }));
  });
});

describe('writeOrder', () => {
  const web = microservice({ image: 'registry.example/orders:2', replicas: 3, ports: [{ port: 8080 }], strategy: { type: 'BlueGreen' } });
  /** The rendering of a plan where `applied` (if any) gets the current template and the other slot is resized. */
  const rendered = (want: Record<Slot, number>, applied: Slot | undefined, serviceSlot?: Slot) => renderPlan(web, {
    slots: Object.fromEntries(SLOTS.map((slot) => [slot, { replicas: want[slot], template: slot === applied ? 'current' : 'keep' }])),
    serviceSlot,
  });
  const slotOf = (o: KubeObject) => (o.metadata.name.endsWith('-blue') ? 'blue' : 'green') as Slot;

  it('keeps the total of the slots within the larger of before and after, at every write', () => {
    const sizes = fc.record({ blue: fc.nat(10), green: fc.nat(10) });
    fc.assert(fc.property(sizes, sizes, fc.constantFrom<Slot | undefined>('blue', 'green', undefined), (was, want, applied) => {
      const observed: ObservedSlots = { blue: readySlot('a', was.blue), green: readySlot('b', was.green) };
      const now = { ...was };
      const totals: number[] = [];
      const write = (slot: Slot, replicas: number) => { now[slot] = replicas; totals.push(now.blue + now.green); };
      for (const w of writeOrder(rendered(want, applied), observed)) {
        if ('resize' in w) write(w.resize.slot, w.resize.replicas);
        else if (w.apply.kind === 'Deployment') write(slotOf(w.apply), (w.apply as unknown as { spec: { replicas: number } }).spec.replicas);
      }
      expect(now).toEqual(want);
      const cap = Math.max(was.blue + was.green, want.blue + want.green);
      for (const total of totals) expect(total).toBeLessThanOrEqual(cap);
    }));
  });

  it('points the Service before any slot shrinks, so none shrinks while it is selected', () => {
    const observed: ObservedSlots = { blue: readySlot('a', 3), green: readySlot('b', 3) };
    const kinds = writeOrder(rendered({ blue: 3, green: 0 }, 'blue', 'blue'), observed)
      .map((w) => ('resize' in w ? `resize ${w.resize.slot} ${w.resize.replicas}` : w.apply.kind));
    expect(kinds.indexOf('Service')).toBeLessThan(kinds.indexOf('resize green 0'));
  });

  it('with a route, applies the Services and then the HTTPRoute before any slot shrinks', () => {
    const routed = microservice({ ...web.spec, strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }] } }, traffic: { gateway: { parentRefs: [{ name: 'public' }] } } });
    const observed: ObservedSlots = { blue: readySlot('a', 3), green: readySlot('b', 2) };
    const plan = { slots: { blue: { replicas: 3, revision: SPEC }, green: { replicas: 0 } }, route: { stable: 'blue' as const, weight: 0, headers: [] } };
    const kinds = writeOrder(renderPlan(routed, plan), observed).map((w) => ('resize' in w ? `resize ${w.resize.slot} ${w.resize.replicas}` : `${w.apply.kind}/${w.apply.metadata.name}`));
    expect(kinds.slice(0, 5)).toEqual(['Service/orders', 'Service/orders-blue', 'Service/orders-green', 'HTTPRoute/orders', 'resize green 0']);
  });

  it('leaves out slots already at their size, and slots that do not exist', () => {
    const writes = writeOrder(rendered({ blue: 3, green: 2 }, undefined), { blue: readySlot('a', 3) });
    expect(writes.filter((w) => 'resize' in w)).toEqual([]);
  });
});
