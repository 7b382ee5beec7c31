// The whole pod rendered: every field of spec that reaches the pod template, exactly, and each a
// part of the revision, so a change of any rolls out as an image change does.
import { describe, expect, it } from 'vitest';
import type { MicroserviceSpecInput } from '../api/schema.js';
import { LABEL_MANAGED_BY, LABEL_NAME } from '../api/names.js';
import { microservice, planFor, renderPlan, SPEC } from '../../test/support/fixtures.js';
import { migrate, proxy } from '../../test/support/pod-cases.js';
import { render, revisionOf } from './index.js';
import { revisionOfSpec } from './revision.js';

const BASE: MicroserviceSpecInput = { image: 'registry.example/orders:1.4.2', replicas: 3, ports: [{ name: 'http', port: 8080 }] };
const SELECTOR = { matchLabels: { [LABEL_NAME]: 'orders', [LABEL_MANAGED_BY]: 'coxswain' } };

const FULL: MicroserviceSpecInput = {
  ...BASE,
  lifecycle: { preStop: { exec: { command: ['/bin/sleep', '5'] } } },
  imagePullPolicy: 'Always',
  workingDir: '/app',
  initContainers: [migrate, { name: 'warm', image: 'busybox:1.37', command: ['true'] }],
  sidecars: [proxy, { name: 'logs', image: 'fluent/fluent-bit:4.0', restartPolicy: 'Always' }],
  minReadySeconds: 5,
  pod: {
    topologySpreadConstraints: [
      { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' },
      { maxSkew: 2, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { tier: 'web' } } },
    ],
    priorityClassName: 'business-critical',
    dnsPolicy: 'None',
    dnsConfig: { nameservers: ['10.0.0.10'], searches: ['shop.svc.cluster.local'], options: [{ name: 'ndots', value: '2' }] },
    hostAliases: [{ ip: '10.1.2.3', hostnames: ['db.internal'] }],
    runtimeClassName: 'gvisor',
    shareProcessNamespace: true,
    enableServiceLinks: false,
    automountServiceAccountToken: false,
  },
};

const deploymentOf = (spec: MicroserviceSpecInput, plan = { slots: { blue: { replicas: 3, revision: SPEC } } }) =>
  renderPlan(microservice(spec), plan).objects.find((o) => o.kind === 'Deployment') as any;

describe('the pod template of a production service', () => {
  const pod = deploymentOf(FULL).spec.template.spec;

  it('renders exactly what the spec says, sidecars first among the init containers, restartPolicy Always', () => {
    expect(pod).toEqual({
      initContainers: [
        { ...proxy, restartPolicy: 'Always' },
        { name: 'logs', image: 'fluent/fluent-bit:4.0', restartPolicy: 'Always' },
        migrate,
        { name: 'warm', image: 'busybox:1.37', command: ['true'] },
      ],
      containers: [{
        name: 'orders', image: 'registry.example/orders:1.4.2', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
        lifecycle: { preStop: { exec: { command: ['/bin/sleep', '5'] } } }, imagePullPolicy: 'Always', workingDir: '/app',
      }],
      topologySpreadConstraints: [
        { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: SELECTOR },
        { maxSkew: 2, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { tier: 'web' } } },
      ],
      priorityClassName: 'business-critical',
      dnsPolicy: 'None',
      dnsConfig: { nameservers: ['10.0.0.10'], searches: ['shop.svc.cluster.local'], options: [{ name: 'ndots', value: '2' }] },
      hostAliases: [{ ip: '10.1.2.3', hostnames: ['db.internal'] }],
      runtimeClassName: 'gvisor',
      shareProcessNamespace: true,
      enableServiceLinks: false,
      automountServiceAccountToken: false,
    });
  });

  it('renders none of it for a spec that says none of it', () => {
    expect(deploymentOf(BASE).spec.template.spec).toEqual({
      containers: [{ name: 'orders', image: 'registry.example/orders:1.4.2', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }],
    });
    expect(deploymentOf(BASE).spec.minReadySeconds).toBeUndefined();
  });

  it('lets a sidecar or init container mount the config\'s volume by its name', () => {
    const spec = { ...BASE, config: { data: { A: '1' }, mountPath: '/etc/orders' }, initContainers: [{ ...migrate, volumeMounts: [{ name: 'coxswain-config', mountPath: '/cfg' }] }] };
    const p = deploymentOf(spec).spec.template.spec;
    expect(p.volumes.map((v: { name: string }) => v.name)).toEqual(['coxswain-config']);
    expect(p.initContainers[0].volumeMounts).toEqual([{ name: 'coxswain-config', mountPath: '/cfg' }]);
  });
});

describe('minReadySeconds', () => {
  it('is set on both slot Deployments, the stable one rebuilt from an older revision too', () => {
    const old = microservice({ ...BASE, image: 'registry.example/orders:1.4.1' });
    const ms = microservice({ ...BASE, minReadySeconds: 7 });
    const plan = planFor(ms, { slots: { blue: { replicas: 2, revision: revisionOf(old) }, green: { replicas: 1, revision: SPEC } } });
    const deps = render(ms, plan, new Map([[revisionOf(old), revisionOfSpec(old)]])).objects.filter((o) => o.kind === 'Deployment') as any[];
    expect(deps.map((d) => [d.metadata.name, d.spec.template.spec.containers[0].image, d.spec.minReadySeconds])).toEqual([
      ['orders-blue', 'registry.example/orders:1.4.1', 7],
      ['orders-green', 'registry.example/orders:1.4.2', 7],
    ]);
  });

  it('is no part of the revision: a change reaches both slots and restarts no pod', () => {
    expect(revisionOf(microservice({ ...BASE, minReadySeconds: 30 }))).toBe(revisionOf(microservice(BASE)));
  });
});

describe('the revision', () => {
  // One change per field, each from the full spec: every one must make a new revision.
  const edits: Array<[string, (s: MicroserviceSpecInput) => MicroserviceSpecInput]> = [
    ['a sidecar image', (s) => ({ ...s, sidecars: [{ ...proxy, image: 'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.15.0' }, s.sidecars![1]!] })],
    ['a sidecar added', (s) => ({ ...s, sidecars: [...s.sidecars!, { name: 'extra', image: 'x:1' }] })],
    ['the sidecars\' order', (s) => ({ ...s, sidecars: [...s.sidecars!].reverse() })],
    ['an init container\'s command', (s) => ({ ...s, initContainers: [{ ...migrate, command: ['/bin/migrate', '--dry-run'] }, s.initContainers![1]!] })],
    ['an init container removed', (s) => ({ ...s, initContainers: [migrate] })],
    ['the preStop hook', (s) => ({ ...s, lifecycle: { preStop: { sleep: { seconds: 10 } } } })],
    ['imagePullPolicy', (s) => ({ ...s, imagePullPolicy: 'IfNotPresent' })],
    ['workingDir', (s) => ({ ...s, workingDir: '/srv' })],
    ['a spread constraint', (s) => ({ ...s, pod: { ...s.pod, topologySpreadConstraints: [s.pod!.topologySpreadConstraints![0]!] } })],
    ['priorityClassName', (s) => ({ ...s, pod: { ...s.pod, priorityClassName: 'batch' } })],
    ['dnsPolicy', (s) => ({ ...s, pod: { ...s.pod, dnsPolicy: 'ClusterFirst' } })],
    ['dnsConfig', (s) => ({ ...s, pod: { ...s.pod, dnsConfig: { nameservers: ['10.0.0.11'] } } })],
    ['hostAliases', (s) => ({ ...s, pod: { ...s.pod, hostAliases: [{ ip: '10.1.2.4', hostnames: ['db.internal'] }] } })],
    ['runtimeClassName', (s) => ({ ...s, pod: { ...s.pod, runtimeClassName: 'kata' } })],
    ['shareProcessNamespace', (s) => ({ ...s, pod: { ...s.pod, shareProcessNamespace: false } })],
    ['enableServiceLinks', (s) => ({ ...s, pod: { ...s.pod, enableServiceLinks: true } })],
    ['automountServiceAccountToken', (s) => ({ ...s, pod: { ...s.pod, automountServiceAccountToken: true } })],
  ];

  it.each(edits)('changes with %s', (_what, edit) => {
    expect(revisionOf(microservice(edit(FULL)))).not.toBe(revisionOf(microservice(FULL)));
  });

  it.each(['lifecycle', 'imagePullPolicy', 'workingDir', 'initContainers', 'sidecars'] as const)('changes when %s is set at all', (field) => {
    expect(revisionOf(microservice({ ...BASE, [field]: FULL[field] }))).not.toBe(revisionOf(microservice(BASE)));
  });

  it.each(Object.keys(FULL.pod!))('changes when pod.%s is set at all', (field) => {
    const pod = { [field]: (FULL.pod as Record<string, unknown>)[field], ...(field === 'dnsPolicy' ? { dnsConfig: FULL.pod!.dnsConfig } : {}) };
    expect(revisionOf(microservice({ ...BASE, pod }))).not.toBe(revisionOf(microservice({ ...BASE, pod: field === 'dnsPolicy' ? { dnsConfig: FULL.pod!.dnsConfig } : {} })));
  });
});

describe('drainSeconds', () => {
  const podOf = (spec: MicroserviceSpecInput) => deploymentOf(spec).spec.template.spec;

  it('renders a preStop sleep that long and a grace period 30 s above it, keeping a postStart hook', () => {
    const pod = podOf({ ...BASE, drainSeconds: 10, lifecycle: { postStart: { exec: { command: ['warm'] } } } });
    expect(pod.containers[0].lifecycle).toEqual({ postStart: { exec: { command: ['warm'] } }, preStop: { sleep: { seconds: 10 } } });
    expect(pod.terminationGracePeriodSeconds).toBe(40);
  });

  it('keeps a grace period set in spec.pod, and renders neither without drainSeconds', () => {
    expect(podOf({ ...BASE, drainSeconds: 10, pod: { terminationGracePeriodSeconds: 90 } }).terminationGracePeriodSeconds).toBe(90);
    const plain = podOf(BASE);
    expect(plain.containers[0].lifecycle).toBeUndefined();
    expect(plain.terminationGracePeriodSeconds).toBeUndefined();
  });

  it('is part of the revision', () => {
    expect(revisionOf(microservice({ ...BASE, drainSeconds: 5 }))).not.toBe(revisionOf(microservice(BASE)));
  });
});
