import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openAPISchema } from './crd.js';
import { API_VERSION, KIND, MicroserviceSpec, type MicroserviceSpecInput } from './schema.js';
import { fieldPath, validateMicroservice } from './validate.js';
import { arbName, arbSpecInput } from '../../test/support/arbitraries.js';
import { ANALYSIS_CASES } from '../analysis/api.test.js';
import { POD_CASES } from '../../test/support/pod-cases.js';

const object = (spec: unknown, name = 'orders') => ({ apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace: 'shop' }, spec });

function problemsOf(spec: unknown, name?: string): string[] {
  const result = validateMicroservice(object(spec, name));
  if (result.ok) throw new Error(`expected problems, got a valid Microservice: ${JSON.stringify(result.value.spec)}`);
  return result.problems;
}

function specOf(spec: MicroserviceSpecInput) {
  const result = validateMicroservice(object(spec));
  if (!result.ok) throw new Error(`expected a valid spec, got ${result.problems.join('; ')}`);
  return result.value.spec;
}

describe('defaults', () => {
  it('fills in replicas, strategy and paused for a spec that gives only the image', () => {
    const spec = specOf({ image: 'registry.example/orders:1.4.2' });
    expect(spec.replicas).toBe(1);
    expect(spec.strategy).toEqual({ type: 'RollingUpdate', progressDeadlineSeconds: 600, abortOnFailure: true });
    expect(spec.paused).toBe(false);
  });

  it.each([
    ['a port protocol', { ports: [{ port: 8080 }] }, (s: any) => s.ports[0].protocol, 'TCP'],
    ['the service type', { service: {} }, (s: any) => s.service.type, 'ClusterIP'],
    ['networkPolicy.enabled', { networkPolicy: {} }, (s: any) => s.networkPolicy.enabled, true],
    ['a peer port protocol', { networkPolicy: { allowFrom: [{ namespace: 'web', ports: [{ port: 80 }] }] } }, (s: any) => s.networkPolicy.allowFrom[0].ports[0].protocol, 'TCP'],
    ['autoscaling.minReplicas', { autoscaling: { maxReplicas: 5 } }, (s: any) => s.autoscaling.minReplicas, 1],
    ['canary maxSurge', { strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }] } } }, (s: any) => s.strategy.canary.maxSurge, '25%'],
    ['canary maxUnavailable', { strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }] } } }, (s: any) => s.strategy.canary.maxUnavailable, 0],
    ['blueGreen scaleDownDelaySeconds', { strategy: { type: 'BlueGreen', blueGreen: {} } }, (s: any) => s.strategy.blueGreen.scaleDownDelaySeconds, 30],
    ['rollingUpdate maxSurge', { strategy: { rollingUpdate: {} } }, (s: any) => s.strategy.rollingUpdate.maxSurge, '25%'],
    ['strategy.type when only the deadline is set', { strategy: { progressDeadlineSeconds: 60 } }, (s: any) => s.strategy.type, 'RollingUpdate'],
  ])('defaults %s', (_what, partial, read, expected) => {
    expect(read(specOf({ image: 'app:1', ...partial } as MicroserviceSpecInput))).toEqual(expected);
  });

  it('fills in a route\'s path, its parents\' group and kind, and a header match\'s type', () => {
    const spec = specOf({
      image: 'app:1', ports: [{ port: 8080 }],
      traffic: { gateway: { parentRefs: [{ name: 'public' }] } },
      strategy: { type: 'Canary', canary: { steps: [{ setHeaderRoute: { name: 'beta', match: [{ header: 'X-Beta', value: '1' }] } }, { setCanaryScale: { weight: 25 } }, { setWeight: 5 }] } },
    });
    expect(spec.traffic?.gateway).toEqual({ parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public' }], path: '/' });
    expect(spec.strategy.canary?.steps[0]?.setHeaderRoute?.match).toEqual([{ header: 'X-Beta', value: '1', type: 'Exact' }]);
  });

  it('keeps what the user gave instead of the default', () => {
    const spec = specOf({ image: 'app:1', replicas: 5, ports: [{ port: 53, protocol: 'UDP' }], strategy: { progressDeadlineSeconds: 60 } });
    expect([spec.replicas, spec.ports?.[0]?.protocol, spec.strategy.progressDeadlineSeconds]).toEqual([5, 'UDP', 60]);
  });

  it('carries metadata and status through unchanged', () => {
    const result = validateMicroservice({ ...object({ image: 'app:1' }), status: { phase: 'Healthy' } });
    expect(result.ok && result.value.metadata).toEqual({ name: 'orders', namespace: 'shop' });
    expect(result.ok && result.value.status).toEqual({ phase: 'Healthy' });
  });
});

describe('problems name the field', () => {
  it.each<[string, unknown, string]>([
    ['a missing spec', undefined, 'spec:'],
    ['a missing image', {}, 'spec.image:'],
    ['an empty image', { image: '' }, 'spec.image:'],
    ['a fractional replica count', { image: 'a', replicas: 1.5 }, 'spec.replicas:'],
    ['negative replicas', { image: 'a', replicas: -1 }, 'spec.replicas:'],
    ['port 0', { image: 'a', ports: [{ port: 0 }] }, 'spec.ports[0].port:'],
    ['a port above 65535 in the second entry', { image: 'a', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 70000 }] }, 'spec.ports[1].port:'],
    ['an unknown protocol', { image: 'a', ports: [{ port: 80, protocol: 'HTTP' }] }, 'spec.ports[0].protocol:'],
    ['an uppercase port name', { image: 'a', ports: [{ name: 'HTTP', port: 80 }] }, 'spec.ports[0].name:'],
    ['a bad cpu quantity', { image: 'a', resources: { requests: { cpu: 'lots' } } }, 'spec.resources.requests.cpu:'],
    ['a negative memory limit', { image: 'a', resources: { limits: { memory: -1 } } }, 'spec.resources.limits.memory:'],
    ['a maxSurge that is neither a count nor a percentage', { image: 'a', strategy: { type: 'Canary', canary: { steps: [{ setWeight: 10 }], maxSurge: '25' } } }, 'spec.strategy.canary.maxSurge:'],
    ['a rollingUpdate maxUnavailable percentage with a fraction', { image: 'a', strategy: { rollingUpdate: { maxUnavailable: '2.5%' } } }, 'spec.strategy.rollingUpdate.maxUnavailable:'],
    ['an unknown strategy', { image: 'a', strategy: { type: 'Recreate' } }, 'spec.strategy.type:'],
    ['a progress deadline below 10s', { image: 'a', strategy: { progressDeadlineSeconds: 5 } }, 'spec.strategy.progressDeadlineSeconds:'],
    ['a setWeight above 100', { image: 'a', strategy: { type: 'Canary', canary: { steps: [{ setWeight: 101 }] } } }, 'spec.strategy.canary.steps[0].setWeight:'],
    ['a route path that is not absolute', { image: 'a', ports: [{ port: 80 }], traffic: { gateway: { parentRefs: [{ name: 'g' }], path: 'api' } } }, 'spec.traffic.gateway.path:'],
    ['a route without parents', { image: 'a', ports: [{ port: 80 }], traffic: { gateway: { parentRefs: [] } } }, 'spec.traffic.gateway.parentRefs:'],
    ['an uppercase hostname', { image: 'a', ports: [{ port: 80 }], traffic: { gateway: { parentRefs: [{ name: 'g' }], hostnames: ['Orders.example.com'] } } }, 'spec.traffic.gateway.hostnames[0]:'],
    ['a header name with a space', { image: 'a', strategy: { type: 'Canary', canary: { steps: [{ setHeaderRoute: { name: 'b', match: [{ header: 'X Beta', value: '1' }] } }] } } }, 'spec.strategy.canary.steps[0].setHeaderRoute.match[0].header:'],
    ['matchTrafficWeight false', { image: 'a', strategy: { type: 'Canary', canary: { steps: [{ setCanaryScale: { matchTrafficWeight: false } }] } } }, 'spec.strategy.canary.steps[0].setCanaryScale.matchTrafficWeight:'],
    ['a pause duration without a unit', { image: 'a', strategy: { type: 'Canary', canary: { steps: [{ pause: { duration: '5' } }] } } }, 'spec.strategy.canary.steps[0].pause.duration:'],
    ['a relative config mountPath', { image: 'a', config: { data: {}, mountPath: 'etc/app' } }, 'spec.config.mountPath:'],
    ['a config value that is not a string', { image: 'a', config: { data: { PORT: 8080 } } }, 'spec.config.data.PORT:'],
    ['a peer with a malformed cidr', { image: 'a', networkPolicy: { allowFrom: [{ cidr: '10.0.0.0' }] } }, 'spec.networkPolicy.allowFrom[0].cidr:'],
    ['an uppercase serviceAccountName', { image: 'a', pod: { serviceAccountName: 'Builder' } }, 'spec.pod.serviceAccountName:'],
    ['an env entry that is not an object', { image: 'a', env: ['FOO=bar'] }, 'spec.env[0]:'],
    ['maxReplicas 0', { image: 'a', autoscaling: { maxReplicas: 0 } }, 'spec.autoscaling.maxReplicas:'],
  ])('%s', (_what, spec, prefix) => {
    const problems = problemsOf(spec);
    expect(problems.some((p) => p.startsWith(prefix)), `a problem starting with "${prefix}" in ${JSON.stringify(problems)}`).toBe(true);
  });

  it.each<[string, unknown, string]>([
    ['spec', undefined, 'spec: required'],
    ['the image', {}, 'spec.image: required'],
    ['a port number', { image: 'a', ports: [{ name: 'http' }] }, 'spec.ports[0].port: required'],
    ['autoscaling.maxReplicas', { image: 'a', autoscaling: {} }, 'spec.autoscaling.maxReplicas: required'],
  ])('says plainly that %s is required when it is missing', (_what, spec, problem) => {
    expect(problemsOf(spec)).toEqual([problem]);
  });

  it.each<[string, unknown, string]>([
    ['a null quantity', { image: 'a', resources: { requests: { cpu: null } } }, 'spec.resources.requests.cpu: must be a quantity such as 500m, 1Gi or 2'],
    ['a fractional number as a quantity', { image: 'a', resources: { limits: { cpu: 1.5 } } }, 'spec.resources.limits.cpu: must be a quantity such as 500m, 1Gi or 2'],
    ['a boolean maxSurge', { image: 'a', strategy: { rollingUpdate: { maxSurge: true } } }, 'spec.strategy.rollingUpdate.maxSurge: must be a whole number or a percentage such as 25%'],
  ])('says what an int-or-string takes, not "Invalid input", for %s', (_what, spec, problem) => {
    expect(problemsOf(spec)).toEqual([problem]);
  });

  it('still says what was wrong when a field is present with the wrong type', () => {
    expect(problemsOf({ image: 42 })).toEqual([expect.stringMatching(/^spec\.image: (?!required).*string/)]);
  });

  it('reports every bad field, not just the first', () => {
    const problems = problemsOf({ replicas: -1, ports: [{ port: 0 }] });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['spec.image', 'spec.ports[0].port', 'spec.replicas']);
  });

  it.each<[string, string, string]>([
    ['56 characters (the -preview Service would exceed 63)', 'a'.repeat(56), 'at most 55'],
    ['a leading digit', '1orders', 'start with a letter'],
    ['uppercase', 'Orders', 'lowercase'],
    ['a trailing dash', 'orders-', 'lowercase'],
    ['a dot', 'orders.v2', 'lowercase'],
    ['nothing', '', 'required'],
  ])('rejects metadata.name with %s', (_what, name, words) => {
    const problems = problemsOf({ image: 'a' }, name);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^metadata\.name: /);
    expect(problems[0]).toContain(words);
  });

  it('accepts metadata.name of exactly 55 characters', () => {
    expect(validateMicroservice(object({ image: 'a' }, `o${'a'.repeat(54)}`)).ok).toBe(true);
  });

  it('reports a bad name and a bad spec together', () => {
    expect(problemsOf({}, 'Bad').map((p) => p.split(':')[0])).toEqual(['metadata.name', 'spec.image']);
  });
});

describe('the CRD\'s CEL rules, checked again by the operator', () => {
  const canary = (c: Record<string, unknown>) => ({ image: 'a', strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }], ...c } } });
  const gateway = { parentRefs: [{ name: 'public', namespace: 'gateways' }], hostnames: ['orders.example.com'] };
  const routed = { image: 'a', ports: [{ port: 8080, servicePort: 80 }], traffic: { gateway } };
  // Each case breaks one rule; the operator must say what the API server would have said, on the same field.
  const cases: Array<[string, unknown, string]> = [
    ['a monitoring port not in spec.ports', { image: 'a', ports: [{ name: 'http', port: 8080 }], monitoring: { port: 'metrics' } },
      'spec.monitoring.port: monitoring.port must be the name of a port in spec.ports (give the port a name)'],
    ['a monitoring port that is unnamed', { image: 'a', ports: [{ port: 8080 }], monitoring: { port: 'http' } },
      'spec.monitoring.port: monitoring.port must be the name of a port in spec.ports (give the port a name)'],
    ['two unnamed ports', { image: 'a', ports: [{ port: 1 }, { port: 2 }] }, 'spec.ports: every port needs a name when there are several'],
    ['a container port twice', { image: 'a', ports: [{ name: 'a', port: 1, servicePort: 80 }, { name: 'b', port: 1, servicePort: 81 }] }, 'spec.ports: container ports must be unique'],
    ['two ports on one servicePort', { image: 'a', ports: [{ name: 'a', port: 8080, servicePort: 80 }, { name: 'b', port: 8081, servicePort: 80 }] },
      'spec.ports: service ports must be unique: two ports have the same servicePort (port when unset) and protocol'],
    ['a servicePort that is another port\'s default', { image: 'a', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 8081, servicePort: 80 }] },
      'spec.ports: service ports must be unique: two ports have the same servicePort (port when unset) and protocol'],
    ['an env name twice', { image: 'a', env: [{ name: 'A', value: '1' }, { name: 'B' }, { name: 'A', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] },
      'spec.env: env names must be unique'],
    ['a volume name twice', { image: 'a', pod: { volumes: [{ name: 'tmp', emptyDir: {} }, { name: 'tmp', configMap: { name: 'x' } }] } }, 'spec.pod.volumes: volume names must be unique'],
    ['a mountPath twice', { image: 'a', pod: { volumeMounts: [{ name: 'a', mountPath: '/data' }, { name: 'b', mountPath: '/data' }] } },
      'spec.pod.volumeMounts: volumeMount mountPaths must be unique'],
    ['an imagePullSecret twice', { image: 'a', pod: { imagePullSecrets: [{ name: 'reg' }, { name: 'reg' }] } }, 'spec.pod.imagePullSecrets: imagePullSecrets names must be unique'],
    ['a volumeMount on the config\'s mountPath', { image: 'a', config: { data: {}, mountPath: '/etc/app' }, pod: { volumeMounts: [{ name: 'v', mountPath: '/etc/app' }] } },
      'spec.config.mountPath: config.mountPath is also the mountPath of an entry in pod.volumeMounts'],
    ['a volume named as the config\'s', { image: 'a', config: { data: {}, mountPath: '/etc/app' }, pod: { volumes: [{ name: 'coxswain-config', emptyDir: {} }] } },
      'spec.pod.volumes: the volume name coxswain-config is taken by config.mountPath'],
    ['a port name twice', { image: 'a', ports: [{ name: 'a', port: 1 }, { name: 'a', port: 2 }] }, 'spec.ports: port names must be unique'],
    ['a config key with a space', { image: 'a', config: { data: { 'a b': '1' } } }, 'spec.config.data: keys may hold only letters, digits, -, _ and .'],
    ['a config more than a ConfigMap holds', { image: 'a', config: { data: { A: 'x'.repeat(600_000), B: 'y'.repeat(600_000) } } },
      'spec.config.data: keys and values may hold at most 1048576 characters in all: a ConfigMap holds at most 1 MiB'],
    ['a config one character more than a ConfigMap holds, the keys counted', { image: 'a', config: { data: { AB: 'x'.repeat(1024 * 1024 - 1) } } },
      'spec.config.data: keys and values may hold at most 1048576 characters in all: a ConfigMap holds at most 1 MiB'],
    ['maxReplicas below minReplicas', { image: 'a', autoscaling: { minReplicas: 5, maxReplicas: 2 } }, 'spec.autoscaling.maxReplicas: maxReplicas must be at least minReplicas'],
    ['a peer with a cidr and a namespace', { image: 'a', networkPolicy: { allowFrom: [{ cidr: '10.0.0.0/8', namespace: 'web' }] } }, 'spec.networkPolicy.allowFrom[0]: set cidr, or microservice and/or namespace'],
    ['an egress peer with nothing', { image: 'a', networkPolicy: { allowTo: [{}] } }, 'spec.networkPolicy.allowTo[0]: set cidr, or microservice and/or namespace'],
    ['a step with two actions', canary({ steps: [{ setWeight: 50, pause: {} }] }), 'spec.strategy.canary.steps[0]: each step sets exactly one of setWeight, pause, analysis, setCanaryScale or setHeaderRoute'],
    ['a step with no action', canary({ steps: [{}] }), 'spec.strategy.canary.steps[0]: each step sets exactly one of setWeight, pause, analysis, setCanaryScale or setHeaderRoute'],
    ['a header route without a route', canary({ steps: [{ setHeaderRoute: { name: 'beta', match: [{ header: 'X-Beta', value: '1' }] } }] }),
      'spec.strategy.canary.steps: setHeaderRoute steps need spec.traffic.gateway: without a route, traffic follows the replicas'],
    ['a canary scale without a route', canary({ steps: [{ setCanaryScale: { replicas: 1 } }, { setWeight: 10 }] }),
      'spec.strategy.canary.steps: setCanaryScale steps need spec.traffic.gateway: without a route, traffic follows the replicas'],
    ['a canary scale with replicas and weight', { ...routed, strategy: { type: 'Canary', canary: { steps: [{ setCanaryScale: { replicas: 1, weight: 5 } }] } } },
      'spec.strategy.canary.steps[0].setCanaryScale: setCanaryScale sets exactly one of replicas, weight or matchTrafficWeight'],
    ['a route without ports', { image: 'a', traffic: routed.traffic }, 'spec.traffic.gateway: spec.traffic.gateway needs spec.ports: the route sends traffic to a Service port'],
    ['a route to a port the Service lacks', { ...routed, traffic: { gateway: { ...gateway, port: 8080 } } },
      'spec.traffic.gateway.port: traffic.gateway.port must be one of the Service ports in spec.ports'],
    ['a preview hostname that is also a hostname', { ...routed, traffic: { gateway: { ...gateway, previewHostnames: ['orders.example.com'] } } },
      'spec.traffic.gateway.previewHostnames: previewHostnames must differ from hostnames: the preview route would take their traffic'],
    ['a backend timeout above the request timeout', { ...routed, traffic: { gateway: { ...gateway, timeouts: { request: '1s', backendRequest: '1500ms' } } } },
      'spec.traffic.gateway.timeouts.backendRequest: backendRequest may not be longer than request'],
    ['decreasing weights', canary({ steps: [{ setWeight: 50 }, { pause: {} }, { setWeight: 20 }] }), 'spec.strategy.canary.steps: setWeight values must not decrease from one step to the next'],
    ['a canary that could not move', canary({ maxSurge: '0%', maxUnavailable: 0 }), 'spec.strategy.canary: maxSurge and maxUnavailable may not both be 0: the rollout could not move'],
    ['a rolling update that could not move', { image: 'a', strategy: { rollingUpdate: { maxSurge: 0 } } }, 'spec.strategy.rollingUpdate: maxSurge and maxUnavailable may not both be 0: the rollout could not move'],
    ['Canary without steps', { image: 'a', strategy: { type: 'Canary' } }, 'spec.strategy.canary: strategy.canary is required when type is Canary'],
    ['canary steps on a blue-green', { image: 'a', strategy: { type: 'BlueGreen', canary: { steps: [{ setWeight: 5 }] } } }, 'spec.strategy.canary: strategy.canary is set but type is not Canary'],
    ['blueGreen on a rolling update', { image: 'a', strategy: { blueGreen: {} } }, 'spec.strategy.blueGreen: strategy.blueGreen is set but type is not BlueGreen'],
    ['drainSeconds with a preStop hook of its own', { image: 'a', drainSeconds: 5, lifecycle: { preStop: { exec: { command: ['stop'] } } } },
      'spec.drainSeconds: drainSeconds renders a preStop sleep: set drainSeconds or lifecycle.preStop, not both'],
    ['drainSeconds as long as the grace period', { image: 'a', drainSeconds: 30, pod: { terminationGracePeriodSeconds: 30 } },
      'spec.drainSeconds: pod.terminationGracePeriodSeconds must be above drainSeconds, or the pod is killed while it drains'],
    ...ANALYSIS_CASES,
    ...POD_CASES,
  ];
  it.each(cases)('%s', (_what, spec, problem) => {
    expect(problemsOf(spec)).toEqual([problem]);
  });

  it.each<[string, MicroserviceSpecInput]>([
    ['env names that differ only in case', { image: 'a', env: [{ name: 'A', value: '1' }, { name: 'a', value: '2' }] }],
    ['one volume mounted twice, at two paths', { image: 'a', pod: { volumes: [{ name: 'v', emptyDir: {} }], volumeMounts: [{ name: 'v', mountPath: '/a' }, { name: 'v', mountPath: '/b' }] } }],
    ['a volume named coxswain-config when the config is not mounted', { image: 'a', config: { data: {} }, pod: { volumes: [{ name: 'coxswain-config', emptyDir: {} }] } }],
    ['a mount under the config\'s mountPath', { image: 'a', config: { data: {}, mountPath: '/etc/app' }, pod: { volumeMounts: [{ name: 'v', mountPath: '/etc/app/extra' }] } }],
    ['a config of exactly 1 MiB of characters, keys included, as CEL counts them', { image: 'a', config: { data: { A: 'é'.repeat(1024 * 1024 - 1) } } }],
    ['one servicePort for TCP and for UDP', { image: 'a', ports: [{ name: 'dns', port: 5353, servicePort: 53 }, { name: 'dns-udp', port: 5353, servicePort: 53, protocol: 'UDP' }] }],
  ])('still accepts %s', (_what, spec) => {
    expect(specOf(spec)).toBeDefined();
  });

  it('keeps every field of a passed-through entry, not only the key it declares for CEL', () => {
    const env = [{ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }];
    const volumes = [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }];
    const volumeMounts = [{ name: 'data', mountPath: '/data', readOnly: true }];
    const spec = specOf({ image: 'a', env, pod: { volumes, volumeMounts } });
    expect([spec.env, spec.pod?.volumes, spec.pod?.volumeMounts]).toEqual([env, volumes, volumeMounts]);
  });

  it.each<[string, unknown, string]>([
    ['an env entry', { image: 'a', env: [{ value: '1' }] }, 'spec.env[0].name: required'],
    ['a volume', { image: 'a', pod: { volumes: [{ emptyDir: {} }] } }, 'spec.pod.volumes[0].name: required'],
    ['a volumeMount', { image: 'a', pod: { volumeMounts: [{ name: 'v' }] } }, 'spec.pod.volumeMounts[0].mountPath: required'],
  ])('says which key %s lacks', (_what, spec, problem) => {
    expect(problemsOf(spec)).toEqual([problem]);
  });

  it.each<[string, unknown, string]>([
    ['a number', { image: 'a', env: [{ name: 'PORT', value: 8080 }] }, 'spec.env[0].value: Invalid input: expected string, received number'],
    ['a boolean', { image: 'a', env: [{ name: 'A', value: '1' }, { name: 'DEBUG', value: true }] }, 'spec.env[1].value: Invalid input: expected string, received boolean'],
  ])('refuses an env value that is %s (server-side apply could not build the patch)', (_what, spec, problem) => {
    expect(problemsOf(spec)).toEqual([problem]);
  });

  it('covers every rule of the generated CRD', () => {
    const messages = new Set<string>();
    (function walk(node: unknown): void {
      if (Array.isArray(node)) return node.forEach(walk);
      if (node === null || typeof node !== 'object') return;
      for (const [key, value] of Object.entries(node)) {
        if (key === 'x-kubernetes-validations') for (const r of value as Array<{ message: string }>) messages.add(r.message);
        else walk(value);
      }
    })(openAPISchema(MicroserviceSpec));
    const tested = new Set(cases.map(([, , problem]) => problem.slice(problem.indexOf(': ') + 2)));
    expect([...messages].filter((m) => !tested.has(m))).toEqual([]);
  });
});

describe('fieldPath', () => {
  it.each<[ReadonlyArray<PropertyKey>, string]>([
    [[], 'spec'],
    [['image'], 'spec.image'],
    [['ports', 0, 'port'], 'spec.ports[0].port'],
    [['strategy', 'canary', 'steps', 12, 'pause'], 'spec.strategy.canary.steps[12].pause'],
  ])('writes %j as %s', (path, expected) => {
    expect(fieldPath('spec', path)).toBe(expected);
  });
});

describe('properties', () => {
  it('accepts every generated spec, and validating the result again changes nothing', () => {
    fc.assert(fc.property(arbName, arbSpecInput, (name, spec) => {
      const first = validateMicroservice(object(spec, name));
      expect(first.ok).toBe(true);
      if (!first.ok) return;
      const second = validateMicroservice(object(first.value.spec, name));
      expect(second.ok && second.value.spec).toEqual(first.value.spec);
    }));
  });

  it('names the port index of the one bad port among many', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.nat(), fc.constantFrom(0, 65536, -3), (count, at, bad) => {
      const index = at % count;
      const ports = Array.from({ length: count }, (_, i) => ({ name: `p${i}`, port: i === index ? bad : 1000 + i }));
      expect(problemsOf({ image: 'a', ports })).toEqual([expect.stringMatching(new RegExp(`^spec\\.ports\\[${index}\\]\\.port: `))]);
    }));
  });
});
