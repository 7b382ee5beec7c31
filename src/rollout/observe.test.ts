import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/object.js';
import { observeSlot, podFailure, podReady, slimPod } from './observe.js';

/** A pod as the API server returns it (KWOK node, v1.36), with the fields the cache drops. */
const pod = (name: string, revision: string, status: Record<string, unknown>, deleting = false): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: {
    name, namespace: 'shop', uid: `uid-${name}`, resourceVersion: '7',
    labels: { 'app.kubernetes.io/name': 'web', 'coxswain.dev/revision': revision, 'coxswain.dev/slot': 'blue', 'pod-template-hash': 'h' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-blue-h', uid: 'rs', controller: true }],
    ...(deleting ? { deletionTimestamp: '2026-12-01T23:30:22Z' } : {}),
    managedFields: [{ manager: 'kube-controller-manager', operation: 'Update', fieldsV1: { 'f:metadata': {} } }],
  } as KubeObject['metadata'],
  spec: { containers: [{ name: 'web', image: 'registry.example/web:1' }], volumes: [{ name: 'kube-api-access', projected: {} }], nodeName: 'kwok-node-0' },
  status,
});
const cond = (ready: string) => [
  { type: 'Initialized', status: 'True', lastTransitionTime: '2026-12-01T23:30:22Z', lastProbeTime: null },
  { type: 'Ready', status: ready, lastTransitionTime: '2026-12-01T23:30:22Z', lastProbeTime: null },
];
const waiting = (reason: string) => [{ name: 'web', ready: false, restartCount: 3, image: 'x', imageID: '', lastState: {}, state: { waiting: { reason, message: 'back-off' } } }];
const PODS = [
  pod('ready', 'r1', { phase: 'Running', conditions: cond('True'), podIP: '10.0.0.1', containerStatuses: [{ name: 'web', ready: true, state: { running: { startedAt: 'x' } } }] }),
  pod('starting', 'r1', { phase: 'Pending', conditions: cond('False') }),
  pod('crashing', 'r1', { phase: 'Running', conditions: cond('False'), containerStatuses: waiting('CrashLoopBackOff') }),
  pod('pulling', 'r1', { phase: 'Pending', conditions: cond('False'), containerStatuses: waiting('ContainerCreating') }),
  pod('failed', 'r1', { phase: 'Failed', reason: 'Evicted', conditions: cond('False') }),
  pod('leaving', 'r1', { phase: 'Running', conditions: cond('True') }, true),
  pod('older', 'r0', { phase: 'Running', conditions: cond('True') }),
  pod('no-status', 'r1', undefined as unknown as Record<string, unknown>),
];

describe('slimPod: what the cache keeps of a pod', () => {
  it.each(PODS.map((p) => [p.metadata.name, p] as const))('%s reads the same, readiness and failure, once trimmed', (_name, p) => {
    expect([podReady(slimPod(p)), podFailure(slimPod(p))]).toEqual([podReady(p), podFailure(p)]);
  });

  it('a slot observed from trimmed pods is the slot observed from whole ones', () => {
    const deployment = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web-blue', namespace: 'shop', generation: 2 },
      spec: { replicas: 8, template: { metadata: { labels: { 'coxswain.dev/revision': 'r1' } }, spec: { containers: [{ image: 'registry.example/web:1' }] } } },
      status: { observedGeneration: 2, replicas: 8, readyReplicas: 3, updatedReplicas: 8, availableReplicas: 3 },
    };
    expect(observeSlot(deployment, PODS.map(slimPod))).toEqual(observeSlot(deployment, PODS));
  });

  it('drops the spec, managedFields, owners and the status no reconcile reads', () => {
    const slim = slimPod(PODS[0]!);
    expect(slim).toEqual({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: 'ready', namespace: 'shop', uid: 'uid-ready', resourceVersion: '7', labels: PODS[0]!.metadata.labels, deletionTimestamp: undefined },
      status: { phase: 'Running', reason: undefined, conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True' }], containerStatuses: [{ state: {} }] },
    });
    expect(JSON.stringify(slim).length).toBeLessThan(JSON.stringify(PODS[0]).length / 2);
  });
});
