// `kubectl coxswain adopt` against twenty Deployments shaped like popular charts' output: the printed
// Microservice renders a pod template equal to the chart's apart from Coxswain's labels, compared
// here field by field with toEqual, independently of the command's own comparison; or the command
// names what it cannot express, or refuses.
import { describe, expect, it } from 'vitest';
import * as yaml from 'js-yaml';
import { validateMicroservice } from '../api/validate.js';
import type { Microservice, MicroserviceObject } from '../api/schema.js';
import { renderDeployment } from '../render/workload.js';
import { renderHPA, renderService } from '../render/network.js';
import type { KubeObject } from '../kube/object.js';
import { CHART_CASES, deployment, service } from '../../test/support/adopt-charts.js';
import { adopt } from './convert.js';
import { withoutDefaults } from './defaults.js';
import { differences } from './compare.js';

type Json = Record<string, any>;

const isCoxswainLabel = (k: string) => k === 'app.kubernetes.io/name' || k === 'app.kubernetes.io/managed-by' || k.startsWith('coxswain.dev/');
const withoutCoxswainLabels = (t: Json) => ({
  ...t, metadata: { ...t.metadata, labels: Object.fromEntries(Object.entries(t.metadata.labels ?? {}).filter(([k]) => !isCoxswainLabel(k))) },
});

/** The printed YAML read back, as `kubectl apply` would send it, and validated by the CRD's schema. */
function printed(ms: MicroserviceObject): Microservice {
  const back = yaml.load(yaml.dump(ms)) as MicroserviceObject;
  const valid = validateMicroservice({ ...back, metadata: { ...back.metadata, uid: 'u' } });
  if (!valid.ok) throw new Error(valid.problems.join('\n'));
  return valid.value;
}

/** The container port number a Service port reaches, from the pod's container ports. */
function reached(ports: Json[], containerPorts: Json[]): string[] {
  return ports.map((p) => {
    const target = p.targetPort ?? p.port;
    const cp = containerPorts.find((c) => (typeof target === 'string' ? c.name === target : c.containerPort === target));
    return `${p.port}->${cp?.containerPort}/${p.protocol ?? 'TCP'}`;
  }).sort();
}

describe('kubectl coxswain adopt: twenty charts', () => {
  it('has twenty cases', () => expect(CHART_CASES).toHaveLength(20));

  for (const c of CHART_CASES) {
    it(c.chart, () => {
      const result = adopt(c);
      if (c.refusals) {
        expect(result.ok).toBe(false);
        if (result.ok) return;
        expect(result.refusals).toHaveLength(c.refusals.length);
        c.refusals.forEach((re, i) => expect(result.refusals[i]).toMatch(re));
        return;
      }
      if (!result.ok) throw new Error(result.refusals.join('\n'));
      // Each line named once, by exactly one of the expected patterns.
      expect(result.lost.map((line) => (c.lost ?? []).filter((re) => re.test(line)).length)).toEqual(result.lost.map(() => 1));
      expect(result.lost).toHaveLength((c.lost ?? []).length);
      const ms = printed(result.microservice);
      expect(ms.spec.adopt).toEqual({ deployment: c.deployment.metadata.name, ...(c.service ? { service: c.service.metadata.name } : {}),
        ...(c.hpa ? { hpa: c.hpa.metadata.name } : {}) });
      if (c.lost) return;

      // Nothing lost: the rendered pod template is the chart's, field by field, apart from Coxswain's labels.
      const rendered = renderDeployment(ms, 'blue', 1).spec as Json;
      const original = withoutDefaults((c.deployment.spec as Json).template);
      // Both as the API server stores them (it defaults a port's protocol to TCP, and so on).
      expect(withoutCoxswainLabels(withoutDefaults(rendered.template))).toEqual(withoutCoxswainLabels(original));
      expect(rendered.minReadySeconds).toEqual((c.deployment.spec as Json).minReadySeconds);
      expect(ms.spec.replicas).toBe((c.deployment.spec as Json).replicas);
      // The Service reaches the same container ports on the same Service ports.
      if (c.service) {
        const ports = (renderService(ms, ms.metadata.name, ms.spec.ports ?? []) as KubeObject).spec as Json;
        const containerPorts = original.spec.containers[0].ports ?? [];
        expect(reached(ports.ports, containerPorts)).toEqual(reached((c.service.spec as Json).ports, containerPorts));
        expect(ports.type).toBe((c.service.spec as Json).type);
      }
      if (c.hpa) {
        const h = (renderHPA(ms) as KubeObject).spec as Json;
        const want = c.hpa.spec as Json;
        expect({ min: h.minReplicas, max: h.maxReplicas, behavior: h.behavior, metrics: h.metrics })
          .toEqual({ min: want.minReplicas, max: want.maxReplicas, behavior: want.behavior, metrics: want.metrics });
      }
    });
  }
});

describe('what adopt prints', () => {
  const defaulted = CHART_CASES.find((c) => c.chart.startsWith('the same worker read back'))!;

  it('says none of the API server\'s defaults', () => {
    const result = adopt(defaulted);
    if (!result.ok) throw new Error(result.refusals.join('\n'));
    const text = JSON.stringify(result.microservice);
    for (const field of ['terminationMessagePath', 'terminationMessagePolicy', 'schedulerName', 'restartPolicy', 'defaultMode', 'timeoutSeconds', '"serviceAccount"', 'dnsPolicy', 'scheme', 'apiVersion":"v1"'])
      expect(text).not.toContain(field);
    expect(result.microservice.spec).toMatchObject({
      image: 'ghcr.io/stefanprodan/podinfo:6.7.1', replicas: 2, ports: [{ name: 'http', port: 9898 }],
      strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } }, networkPolicy: { enabled: false },
    });
  });

  it('keeps a value the chart set that only looks like a default elsewhere', () => {
    const d = deployment('web', { containers: [{ name: 'web', image: 'registry.example/web:latest', imagePullPolicy: 'IfNotPresent',
      readinessProbe: { httpGet: { path: '/', port: 80 }, timeoutSeconds: 2 } }] });
    const result = adopt({ deployment: d });
    if (!result.ok) throw new Error(result.refusals.join('\n'));
    expect(result.microservice.spec).toMatchObject({ imagePullPolicy: 'IfNotPresent', probes: { readiness: { timeoutSeconds: 2 } } });
    expect(result.lost).toEqual([]);
  });

  it('refuses a headless Service, an ExternalName Service and one that does not select the pods', () => {
    const d = deployment('db', { containers: [{ name: 'db', image: 'postgres:17', ports: [{ name: 'pg', containerPort: 5432 }] }] });
    const refusals = (svc: KubeObject) => { const r = adopt({ deployment: d, service: svc }); return r.ok ? [] : r.refusals; };
    expect(refusals(service('db', [{ name: 'pg', port: 5432 }], { spec: { clusterIP: 'None' } }))[0]).toMatch(/^service\/db is headless/);
    expect(refusals(service('db', [], { spec: { type: 'ExternalName', externalName: 'db.example' } }))[0]).toMatch(/^service\/db is an ExternalName Service/);
    expect(refusals(service('db', [{ name: 'pg', port: 5432 }], { selector: { app: 'other' } }))[0]).toMatch(/^service\/db does not select the Deployment's pods/);
  });

  it('refuses a name that cannot be a Microservice\'s', () => {
    const long = 'a'.repeat(56);
    const r = adopt({ deployment: deployment(long, { containers: [{ name: 'a', image: 'x:1' }] }) });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.refusals[0]).toMatch(/at most 55 characters/);
  });

  it('refuses while an HPA scales the Deployment that --hpa does not name', () => {
    const d = deployment('one', { containers: [{ name: 'one', image: 'x:1' }] });
    expect(adopt({ deployment: d, scalers: ['one-hpa'] })).toEqual({ ok: false, refusals: [
      'horizontalpodautoscaler/one-hpa scales deployment/one: name it with --hpa, or it would scale the old Deployment back up during the takeover',
    ] });
    expect(adopt({ deployment: d, scalers: ['one'], hpa: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'one' },
      spec: { scaleTargetRef: { kind: 'Deployment', name: 'one' }, maxReplicas: 3 } } }).ok).toBe(true);
  });

  it('refuses a --container the pod does not have', () => {
    const r = adopt({ deployment: deployment('one', { containers: [{ name: 'one', image: 'x:1' }] }), container: 'two' });
    expect(r.ok ? [] : r.refusals).toEqual(['deployment/one has no container two (it has one)']);
  });
});

describe('differences', () => {
  it('names each field, lists by name, and an order change', () => {
    expect(differences({ a: 1, b: [{ name: 'x', v: 1 }] }, { a: 2, b: [{ name: 'x', v: 1 }], c: true }, 'root')).toEqual([
      'root.a: 1 would become 2', 'root.c: would be added as true',
    ]);
    expect(differences([{ name: 'x' }, { name: 'y' }], [{ name: 'y' }, { name: 'x' }], 'l')).toEqual(['l: the order x, y becomes y, x']);
    expect(differences({ s: { stdin: true } }, { s: {} }, 'p')).toEqual(['p.s.stdin: true cannot be said in a Microservice']);
  });
});
