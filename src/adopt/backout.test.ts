// A Microservice deleted half-way through its takeover: the old Deployment back at its replicas,
// the HPA and Service it had taken over handed back, and the finalizer held until the old pods are
// all available again (or the progress deadline after the deletion has passed).
import { describe, expect, it } from 'vitest';
import type { MicroserviceObject, MicroserviceStatus } from '../api/schema.js';
import type { KubeObject } from '../kube/object.js';
import { microservice, UID } from '../../test/support/fixtures.js';
import { backOut, holdsTakeover } from './backout.js';
import { ANNOTATION_ADOPTED_BY } from './takeover.js';

const DELETED = '2026-01-01T00:10:00Z';
const NOW = new Date('2026-01-01T00:10:05Z');
const ours = [{ apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', name: 'orders', uid: UID, controller: true }];

function deleted(phase: string, over: Record<string, unknown> = {}): MicroserviceObject {
  const status = { adoption: { deployment: 'orders', phase, replicas: 4, scaledTo: 3 } } as MicroserviceStatus;
  const ms = microservice({ image: 'registry.example/orders:2', replicas: 4, ports: [{ name: 'http', port: 8080 }], adopt: { deployment: 'orders', service: 'orders', hpa: 'orders' }, ...over }, {}, status);
  return { ...ms, metadata: { ...ms.metadata, deletionTimestamp: DELETED } };
}
function old(replicas: number, available: number, annotated = true, observed = true): KubeObject {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'orders', namespace: 'shop', uid: 'd1', generation: 3, ...(annotated ? { annotations: { [ANNOTATION_ADOPTED_BY]: 'orders' } } : {}) },
    spec: { replicas, selector: { matchLabels: { app: 'orders' } } },
    status: { observedGeneration: observed ? 3 : 2, replicas: available, availableReplicas: available },
  };
}
const hpa = (owners = ours): KubeObject => ({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'orders', namespace: 'shop', uid: 'h1', ownerReferences: owners },
  spec: { scaleTargetRef: { apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', name: 'orders' } } });
const service = (owners?: typeof ours): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'orders', namespace: 'shop', uid: 's1', ...(owners ? { ownerReferences: owners } : {}) },
  spec: { selector: { 'app.kubernetes.io/name': 'orders', 'app.kubernetes.io/managed-by': 'coxswain', 'coxswain.dev/slot': 'blue' } } });

describe('a takeover backed out by deleting the Microservice', () => {
  it('puts the old Deployment back to its replicas and hands the HPA back, holding the deletion meanwhile', () => {
    const b = backOut(deleted('ScalingDown'), { deployment: old(3, 3), service: service(), hpa: hpa() }, NOW);
    expect(b.writes).toEqual([
      { resize: { name: 'orders', replicas: 4 } },
      { patch: { kind: 'Deployment', name: 'orders', ops: [{ op: 'test', path: '/metadata/annotations/coxswain.dev~1adopted-by', value: 'orders' }, { op: 'remove', path: '/metadata/annotations/coxswain.dev~1adopted-by' }] } },
      { patch: { kind: 'HorizontalPodAutoscaler', name: 'orders', ops: [
        { op: 'test', path: '/metadata/uid', value: 'h1' }, { op: 'remove', path: '/metadata/ownerReferences' },
        { op: 'replace', path: '/spec/scaleTargetRef', value: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'orders' } }] } },
    ]);
    expect(b.done).toBe(false);
  });

  it('lets go once the old Deployment has all its pods available, and not before', () => {
    const back = { service: service(), hpa: hpa([]) };
    expect(backOut(deleted('ScalingDown'), { deployment: old(4, 3, false), ...back }, NOW)).toMatchObject({ writes: [], done: false });
    // Its status not yet about its latest spec: its counts are not taken.
    expect(backOut(deleted('ScalingDown'), { deployment: old(4, 4, false, false), ...back }, NOW).done).toBe(false);
    expect(backOut(deleted('ScalingDown'), { deployment: old(4, 4, false), ...back }, NOW)).toMatchObject({ writes: [], done: true });
  });

  it('hands a Service already taken over back to the old pods, keeping owners that are not its own', () => {
    const other = { apiVersion: 'v1', kind: 'ConfigMap', name: 'keep', uid: 'c1', controller: false };
    const b = backOut(deleted('TakingOverService'), { deployment: old(4, 4, false), service: service([...ours, other]) }, NOW);
    expect(b.writes).toEqual([{ patch: { kind: 'Service', name: 'orders', ops: [
      { op: 'test', path: '/metadata/uid', value: 's1' }, { op: 'replace', path: '/metadata/ownerReferences', value: [other] },
      { op: 'replace', path: '/spec/selector', value: { app: 'orders' } }] } }]);
    expect(b.done).toBe(false);
  });

  it('puts nothing back once the takeover is done, or when the old Deployment is gone or going', () => {
    expect(backOut(deleted('Done'), { deployment: old(0, 0), hpa: hpa() }, NOW)).toMatchObject({ writes: [], done: true });
    expect(backOut(deleted('ScalingDown'), { hpa: hpa() }, NOW)).toMatchObject({ writes: [], done: true });
    const going = old(3, 3);
    going.metadata.deletionTimestamp = DELETED;
    expect(backOut(deleted('ScalingDown'), { deployment: going }, NOW)).toMatchObject({ writes: [], done: true });
  });

  it('lets go a progress deadline after the deletion, its writes still made', () => {
    const ms = deleted('ScalingDown', { strategy: { type: 'RollingUpdate', progressDeadlineSeconds: 60 } });
    const late = backOut(ms, { deployment: old(3, 0) }, new Date(Date.parse(DELETED) + 61_000));
    expect([late.done, late.writes[0]]).toEqual([true, { resize: { name: 'orders', replicas: 4 } }]);
    expect(late.message).toMatch(/0 of 4 available replicas 60s after the deletion: let go/);
    expect(backOut(ms, { deployment: old(3, 0) }, new Date(Date.parse(DELETED) + 59_000)).done).toBe(false);
  });

  it('is held only while a takeover could leave the old Deployment short', () => {
    expect(['ScalingDown', 'TakingOverService', 'Failed', 'Done', undefined].map(holdsTakeover)).toEqual([true, true, true, false, false]);
  });
});
