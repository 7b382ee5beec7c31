// The whole pod through the API: init containers, native sidecars, the main container's lifecycle,
// the pod's scheduling and DNS fields, minReadySeconds and the disruption budget.
import { describe, expect, it } from 'vitest';
import { API_VERSION, KIND, type MicroserviceSpecInput } from './schema.js';
import { validateMicroservice } from './validate.js';
import { migrate, POD_CASES, proxy } from '../../test/support/pod-cases.js';

const object = (spec: unknown, name = 'orders') => ({ apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace: 'shop' }, spec });
const problemsOf = (spec: unknown, name?: string) => {
  const r = validateMicroservice(object(spec, name));
  return r.ok ? [] : r.problems;
};

describe('the pod\'s fields', () => {
  it.each(POD_CASES)('refuses %s', (_what, spec, problem) => {
    expect(problemsOf(spec)).toEqual([problem]);
  });

  it.each<[string, string]>([['initContainers', 'an init container'], ['sidecars', 'a sidecar']])('refuses %s named like the Microservice (its main container\'s name)', (list) => {
    expect(problemsOf({ image: 'a', [list]: [{ name: 'orders', image: 'b' }] })).toEqual([
      `spec.${list}: container names must be unique: an entry of ${list} is named like the Microservice, as its main container is`,
    ]);
    expect(problemsOf({ image: 'a', [list]: [{ name: 'orders', image: 'b' }] }, 'billing')).toEqual([]);
  });

  it.each<[string, unknown, string]>([
    ['an init container without an image', { image: 'a', initContainers: [{ name: 'm' }] }, 'spec.initContainers[0].image: required'],
    ['a sidecar with an uppercase name', { image: 'a', sidecars: [{ ...proxy, name: 'Proxy' }] }, 'spec.sidecars[0].name: must be a lowercase DNS label'],
    ['a sidecar that would not restart', { image: 'a', sidecars: [{ ...proxy, restartPolicy: 'Never' }] }, 'spec.sidecars[0].restartPolicy:'],
    ['an unknown imagePullPolicy', { image: 'a', imagePullPolicy: 'Sometimes' }, 'spec.imagePullPolicy:'],
    ['an unknown dnsPolicy', { image: 'a', pod: { dnsPolicy: 'Google' } }, 'spec.pod.dnsPolicy:'],
    ['an uppercase priorityClassName', { image: 'a', pod: { priorityClassName: 'High' } }, 'spec.pod.priorityClassName: must be a lowercase DNS subdomain'],
    ['a spread constraint without a topologyKey', { image: 'a', pod: { topologySpreadConstraints: [{ maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule' }] } }, 'spec.pod.topologySpreadConstraints[0].topologyKey: required'],
    ['negative minReadySeconds', { image: 'a', minReadySeconds: -1 }, 'spec.minReadySeconds:'],
    ['a budget above 100%', { image: 'a', disruption: { minAvailable: '150%' } }, 'spec.disruption.minAvailable: must be a whole number or a percentage from 0% to 100%'],
    ['a metric of no known type', { image: 'a', autoscaling: { maxReplicas: 3, metrics: [{ type: 'Custom' }] } }, 'spec.autoscaling.metrics[0].type:'],
  ])('names the field of %s', (_what, spec, prefix) => {
    const problems = problemsOf(spec);
    expect(problems.some((p) => p.startsWith(prefix)), JSON.stringify(problems)).toBe(true);
  });

  it('takes every field a production pod needs, and keeps what it passes through', () => {
    const spec: MicroserviceSpecInput = {
      image: 'registry.example/orders:1.4.2',
      lifecycle: { preStop: { sleep: { seconds: 5 } } },
      imagePullPolicy: 'IfNotPresent',
      workingDir: '/app',
      initContainers: [migrate, { name: 'warm', image: 'busybox:1.37', command: ['true'] }],
      sidecars: [{ ...proxy, restartPolicy: 'Always', startupProbe: { tcpSocket: { port: 5432 } } }],
      minReadySeconds: 10,
      disruption: { maxUnavailable: '25%' },
      autoscaling: { maxReplicas: 8, metrics: [{ type: 'External', external: { metric: { name: 'queue_depth' }, target: { type: 'AverageValue', averageValue: '30' } } }] },
      pod: {
        topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' }],
        priorityClassName: 'business-critical', dnsPolicy: 'None', dnsConfig: { nameservers: ['10.0.0.10'], options: [{ name: 'ndots', value: '2' }] },
        hostAliases: [{ ip: '10.1.2.3', hostnames: ['db.internal'] }], runtimeClassName: 'gvisor',
        shareProcessNamespace: true, enableServiceLinks: false, automountServiceAccountToken: false,
      },
    };
    const r = validateMicroservice(object(spec));
    if (!r.ok) throw new Error(r.problems.join('; '));
    const { strategy: _s, replicas: _r, paused: _p, revisionHistoryLimit: _h, ...rest } = r.value.spec;
    expect(rest).toEqual({ ...spec, autoscaling: { minReplicas: 1, ...spec.autoscaling } });
  });
});
