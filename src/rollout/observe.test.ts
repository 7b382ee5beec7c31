import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/object.js';
import { availableAt, observeSlot, podFailure, podReady, publishedReady, slimEndpointSlice, slimPod } from './observe.js';

/** A pod as the API server returns it (KWOK node, v1.36), with the fields the cache drops. */
const pod = (name: string, revision: string, status: Record<string, unknown>, deleting = false): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: {
    name, namespace: 'shop', uid: `uid-${name}`, resourceVersion: '7', creationTimestamp: '2026-12-01T23:30:20Z',
    annotations: { 'kubectl.kubernetes.io/default-container': 'web', 'coxswain.dev/restartedAt': '2026-12-01T23:00:00Z' },
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
/** A sidecar `proxy` and two init containers, `migrate` and `warm`, as kubelet reports them while `stuck` waits for `reason`. */
const initStatuses = (stuck: string, reason: string) => ['proxy', 'migrate', 'warm'].map((name, i, all) => {
  const at = all.indexOf(stuck);
  if (name === stuck) return { name, ready: false, restartCount: 4, state: { waiting: { reason, message: 'back-off' } }, ...(reason === 'CrashLoopBackOff' ? { lastState: { terminated: { exitCode: 3, reason: 'Error' } } } : {}) };
  if (i < at) return name === 'proxy' ? { name, ready: true, started: true, state: { running: {} } } : { name, state: { terminated: { exitCode: 0, reason: 'Completed' } } };
  return { name, state: { waiting: { reason: 'PodInitializing' } } };
});
const PODS = [
  pod('ready', 'r1', { phase: 'Running', conditions: cond('True'), podIP: '10.0.0.1', containerStatuses: [{ name: 'web', ready: true, state: { running: { startedAt: 'x' } } }] }),
  pod('starting', 'r1', { phase: 'Pending', conditions: cond('False') }),
  pod('crashing', 'r1', { phase: 'Running', conditions: cond('False'), containerStatuses: waiting('CrashLoopBackOff') }),
  pod('pulling', 'r1', { phase: 'Pending', conditions: cond('False'), containerStatuses: waiting('ContainerCreating') }),
  pod('failed', 'r1', { phase: 'Failed', reason: 'Evicted', conditions: cond('False') }),
  pod('leaving', 'r1', { phase: 'Running', conditions: cond('True') }, true),
  pod('older', 'r0', { phase: 'Running', conditions: cond('True') }),
  pod('no-status', 'r1', undefined as unknown as Record<string, unknown>),
  pod('init-crashing', 'r1', { phase: 'Pending', conditions: cond('False'), initContainerStatuses: initStatuses('migrate', 'CrashLoopBackOff'), containerStatuses: waiting('PodInitializing') }),
  pod('sidecar-pull', 'r1', { phase: 'Pending', conditions: cond('False'), initContainerStatuses: initStatuses('proxy', 'ImagePullBackOff'), containerStatuses: waiting('PodInitializing') }),
];

describe('slimPod: what the cache keeps of a pod', () => {
  it.each(PODS.map((p) => [p.metadata.name, p] as const))('%s reads the same, readiness and failure, once trimmed', (_name, p) => {
    expect([podReady(slimPod(p)), podFailure(slimPod(p))]).toEqual([podReady(p), podFailure(p)]);
  });

  it('a slot observed from trimmed pods is the slot observed from whole ones', () => {
    const deployment = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web-blue', namespace: 'shop', generation: 2 },
      spec: { replicas: 8, template: { metadata: { labels: { 'coxswain.dev/revision': 'r1' }, annotations: { 'coxswain.dev/restartedAt': '2026-12-01T23:00:00Z' } }, spec: { containers: [{ image: 'registry.example/web:1' }] } } },
      status: { observedGeneration: 2, replicas: 8, readyReplicas: 3, updatedReplicas: 8, availableReplicas: 3 },
    };
    expect(observeSlot(deployment, PODS.map(slimPod))).toEqual(observeSlot(deployment, PODS));
    expect(observeSlot(deployment, PODS.map(slimPod))).toMatchObject({ readyReplicas: 1, servingReplicas: 2, startingSince: [Date.parse('2026-12-01T23:30:20Z'), Date.parse('2026-12-01T23:30:20Z'), Date.parse('2026-12-01T23:30:20Z')] });
  });

  it('drops the spec, managedFields, owners other than its controller, and the status no reconcile reads', () => {
    const slim = slimPod(PODS[0]!);
    expect(slim).toEqual({
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: 'ready', namespace: 'shop', uid: 'uid-ready', resourceVersion: '7', labels: PODS[0]!.metadata.labels, deletionTimestamp: undefined,
        // Its age and its restart stamp: whether it may still turn Ready, and of which template it is (observeSlot).
        creationTimestamp: '2026-12-01T23:30:20Z', annotations: { 'coxswain.dev/restartedAt': '2026-12-01T23:00:00Z' },
        // Its controller tells a pod of a slot from one that only looks like it (src/rollout/roles.ts).
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-blue-h', uid: 'rs', controller: true }],
      },
      status: {
        phase: 'Running', reason: undefined,
        conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True', lastTransitionTime: '2026-12-01T23:30:22Z' }],
        containerStatuses: [{ name: 'web', state: {} }],
      },
    });
    // This fixture is far smaller than a real pod (no tolerations, security context, projected token, ...): well over a third of it goes.
    expect(JSON.stringify(slim).length).toBeLessThan(JSON.stringify(PODS[0]).length * 0.6);
  });
});

describe('podFailure: which container fails, of any kind', () => {
  const byName = (name: string) => PODS.find((p) => p.metadata.name === name)!;
  const sidecars = new Set(['proxy']);
  it.each<[string, string | undefined]>([
    ['crashing', 'CrashLoopBackOff in container web'],
    ['pulling', undefined],
    ['failed', 'Evicted'],
    ['ready', undefined],
    ['init-crashing', 'CrashLoopBackOff in init container migrate (exit code 3)'],
    ['sidecar-pull', 'ImagePullBackOff in sidecar proxy'],
  ])('%s: %s', (name, failure) => {
    expect(podFailure(byName(name), sidecars)).toBe(failure);
    expect(podFailure(slimPod(byName(name)), sidecars)).toBe(failure);
  });

  it('calls a failing sidecar a sidecar in the slot\'s failure, from the Deployment\'s template', () => {
    const deployment = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web-blue', namespace: 'shop', generation: 1 },
      spec: { replicas: 1, template: {
        metadata: { labels: { 'coxswain.dev/revision': 'r1' }, annotations: { 'coxswain.dev/restartedAt': '2026-12-01T23:00:00Z' } },
        spec: { initContainers: [{ name: 'proxy', restartPolicy: 'Always' }, { name: 'migrate' }, { name: 'warm' }], containers: [{ image: 'registry.example/web:1' }] },
      } },
      status: { observedGeneration: 1, replicas: 1 },
    };
    expect(observeSlot(deployment, [byName('sidecar-pull')])).toMatchObject({ failingPods: 1, failure: 'ImagePullBackOff in sidecar proxy' });
    expect(observeSlot(deployment, [byName('init-crashing')])).toMatchObject({ failingPods: 1, failure: 'CrashLoopBackOff in init container migrate (exit code 3)' });
  });
});

describe('availableAt', () => {
  it('is when the Ready condition turned True plus minReadySeconds, and none for a pod not Ready', () => {
    const ready = PODS[0]!;
    expect(availableAt(ready, 5)).toBe(Date.parse('2026-12-01T23:30:27Z'));
    expect(availableAt(slimPod(ready), 5)).toBe(Date.parse('2026-12-01T23:30:27Z'));
    expect(availableAt(ready, 0)).toBe(-Infinity);
    expect(availableAt(PODS[1]!, 5)).toBeUndefined();
  });
});

/** An EndpointSlice as the EndpointSlice controller writes it for Service `service`. */
const slice = (name: string, service: string, endpoints: Array<[string, boolean | undefined]>): KubeObject => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
  metadata: { name, namespace: 'shop', labels: { 'kubernetes.io/service-name': service, 'app.kubernetes.io/name': 'web' }, managedFields: [{}] } as never,
  addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: endpoints.map(([ip, ready]) => ({ addresses: [ip], conditions: { ...(ready === undefined ? {} : { ready, serving: ready, terminating: false }) }, nodeName: 'kwok-node-0' })),
} as KubeObject);

describe('publishedReady', () => {
  it('counts the Ready addresses of one Service across its slices, once each; unset readiness counts as Ready', () => {
    const slices = [
      slice('web-green-a', 'web-green', [['10.244.0.1', true], ['10.244.0.2', false], ['10.244.0.3', undefined]]),
      slice('web-green-b', 'web-green', [['10.244.0.1', true], ['10.244.0.4', true]]),
      slice('web-blue-a', 'web-blue', [['10.244.0.9', true]]),
    ];
    expect(publishedReady(slices, 'web-green')).toBe(3);
    expect(publishedReady(slices, 'web-blue')).toBe(1);
    expect(publishedReady(slices, 'web')).toBe(0);
    // What the cache keeps counts the same.
    expect(publishedReady(slices.map(slimEndpointSlice), 'web-green')).toBe(3);
    expect(slimEndpointSlice(slices[0]!)).not.toHaveProperty('metadata.managedFields');
    expect(slimEndpointSlice(slices[0]!)).not.toHaveProperty('ports');
  });
});
