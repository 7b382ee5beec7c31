import { describe, expect, it } from 'vitest';
import type { Microservice, MicroserviceSpecInput } from '../api/schema.js';
import type { Plan } from '../rollout/types.js';
import { microservice, UID, planFor, renderPlan, SPEC, type TestPlan } from '../../test/support/fixtures.js';
import { ANNOTATION_APPLIED, LABEL_MANAGED_BY, LABEL_NAME, LABEL_REVISION, LABEL_SLOT } from '../api/names.js';
import { configMapNameFor, render, revisionOf } from './index.js';
import { revisionOfSpec } from './revision.js';
import { type KubeObject } from '../kube/object.js';
import { holds, upToDate } from './diff.js';
import { serverLike } from '../../test/support/server.js';

const SAMPLE: MicroserviceSpecInput = {
  image: 'registry.example/orders:1.4.2',
  replicas: 3,
  ports: [{ name: 'http', port: 8080, servicePort: 80 }],
  config: { data: { LOG_LEVEL: 'info' } },
  autoscaling: { minReplicas: 2, maxReplicas: 10, targetCPUUtilizationPercentage: 70 },
};
const BLUE_ONLY: TestPlan = { slots: { blue: { replicas: 3, revision: SPEC } } };
const MANAGED = { [LABEL_NAME]: 'orders', [LABEL_MANAGED_BY]: 'coxswain' };

function objectsOf(spec: Partial<MicroserviceSpecInput>, plan: TestPlan = BLUE_ONLY): KubeObject[] {
  return renderPlan(microservice({ ...SAMPLE, ...spec }), plan).objects;
}

function find(objects: KubeObject[], kind: string, name?: string): any {
  return objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
}

const container = (objects: KubeObject[]) => find(objects, 'Deployment').spec.template.spec.containers[0];
const policy = (spec: Partial<MicroserviceSpecInput>) => find(objectsOf(spec), 'NetworkPolicy').spec;

describe('the objects of a Microservice', () => {
  const ms = microservice(SAMPLE);
  const objects = renderPlan(ms, BLUE_ONLY).objects;
  const cmName = configMapNameFor(ms)!;

  it('are a ConfigMap, the blue Deployment, the Service, the HPA and the NetworkPolicy', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      ['ConfigMap/' + cmName, 'Deployment/orders-blue', 'HorizontalPodAutoscaler/orders', 'NetworkPolicy/orders', 'Service/orders'].sort(),
    );
  });

  it.each(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o] as const))('%s lives in the namespace, carries the labels and a controller reference', (_id, o) => {
    expect(o.metadata.namespace).toBe('shop');
    expect(o.metadata.labels).toMatchObject(MANAGED);
    expect(o.metadata.ownerReferences).toEqual([
      { apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', name: 'orders', uid: UID, controller: true, blockOwnerDeletion: true },
    ]);
  });

  it('name the ConfigMap <name>-config-<hash>, immutable, holding config.data', () => {
    expect(cmName).toMatch(/^orders-config-[0-9a-f]{10}$/);
    expect(find(objects, 'ConfigMap')).toMatchObject({ apiVersion: 'v1', immutable: true, data: { LOG_LEVEL: 'info' } });
  });

  it('give the Deployment the plan\'s replicas, a slot selector and a template labelled with slot and revision', () => {
    const dep = find(renderPlan(ms, { slots: { blue: { replicas: 7, revision: SPEC } } }).objects, 'Deployment');
    expect(dep.apiVersion).toBe('apps/v1');
    expect(dep.spec.replicas).toBe(7);
    expect(dep.spec.selector).toEqual({ matchLabels: { ...MANAGED, [LABEL_SLOT]: 'blue' } });
    expect(dep.spec.template.metadata.labels).toEqual({ ...MANAGED, [LABEL_SLOT]: 'blue', [LABEL_REVISION]: revisionOf(ms) });
    expect(dep.spec.progressDeadlineSeconds).toBe(600);
    expect(dep.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } });
  });

  it('run the image with the declared container ports', () => {
    expect(container(objects)).toMatchObject({ name: 'orders', image: 'registry.example/orders:1.4.2', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] });
  });

  it('expose the config through envFrom when there is no mountPath', () => {
    expect(container(objects).envFrom).toEqual([{ configMapRef: { name: cmName } }]);
    expect(container(objects).volumeMounts).toBeUndefined();
    expect(find(objects, 'Deployment').spec.template.spec.volumes).toBeUndefined();
  });

  it('point the HPA at the Microservice through /scale, not at a Deployment', () => {
    const hpa = find(objects, 'HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', name: 'orders' });
    expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([2, 10]);
    expect(hpa.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
  });

  it('give the Service the servicePort, targeting the named container port, over every slot', () => {
    const svc = find(objects, 'Service', 'orders');
    expect(svc.spec).toEqual({ type: 'ClusterIP', selector: MANAGED, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] });
  });
});

describe('config', () => {
  it('mounts the ConfigMap as a read-only volume at config.mountPath instead of envFrom', () => {
    const objects = objectsOf({ config: { data: { 'app.yaml': 'x: 1' }, mountPath: '/etc/orders' }, envFrom: [{ secretRef: { name: 'creds' } }] });
    const cm = find(objects, 'ConfigMap').metadata.name;
    const pod = find(objects, 'Deployment').spec.template.spec;
    expect(pod.volumes).toEqual([{ name: 'coxswain-config', configMap: { name: cm } }]);
    expect(pod.containers[0].volumeMounts).toEqual([{ name: 'coxswain-config', mountPath: '/etc/orders', readOnly: true }]);
    expect(pod.containers[0].envFrom).toEqual([{ secretRef: { name: 'creds' } }]);
  });

  it('appends the config after the user\'s own envFrom and volumes', () => {
    const objects = objectsOf({ envFrom: [{ secretRef: { name: 'creds' } }], pod: { volumes: [{ name: 'tmp', emptyDir: {} }] } });
    expect(container(objects).envFrom.map((e: object) => Object.keys(e)[0])).toEqual(['secretRef', 'configMapRef']);
    expect(find(objects, 'Deployment').spec.template.spec.volumes).toEqual([{ name: 'tmp', emptyDir: {} }]);
  });

  it('makes no ConfigMap and no reference without spec.config', () => {
    const objects = objectsOf({ config: undefined });
    expect(find(objects, 'ConfigMap')).toBeUndefined();
    expect(container(objects).envFrom).toBeUndefined();
  });

  it('names the ConfigMap by content, whatever the key order', () => {
    const a = microservice({ ...SAMPLE, config: { data: { A: '1', B: '2' } } });
    const b = microservice({ ...SAMPLE, config: { data: { B: '2', A: '1' } } });
    expect(configMapNameFor(a)).toBe(configMapNameFor(b));
    expect(revisionOf(a)).toBe(revisionOf(b));
  });
});

describe('pod template', () => {
  it('keeps the selector labels even when pod.labels tries to override them', () => {
    const labels = find(objectsOf({ pod: { labels: { [LABEL_NAME]: 'other', team: 'checkout' } } }), 'Deployment').spec.template.metadata.labels;
    expect(labels).toMatchObject({ ...MANAGED, team: 'checkout' });
  });

  it('passes the pod escape hatch, probes and resources through', () => {
    const objects = objectsOf({
      resources: { requests: { cpu: '250m' }, limits: { memory: '1Gi' } },
      probes: { readiness: { httpGet: { path: '/ready', port: 'http' } } },
      pod: { serviceAccountName: 'orders', nodeSelector: { zone: 'a' }, terminationGracePeriodSeconds: 5, imagePullSecrets: [{ name: 'reg' }], containerSecurityContext: { runAsNonRoot: true } },
    });
    const pod = find(objects, 'Deployment').spec.template.spec;
    expect(pod).toMatchObject({ serviceAccountName: 'orders', nodeSelector: { zone: 'a' }, terminationGracePeriodSeconds: 5, imagePullSecrets: [{ name: 'reg' }] });
    expect(pod.containers[0]).toMatchObject({
      resources: { requests: { cpu: '250m' }, limits: { memory: '1Gi' } },
      readinessProbe: { httpGet: { path: '/ready', port: 'http' } },
      securityContext: { runAsNonRoot: true },
    });
  });

  it('uses strategy.rollingUpdate for the Deployment when given', () => {
    expect(find(objectsOf({ strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: '10%' } } }), 'Deployment').spec.strategy.rollingUpdate)
      .toEqual({ maxSurge: 1, maxUnavailable: '10%' });
  });
});

describe('plan', () => {
  it('renders a Deployment per slot with the current template, and only resizes a kept slot', () => {
    const rendered = renderPlan(microservice(SAMPLE), { slots: { blue: { replicas: 0 }, green: { replicas: 3, revision: SPEC } } });
    expect(rendered.objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name)).toEqual(['orders-green']);
    expect(rendered.resize).toEqual([{ slot: 'blue', replicas: 0 }]);
  });

  it('stamps the plan\'s restart on the spec\'s revision, and keeps a slot\'s own stamp on another revision', () => {
    const ms = microservice(SAMPLE);
    const old = microservice({ ...SAMPLE, image: 'registry.example/orders:0.9' });
    const kept = new Map([[revisionOf(old), revisionOfSpec(old)]]);
    const plan = planFor(ms, { slots: { blue: { replicas: 3, revision: revisionOf(old), restartedAt: 'then' }, green: { replicas: 1, revision: SPEC } }, restartedAt: 'now' });
    const stamps = render(ms, plan, kept).objects.filter((o) => o.kind === 'Deployment').map((d: any) => d.spec.template.metadata.annotations?.['coxswain.dev/restartedAt']);
    expect(stamps).toEqual(['then', 'now']);
  });

  it('gives two slots on the same spec the same revision but their own slot label', () => {
    const objects = objectsOf({}, { slots: { blue: { replicas: 1, revision: SPEC }, green: { replicas: 2, revision: SPEC } } });
    const labels = objects.filter((o) => o.kind === 'Deployment').map((d: any) => d.spec.template.metadata.labels);
    expect(labels.map((l) => l[LABEL_SLOT])).toEqual(['blue', 'green']);
    expect(labels[0][LABEL_REVISION]).toBe(labels[1][LABEL_REVISION]);
  });

  it('narrows <name> to the serving slot and adds <name>-preview over the candidate', () => {
    const objects = objectsOf(
      { service: { type: 'LoadBalancer', annotations: { 'lb.example/internal': 'true' } } },
      { slots: { blue: { replicas: 3 }, green: { replicas: 3, revision: SPEC } }, serviceSlot: 'blue', previewSlot: 'green' },
    );
    const main = find(objects, 'Service', 'orders');
    const preview = find(objects, 'Service', 'orders-preview');
    expect(main.spec.selector).toEqual({ ...MANAGED, [LABEL_SLOT]: 'blue' });
    expect(main.spec.type).toBe('LoadBalancer');
    expect(main.metadata.annotations).toEqual({ 'lb.example/internal': 'true', [ANNOTATION_APPLIED]: expect.any(String) });
    expect(preview.spec.selector).toEqual({ ...MANAGED, [LABEL_SLOT]: 'green' });
    expect(preview.spec.type).toBe('ClusterIP');
    expect(preview.metadata.annotations).toEqual({ [ANNOTATION_APPLIED]: expect.any(String) });
  });
});

describe('the applied-content hash', () => {
  const plan = (pauseDeployments: boolean): TestPlan => ({ slots: { blue: { replicas: 3, revision: SPEC } }, pauseDeployments });

  it('makes a live object that still holds a field no longer rendered out of date (resume unpauses)', () => {
    const live: any = serverLike(find(objectsOf({}, plan(true)), 'Deployment', 'orders-blue'));
    expect(live.spec.paused).toBe(true);
    const resumed = find(objectsOf({}, plan(false)), 'Deployment', 'orders-blue');
    expect(resumed.spec.paused).toBeUndefined();
    // Every rendered field is still there on the live object; only the hash tells them apart.
    expect(holds(live, { ...resumed, metadata: { ...resumed.metadata, annotations: undefined } })).toBe(true);
    expect(upToDate(live, resumed)).toBe(false);
  });

  it('is the same for the same rendering, so an unchanged Microservice is up to date', () => {
    const a = objectsOf({ service: { annotations: { x: '1' } } }, plan(false));
    const b = objectsOf({ service: { annotations: { x: '1' } } }, plan(false));
    expect(b.map((o) => o.metadata.annotations?.[ANNOTATION_APPLIED])).toEqual(a.map((o) => o.metadata.annotations?.[ANNOTATION_APPLIED]));
    for (const o of b) expect(upToDate(serverLike(a.find((x) => x.kind === o.kind && x.metadata.name === o.metadata.name)!), o)).toBe(true);
  });

  it('changes when a Service annotation is removed', () => {
    const before = find(objectsOf({ service: { annotations: { x: '1' } } }, plan(false)), 'Service', 'orders');
    const after = find(objectsOf({ service: {} }, plan(false)), 'Service', 'orders');
    expect(upToDate(serverLike(before), after)).toBe(false);
  });
});

describe('Service and HPA', () => {
  it('makes no Service without ports', () => {
    expect(objectsOf({ ports: undefined }).filter((o) => o.kind === 'Service')).toEqual([]);
    expect(objectsOf({ ports: [] }, { ...BLUE_ONLY, previewSlot: 'blue' }).filter((o) => o.kind === 'Service')).toEqual([]);
  });

  it('defaults servicePort to port and targets an unnamed port by number', () => {
    expect(find(objectsOf({ ports: [{ port: 9000, protocol: 'UDP' }] }), 'Service').spec.ports).toEqual([{ port: 9000, targetPort: 9000, protocol: 'UDP' }]);
  });

  it('makes no HPA without autoscaling', () => {
    expect(find(objectsOf({ autoscaling: undefined }), 'HorizontalPodAutoscaler')).toBeUndefined();
  });

  it.each([
    ['cpu and memory targets', { targetCPUUtilizationPercentage: 60, targetMemoryUtilizationPercentage: 75 }, [['cpu', 60], ['memory', 75]]],
    ['a memory target only', { targetMemoryUtilizationPercentage: 75 }, [['memory', 75]]],
    ['no target (Kubernetes would assume 80% cpu)', {}, [['cpu', 80]]],
  ])('writes HPA metrics for %s', (_what, targets, expected) => {
    const hpa = find(objectsOf({ autoscaling: { maxReplicas: 4, ...targets } }), 'HorizontalPodAutoscaler');
    expect(hpa.spec.metrics.map((m: any) => [m.resource.name, m.resource.target.averageUtilization])).toEqual(expected);
  });
});

describe('HPA metrics of any kind', () => {
  const external = { type: 'External' as const, external: { metric: { name: 'queue_depth', selector: { matchLabels: { queue: 'orders' } } }, target: { type: 'AverageValue', averageValue: '30' } } };
  const pods = { type: 'Pods' as const, pods: { metric: { name: 'http_requests_per_second' }, target: { type: 'AverageValue', averageValue: '100' } } };
  const container = { type: 'ContainerResource' as const, containerResource: { name: 'cpu', container: 'orders', target: { type: 'Utilization', averageUtilization: 60 } } };
  const cpu70 = { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } };

  it('passes autoscaling.metrics through after the cpu and memory shorthands, in order', () => {
    const hpa = find(objectsOf({ autoscaling: { maxReplicas: 9, targetCPUUtilizationPercentage: 70, metrics: [external, pods, container] } }), 'HorizontalPodAutoscaler');
    expect(hpa.spec.metrics).toEqual([cpu70, external, pods, container]);
  });

  it('assumes no cpu target when the metrics say what to scale on', () => {
    const hpa = find(objectsOf({ autoscaling: { maxReplicas: 9, metrics: [external] } }), 'HorizontalPodAutoscaler');
    expect(hpa.spec.metrics).toEqual([external]);
  });

  it('leaves the revision alone: the HPA is no part of the pod', () => {
    expect(revisionOf(microservice({ ...SAMPLE, autoscaling: { maxReplicas: 9, metrics: [pods] } }))).toBe(revisionOf(microservice(SAMPLE)));
  });
});

describe('NetworkPolicy', () => {
  const SELF = { matchLabels: MANAGED };
  const HTTP = [{ port: 8080, protocol: 'TCP' }];

  it('by default admits pods of the same namespace on the declared ports, and leaves egress open', () => {
    expect(policy({})).toEqual({ podSelector: SELF, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }], ports: HTTP }] });
  });

  it.each([
    ['a Microservice', { microservice: 'frontend' }, { podSelector: { matchLabels: { [LABEL_NAME]: 'frontend', [LABEL_MANAGED_BY]: 'coxswain' } } }],
    ['a namespace', { namespace: 'monitoring' }, { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
    ['a Microservice in another namespace (both must hold)', { microservice: 'frontend', namespace: 'web' }, {
      podSelector: { matchLabels: { [LABEL_NAME]: 'frontend', [LABEL_MANAGED_BY]: 'coxswain' } },
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'web' } },
    }],
    ['a CIDR', { cidr: '10.0.0.0/8' }, { ipBlock: { cidr: '10.0.0.0/8' } }],
  ])('admits %s on the declared ports', (_what, peer, from) => {
    expect(policy({ networkPolicy: { allowFrom: [peer] } }).ingress).toEqual([{ from: [from], ports: HTTP }]);
  });

  it('limits a peer to its own ports when it lists them', () => {
    expect(policy({ networkPolicy: { allowFrom: [{ namespace: 'monitoring', ports: [{ port: 9090 }] }] } }).ingress[0].ports).toEqual([{ port: 9090, protocol: 'TCP' }]);
  });

  it('limits a peer with an empty port list to the declared ports, never to every port', () => {
    expect(policy({ networkPolicy: { allowFrom: [{ namespace: 'monitoring', ports: [] }] } }).ingress[0].ports).toEqual(HTTP);
  });

  it('admits nobody when allowFrom is empty', () => {
    expect(policy({ networkPolicy: { allowFrom: [] } })).toMatchObject({ policyTypes: ['Ingress'], ingress: [] });
  });

  it('denies all ingress when no port is declared, whatever allowFrom says', () => {
    for (const networkPolicy of [undefined, { allowFrom: [{ namespace: 'web' }] }]) {
      const objects = objectsOf({ ports: undefined, networkPolicy });
      expect(find(objects, 'NetworkPolicy').spec).toEqual({ podSelector: SELF, policyTypes: ['Ingress'], ingress: [] });
      expect(find(objects, 'Service')).toBeUndefined();
    }
  });

  it('with allowTo, restricts egress to DNS and the listed peers', () => {
    const spec = policy({ networkPolicy: { allowTo: [{ microservice: 'payments' }, { cidr: '192.168.0.0/16', ports: [{ port: 5432 }] }] } });
    expect(spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(spec.egress).toEqual([
      { ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] },
      { to: [{ podSelector: { matchLabels: { [LABEL_NAME]: 'payments', [LABEL_MANAGED_BY]: 'coxswain' } } }] },
      { to: [{ ipBlock: { cidr: '192.168.0.0/16' } }], ports: [{ port: 5432, protocol: 'TCP' }] },
    ]);
  });

  it('with an empty allowTo, allows DNS only', () => {
    expect(policy({ networkPolicy: { allowTo: [] } }).egress).toEqual([{ ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] }]);
  });

  it('is not made when networkPolicy.enabled is false', () => {
    expect(find(objectsOf({ networkPolicy: { enabled: false, allowFrom: [{ namespace: 'web' }] } }), 'NetworkPolicy')).toBeUndefined();
  });
});

describe('ownership', () => {
  it('refers to the uid of whichever Microservice it renders', () => {
    const other: Microservice = microservice(SAMPLE, { name: 'billing', uid: 'uid-2' });
    for (const o of renderPlan(other, BLUE_ONLY).objects) {
      expect(o.metadata.ownerReferences?.[0]).toMatchObject({ name: 'billing', uid: 'uid-2', controller: true });
      expect(o.metadata.labels?.[LABEL_NAME]).toBe('billing');
    }
  });
});
