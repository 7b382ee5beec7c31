// The pod's CEL rules, one case each: src/api/pod.test.ts checks them, and validate.test.ts
// checks that every rule of the CRD has a case.

export const migrate = { name: 'migrate', image: 'registry.example/orders:1.4.2', command: ['/bin/migrate'] };
export const proxy = { name: 'proxy', image: 'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0', args: ['--port=5432'] };

/** Each breaks one rule; the operator says what the API server would, on the same field. */
export const POD_CASES: Array<[string, unknown, string]> = [
  ['an init container name twice', { image: 'a', initContainers: [migrate, { ...migrate, image: 'b' }] }, 'spec.initContainers: initContainers names must be unique'],
  ['a sidecar name twice', { image: 'a', sidecars: [proxy, proxy] }, 'spec.sidecars: sidecars names must be unique'],
  ['a sidecar named as an init container', { image: 'a', sidecars: [proxy], initContainers: [{ ...migrate, name: 'proxy' }] },
    'spec.initContainers: container names must be unique: a sidecar and an init container share a name'],
  ['two spread constraints on one key', { image: 'a', pod: { topologySpreadConstraints: [
    { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' },
    { maxSkew: 2, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' },
  ] } }, 'spec.pod.topologySpreadConstraints: topologySpreadConstraints must be unique by topologyKey and whenUnsatisfiable'],
  ['a host alias ip twice', { image: 'a', pod: { hostAliases: [{ ip: '10.1.2.3', hostnames: ['a'] }, { ip: '10.1.2.3', hostnames: ['b'] }] } },
    'spec.pod.hostAliases: hostAliases ips must be unique'],
  ['dnsPolicy None without dnsConfig', { image: 'a', pod: { dnsPolicy: 'None' } }, 'spec.pod.dnsConfig: dnsPolicy None needs dnsConfig: the pod would have no name servers'],
  ['minReadySeconds at the progress deadline', { image: 'a', minReadySeconds: 60, strategy: { progressDeadlineSeconds: 60 } },
    'spec.minReadySeconds: minReadySeconds must be below strategy.progressDeadlineSeconds'],
  ['both budgets', { image: 'a', disruption: { maxUnavailable: 1, minAvailable: 1 } }, 'spec.disruption: set exactly one of maxUnavailable or minAvailable'],
  ['no budget', { image: 'a', disruption: {} }, 'spec.disruption: set exactly one of maxUnavailable or minAvailable'],
];

