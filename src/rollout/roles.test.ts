// Which pod gets which role: the pure rule, per strategy, and the relabels it asks for.
import { describe, expect, it } from 'vitest';
import { LABEL_REVISION, LABEL_ROLE } from '../api/names.js';
import type { KubeObject } from '../kube/object.js';
import { type Release, relabels, releaseOf, roleOf } from './roles.js';

/** A pod of the slot blue of `orders`, made by its ReplicaSet (`orders-blue-<pod-template-hash>`) unless `controller` says otherwise. */
const pod = (name: string, revision: string | undefined, role?: string, terminating = false, controller = 'orders-blue-h'): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: {
    name, namespace: 'shop',
    labels: {
      'app.kubernetes.io/name': 'orders', 'coxswain.dev/slot': 'blue', 'pod-template-hash': 'h',
      ...(revision ? { [LABEL_REVISION]: revision } : {}), ...(role ? { [LABEL_ROLE]: role } : {}),
    },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: controller, uid: 'rs', controller: true }],
    ...(terminating ? { deletionTimestamp: '2024-05-01T12:00:00Z' } : {}),
  },
});
const names = (rs: ReturnType<typeof relabels>) => rs.map(({ pod: p, role }) => [p.metadata.name, role]);

describe('releaseOf', () => {
  it('makes a first revision stable from the start', () => {
    expect(releaseOf('Canary', { desiredRevision: 'a' })).toEqual({ strategy: 'Canary', stable: 'a' });
  });
  it('names the spec\'s revision the candidate while it is neither stable nor held back', () => {
    expect(releaseOf('Canary', { stableRevision: 'a', desiredRevision: 'b' })).toEqual({ strategy: 'Canary', stable: 'a', candidate: 'b' });
    expect(releaseOf('Canary', { stableRevision: 'b', desiredRevision: 'b' })).toEqual({ strategy: 'Canary', stable: 'b' });
    expect(releaseOf('BlueGreen', { stableRevision: 'a', desiredRevision: 'b', rollout: { abortedRevision: 'b' } })).toEqual({ strategy: 'BlueGreen', stable: 'a' });
  });
});

describe('roleOf', () => {
  const mid = (strategy: Release['strategy']): Release => ({ strategy, stable: 'a', candidate: 'b' });
  it.each<[Release['strategy'], string]>([['Canary', 'canary'], ['RollingUpdate', 'canary'], ['BlueGreen', 'preview']])(
    '%s: the stable revision\'s pods are stable, the candidate\'s %s', (strategy, candidate) => {
      expect(roleOf('a', mid(strategy))).toBe('stable');
      expect(roleOf('b', mid(strategy))).toBe(candidate);
    });
  it('gives no role to any other revision (aborted, replaced, the previous one draining) nor to a pod without one', () => {
    expect(roleOf('c', mid('Canary'))).toBeUndefined();
    expect(roleOf('b', { strategy: 'Canary', stable: 'a' })).toBeUndefined();
    expect(roleOf(undefined, mid('BlueGreen'))).toBeUndefined();
  });
});

describe('relabels', () => {
  const release: Release = { strategy: 'Canary', stable: 'a', candidate: 'b' };
  it('asks only for the pods whose label differs, each judged by its own revision', () => {
    // One slot holding pods of two revisions (mid-rolling-update): each gets its own.
    const pods = [pod('p1', 'a', 'stable'), pod('p2', 'a'), pod('p3', 'b', 'stable'), pod('p4', 'b', 'canary'), pod('p5', 'c', 'canary'), pod('p6', 'c')];
    expect(names(relabels(pods, release, 'orders'))).toEqual([['p2', 'stable'], ['p3', 'canary'], ['p5', null]]);
  });
  it('leaves terminating pods as they are, and asks nothing once every label is right', () => {
    expect(relabels([pod('p1', 'c', 'canary', true), pod('p2', 'a', 'stable'), pod('p3', 'b', 'canary')], release, 'orders')).toEqual([]);
  });
  it('never writes a pod that only looks like one of the Microservice\'s: its controller must be a ReplicaSet of the slot', () => {
    const bare = { ...pod('p1', 'a'), metadata: { ...pod('p1', 'a').metadata, ownerReferences: [] } };
    const other = pod('p2', 'a', undefined, false, 'payments-blue-h');
    const unhashed = { ...pod('p3', 'a'), metadata: { ...pod('p3', 'a').metadata, labels: { [LABEL_REVISION]: 'a', 'coxswain.dev/slot': 'blue' } } };
    expect(relabels([bare, other, unhashed], release, 'orders')).toEqual([]);
    expect(names(relabels([pod('p4', 'a')], release, 'orders'))).toEqual([['p4', 'stable']]);
  });
  it('makes the candidate\'s pods stable in the pass that promotes it', () => {
    const promoted = releaseOf('Canary', { stableRevision: 'b', desiredRevision: 'b' });
    expect(names(relabels([pod('p1', 'a', 'stable'), pod('p2', 'b', 'canary')], promoted, 'orders'))).toEqual([['p1', null], ['p2', 'stable']]);
  });
});
