// The PodMonitor <name> of spec.monitoring.
import { describe, expect, it } from 'vitest';
import { validateMicroservice } from '../api/validate.js';
import type { Microservice } from '../api/schema.js';
import { microservice } from '../../test/support/fixtures.js';
import { podLabelMeta, renderPodMonitor } from './monitoring.js';

const ms = (monitoring?: { port: string; path?: string; interval?: string }): Microservice =>
  microservice({ image: 'a:1', ports: [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9090 }], ...(monitoring ? { monitoring } : {}) });

describe('renderPodMonitor', () => {
  it('renders none without spec.monitoring', () => {
    expect(renderPodMonitor(ms())).toBeUndefined();
  });

  it('selects every pod of the Microservice (both slots) and keeps revision, slot and role as target labels', () => {
    const pm = renderPodMonitor(ms({ port: 'metrics', interval: '15s' }))!;
    expect(pm).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'orders', namespace: 'shop' } });
    expect(pm.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Microservice', name: 'orders', controller: true });
    expect(pm.spec).toEqual({
      selector: { matchLabels: { 'app.kubernetes.io/name': 'orders', 'app.kubernetes.io/managed-by': 'coxswain' } },
      podMetricsEndpoints: [{
        port: 'metrics', path: '/metrics', interval: '15s',
        relabelings: [
          { action: 'replace', sourceLabels: ['__meta_kubernetes_pod_label_coxswain_dev_revision'], targetLabel: 'revision' },
          { action: 'replace', sourceLabels: ['__meta_kubernetes_pod_label_coxswain_dev_slot'], targetLabel: 'slot' },
          { action: 'replace', sourceLabels: ['__meta_kubernetes_pod_label_coxswain_dev_role'], targetLabel: 'role' },
        ],
      }],
    });
  });

  it('leaves the interval to Prometheus when unset, and keeps a path as given', () => {
    const endpoint = (renderPodMonitor(ms({ port: 'http', path: '/internal/metrics' }))!.spec as { podMetricsEndpoints: Array<Record<string, unknown>> }).podMetricsEndpoints[0]!;
    expect(endpoint).toMatchObject({ port: 'http', path: '/internal/metrics' });
    expect(endpoint).not.toHaveProperty('interval');
  });

  it('names pod labels as Prometheus discovery does', () => {
    expect(podLabelMeta('app.kubernetes.io/name')).toBe('__meta_kubernetes_pod_label_app_kubernetes_io_name');
  });

  it('refuses an interval the PodMonitor CRD would refuse, naming the field', () => {
    const v = validateMicroservice({
      apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', metadata: { name: 'orders', namespace: 'shop' },
      spec: { image: 'a:1', ports: [{ name: 'metrics', port: 9090 }], monitoring: { port: 'metrics', interval: '30s1m' } },
    });
    expect(v.ok ? [] : v.problems).toEqual(['spec.monitoring.interval: must be a Prometheus duration such as 30s or 1m30s']);
  });
});
