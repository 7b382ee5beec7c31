import { describe, expect, it } from 'vitest';
import { ApiError, toApiError } from './client.js';
import { type KubeObject } from './object.js';
import { namespaceTerminating, refusalOf, rewritePaths } from './refusal.js';

const meta = (name: string) => ({ name, namespace: 'shop' });

/** The blue slot of `orders`, holding what the API server's messages below talk about. */
const deployment: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: meta('orders-blue'),
  spec: {
    replicas: 3,
    template: {
      metadata: { labels: { team: 'not a label value!' } },
      spec: {
        containers: [{
          name: 'orders',
          image: 'registry.example/orders:1.4.2',
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'admin', containerPort: 8080, protocol: 'TCP' }],
          env: [{ name: 'A', value: '1' }, { name: 'B', value: 5 }, { name: 'A', value: '3' }],
          volumeMounts: [{ name: 'v', mountPath: '/a' }, { name: 'nope', mountPath: '/b' }],
        }],
        volumes: [{ name: 'v', emptyDir: {} }, { name: 'v', emptyDir: {} }],
        imagePullSecrets: [{ name: 'r' }, { name: 'r' }],
        tolerations: [{ operator: 'Bogus' }],
      },
    },
  },
};
const service: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: meta('orders'), spec: { ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80 }] } };
const networkPolicy: KubeObject = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta('orders'), spec: {} };
const configMap: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('orders-config-87a077fdac'), data: {} };
const hpa: KubeObject = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: meta('orders'), spec: {} };

/** What the API server (v1.36) answered to server-side apply, as its Status body. */
const status = (code: number, reason: string, message: string, causes?: Array<{ reason: string; message: string; field: string }>) =>
  toApiError(code, JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message, ...(causes ? { details: { causes } } : {}) }));

/** A 422 as the API server writes it: `<object> is invalid: <field>: <message>`, one cause per field. */
const invalid = (object: string, ...causes: Array<[field: string, message: string]>) => {
  const listed = causes.map(([field, message]) => `${field}: ${message}`).join(', ');
  return status(422, 'Invalid', `${object} is invalid: ${causes.length > 1 ? `[${listed}]` : listed}`,
    causes.map(([field, message]) => ({ reason: 'FieldValueInvalid', message, field })));
};

const typedPatch = (object: string, rest: string) =>
  status(500, 'InternalError', `failed to create typed patch object (shop/${object}; apps/v1, Kind=Deployment): ${rest}`);

describe('refusalOf: deterministic refusals, named by the Microservice\'s field', () => {
  it.each<[string, ApiError, KubeObject, string]>([
    ['duplicate env names (500)', typedPatch('orders-blue', '.spec.template.spec.containers[name="orders"].env: duplicate entries for key [name="A"]'), deployment,
      'spec.env: duplicate entries for key [name="A"]'],
    ['two ports on one Service port (500)',
      status(500, 'InternalError', 'failed to create typed patch object (shop/orders; /v1, Kind=Service): .spec.ports: duplicate entries for key [port=80,protocol="TCP"]'), service,
      'spec.ports: duplicate entries for key [port=80,protocol="TCP"]'],
    ['a container port twice (500)', typedPatch('orders-blue', '.spec.template.spec.containers[name="orders"].ports: duplicate entries for key [containerPort=8080,protocol="TCP"]'), deployment,
      'spec.ports: duplicate entries for key [containerPort=8080,protocol="TCP"]'],
    ['duplicate volumes (500)', typedPatch('orders-blue', '.spec.template.spec.volumes: duplicate entries for key [name="v"]'), deployment,
      'spec.pod.volumes: duplicate entries for key [name="v"]'],
    ['duplicate mountPaths (500)', typedPatch('orders-blue', '.spec.template.spec.containers[name="orders"].volumeMounts: duplicate entries for key [mountPath="/a"]'), deployment,
      'spec.pod.volumeMounts: duplicate entries for key [mountPath="/a"]'],
    ['duplicate imagePullSecrets (500)', typedPatch('orders-blue', '.spec.template.spec.imagePullSecrets: duplicate entries for key [name="r"]'), deployment,
      'spec.pod.imagePullSecrets: duplicate entries for key [name="r"]'],
    ['a passed-through value of the wrong type (500), its key resolved to an index',
      typedPatch('orders-blue', '.spec.template.spec.containers[name="orders"].env[name="B"].value: expected string, got &value.valueUnstructured{Value:5}'), deployment,
      'spec.env[1].value: expected string, got 5'],
    ['an env entry without a name (422)',
      invalid('Deployment.apps "orders-blue"', ['spec.template.spec.containers[0].env[1].name', 'Required value']), deployment,
      'spec.env[1].name: Required value'],
    ['a mount of a volume that does not exist (422)',
      invalid('Deployment.apps "orders-blue"', ['spec.template.spec.containers[0].volumeMounts[1].name', 'Not found: "nope"']), deployment,
      'spec.pod.volumeMounts[1].name: Not found: "nope"'],
    ['a bad probe (422)',
      invalid('Deployment.apps "orders-blue"', ['spec.template.spec.containers[0].readinessProbe.httpGet.port', 'Invalid value: "nope-nope-nope-nope": must be no more than 15 characters']), deployment,
      'spec.probes.readiness.httpGet.port: Invalid value: "nope-nope-nope-nope": must be no more than 15 characters'],
    ['requests above limits (422)',
      invalid('Deployment.apps "orders-blue"', ['spec.template.spec.containers[0].resources.requests', 'Invalid value: "2": must be less than or equal to cpu limit of 1']), deployment,
      'spec.resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1'],
    ['two causes on one toleration (422)',
      invalid('Deployment.apps "orders-blue"',
        ['spec.template.spec.tolerations[0].operator', 'Invalid value: "Bogus": operator must be Exists when `key` is empty'],
        ['spec.template.spec.tolerations[0].operator', 'Unsupported value: "Bogus": supported values: "Equal", "Exists"']), deployment,
      'spec.pod.tolerations[0].operator: Invalid value: "Bogus": operator must be Exists when `key` is empty; spec.pod.tolerations[0].operator: Unsupported value: "Bogus": supported values: "Equal", "Exists"'],
    ['a bad pod label value (422, printed spec.template.labels)',
      invalid('Deployment.apps "orders-blue"', ['spec.template.labels', 'Invalid value: "not a label value!": a valid label must be an empty string']), deployment,
      'spec.pod.labels: Invalid value: "not a label value!": a valid label must be an empty string'],
    ['a bad Service annotation (422)',
      invalid('Service "orders"', ['metadata.annotations', 'Invalid value: "bad key!": name part must consist of alphanumeric characters']), service,
      'spec.service.annotations: Invalid value: "bad key!": name part must consist of alphanumeric characters'],
    ['a Service port (422)',
      invalid('Service "orders"', ['spec.ports[1].port', 'Invalid value: 0: must be between 1 and 65535, inclusive']), service,
      'spec.ports[1].servicePort: Invalid value: 0: must be between 1 and 65535, inclusive'],
    ['bad CIDRs, after the DNS egress rule Coxswain puts first (422)',
      invalid('NetworkPolicy.networking.k8s.io "orders"',
        ['spec.ingress[1].from[0].ipBlock.cidr', 'Invalid value: "1.2.3.4/77": must be a valid CIDR value'],
        ['spec.egress[1].to[0].ipBlock.cidr', 'Invalid value: "10.0.0.0/99": must be a valid CIDR value']), networkPolicy,
      'spec.networkPolicy.allowFrom[1].cidr: Invalid value: "1.2.3.4/77": must be a valid CIDR value; spec.networkPolicy.allowTo[0].cidr: Invalid value: "10.0.0.0/99": must be a valid CIDR value'],
    ['a config too large (422, on the whole object)',
      invalid('ConfigMap "orders-config-87a077fdac"', ['[]', 'Too long: may not be more than 1048576 bytes']), configMap,
      'spec.config.data: Too long: may not be more than 1048576 bytes'],
    ['an HPA behavior (422)',
      invalid('HorizontalPodAutoscaler.autoscaling "orders"', ['spec.behavior.scaleUp.policies[0].type', 'Unsupported value: "Bogus"']), hpa,
      'spec.autoscaling.behavior.scaleUp.policies[0].type: Unsupported value: "Bogus"'],
    ['a 422 without causes, paths rewritten in its message',
      status(422, 'Invalid', 'Deployment.apps "orders-blue" is invalid: spec.template.spec.containers[0].image: Required value'), deployment,
      'spec.image: Required value'],
    ['a bad request (400), kept as it is',
      status(400, 'BadRequest', 'admission webhook "policy.example" denied the request: images must come from registry.example'), deployment,
      'admission webhook "policy.example" denied the request: images must come from registry.example'],
    ['an object too large (413)', status(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'), configMap,
      'Request entity too large: limit is 3145728'],
  ])('%s', (_what, err, desired, field) => {
    expect(refusalOf(err, desired)).toEqual({ reason: 'ApplyFailed', message: `${field} (the API server refused ${desired.kind} ${desired.metadata.name})` });
  });

  it('leaves a field Coxswain sets itself as the child names it', () => {
    const err = invalid('Deployment.apps "orders-blue"', ['spec.selector', 'Invalid value: "x": field is immutable']);
    expect(refusalOf(err, deployment)?.message).toMatch(/^spec\.selector: Invalid value: "x": field is immutable \(the API server refused Deployment orders-blue\)$/);
  });
});

describe('refusalOf: transient errors are for a retry', () => {
  it.each<[string, unknown]>([
    ['too many requests (429)', status(429, 'TooManyRequests', 'the server has received too many requests and has asked us to try again later')],
    ['etcd timing out (500)', status(500, 'InternalError', 'etcdserver: request timed out')],
    ['a webhook that cannot be reached (500)', status(500, 'InternalError', 'Internal error occurred: failed calling webhook "policy.example": context deadline exceeded')],
    ['unavailable (503)', status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request')],
    ['a gateway timeout (504)', status(504, 'Timeout', 'Timeout: request did not complete within requested timeout')],
    ['a conflict (409)', status(409, 'Conflict', 'Operation cannot be fulfilled: the object has been modified')],
    ['a namespace being deleted (403)', status(403, 'Forbidden', 'unable to create new content in namespace shop because it is being terminated')],
    ['a network error', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' })],
    ['a request that timed out', new DOMException('The operation was aborted due to timeout', 'TimeoutError')],
    ['something that is not an error', 'boom'],
  ])('%s', (_what, err) => {
    expect(refusalOf(err, deployment)).toBeUndefined();
  });
});

describe('the whole pod: sidecars, init containers, the main container\'s lifecycle, the budget', () => {
  const pod: KubeObject = {
    ...deployment,
    spec: { replicas: 3, minReadySeconds: 5, template: { spec: {
      initContainers: [{ name: 'proxy', image: 'p:1', restartPolicy: 'Always' }, { name: 'migrate', image: 'm:1' }, { name: 'warm', image: 'w:1' }],
      containers: [{ name: 'orders', image: 'o:1', lifecycle: {} }],
    } } },
  };
  const pdb: KubeObject = { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: meta('orders'), spec: {} };
  it.each<[string, string, KubeObject, string]>([
    ['a sidecar, by index', 'spec.template.spec.initContainers[0].startupProbe.tcpSocket.port: Invalid value: 0', pod, 'spec.sidecars[0].startupProbe.tcpSocket.port: Invalid value: 0'],
    ['an init container, by index past the sidecars', 'spec.template.spec.initContainers[2].image: Required value', pod, 'spec.initContainers[1].image: Required value'],
    ['an init container, by name', '.spec.template.spec.initContainers[name="migrate"].env: duplicate entries for key [name="A"]', pod, 'spec.initContainers[0].env: duplicate entries for key [name="A"]'],
    ['the preStop hook', 'spec.template.spec.containers[0].lifecycle.preStop.httpGet.port: Invalid value: 0', pod, 'spec.lifecycle.preStop.httpGet.port: Invalid value: 0'],
    ['a pod field', 'spec.template.spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0', pod, 'spec.pod.topologySpreadConstraints[0].maxSkew: Invalid value: 0'],
    ['minReadySeconds', 'spec.minReadySeconds: Invalid value: -1', pod, 'spec.minReadySeconds: Invalid value: -1'],
    ['the budget', 'spec.minAvailable: Invalid value: "150%": must not be greater than 100%', pdb, 'spec.disruption.minAvailable: Invalid value: "150%": must not be greater than 100%'],
  ])('names %s by the Microservice\'s field', (_what, text, desired, expected) => {
    expect(rewritePaths(text, desired)).toBe(expected);
  });
});

describe('rewritePaths', () => {
  it.each<[string, string]>([
    ['spec.template.spec.containers[0].ports[1].containerPort: Invalid value: 0', 'spec.ports[1].port: Invalid value: 0'],
    ['.spec.template.spec.containers[name="orders"].ports[containerPort=8080,protocol="TCP"].name: x', 'spec.ports[containerPort=8080,protocol="TCP"].name: x'],
    ['spec.template.spec.containers[0].securityContext.runAsUser: expected numeric', 'spec.pod.containerSecurityContext.runAsUser: expected numeric'],
    ['spec.template.spec.securityContext.runAsUser: expected numeric', 'spec.pod.securityContext.runAsUser: expected numeric'],
    ['spec.progressDeadlineSeconds: Invalid value: 0', 'spec.strategy.progressDeadlineSeconds: Invalid value: 0'],
    ['a message that names no path', 'a message that names no path'],
  ])('%s', (text, expected) => {
    expect(rewritePaths(text, deployment)).toBe(expected);
  });
});

describe('namespaceTerminating', () => {
  /** What the API server (v1.36) answers to a create in a namespace being deleted. */
  const terminating = status(403, 'Forbidden', 'configmaps "orders-config-87a077fdac" is forbidden: unable to create new content in namespace shop because it is being terminated',
    [{ reason: 'NamespaceTerminating', message: 'namespace shop is being terminated', field: 'metadata.namespace' }]);

  it('knows a namespace being deleted, by its cause or, without one, by its message', () => {
    expect(namespaceTerminating(terminating)).toBe(true);
    expect(namespaceTerminating(status(403, 'Forbidden', 'unable to create new content in namespace shop because it is being terminated'))).toBe(true);
  });

  it.each<[string, unknown]>([
    ['RBAC saying no (403)', status(403, 'Forbidden', 'deployments.apps "orders-blue" is forbidden: User "system:serviceaccount:x:y" cannot patch resource "deployments"')],
    ['a quota (403)', status(403, 'Forbidden', 'exceeded quota: compute, requested: pods=1, used: pods=10, limited: pods=10')],
    ['a refusal (422)', invalid('ConfigMap "orders-config-87a077fdac"', ['[]', 'Too long: may not be more than 1048576 bytes'])],
    ['not found (404)', status(404, 'NotFound', 'namespaces "shop" not found')],
    ['something that is not an API error', new Error('unable to create new content in namespace shop because it is being terminated')],
  ])('is not fooled by %s', (_what, err) => {
    expect(namespaceTerminating(err)).toBe(false);
  });
});
