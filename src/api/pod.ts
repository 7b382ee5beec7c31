// The pod beyond its main container: the escape hatch for the pod template (`spec.pod`), and the
// other containers (`spec.initContainers`, `spec.sidecars`), passed through as core/v1 types that
// the API server validates when the slot Deployment is applied. Names are checked here because
// server-side apply keys these lists by them.
import { z } from 'zod';
import { cel, Name, passThrough, type Rule, StringMap, unique, uniqueBy } from './rules.js';

/** A DNS subdomain, as the names of PriorityClasses and RuntimeClasses are. */
const Subdomain = z.string().min(1).max(253).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a lowercase DNS subdomain');

/** A container besides the main one: core/v1 Container, its name and image declared for the rules. */
const Container = (what: string, keys: z.ZodRawShape = {}) =>
  passThrough(`core/v1 Container (${what}), passed through.`, { name: Name, image: z.string().min(1), ...keys });

export const InitContainers = cel(
  z.array(Container('an init container')).max(16),
  uniqueBy('name', 'initContainers names must be unique'),
).describe('Run one after another, each to completion, before the main container starts (after every sidecar has started).');

export const Sidecars = cel(
  // Rendered as init containers with restartPolicy Always: a sidecar that says otherwise is no sidecar.
  z.array(Container('a native sidecar', { restartPolicy: z.enum(['Always']).optional() })).max(16),
  uniqueBy('name', 'sidecars names must be unique'),
).describe('Native sidecars: started in order before the init containers, kept running beside the main container, stopped after it.');

/** spec-level: no sidecar shares its name with an init container (they are one list in the pod). */
export const SIDECAR_INIT_RULE: Rule<{ sidecars?: Array<{ name: string }>; initContainers?: Array<{ name: string }> }> = {
  rule: '!has(self.sidecars) || !has(self.initContainers) || self.sidecars.all(s, self.initContainers.all(i, i.name != s.name))',
  message: 'container names must be unique: a sidecar and an init container share a name',
  fieldPath: '.initContainers',
  holds: (s) => !(s.sidecars ?? []).some((c) => (s.initContainers ?? []).some((i) => i.name === c.name)),
};

type Named = { name: string; spec: { initContainers?: Array<{ name: string }>; sidecars?: Array<{ name: string }> } };

/**
 * Rules at the CRD's root, where metadata.name is in reach: the main container is named after the
 * Microservice, so no other container may be. Each with its twin over the name and parsed spec.
 */
export const CONTAINER_NAME_RULES: Array<Rule<Named>> = (['initContainers', 'sidecars'] as const).map((list) => ({
  rule: `!has(self.spec.${list}) || self.spec.${list}.all(c, c.name != self.metadata.name)`,
  message: `container names must be unique: an entry of ${list} is named like the Microservice, as its main container is`,
  fieldPath: `.spec.${list}`,
  holds: ({ name, spec }: Named) => !(spec[list] ?? []).some((c) => c.name === name),
}));

const TopologySpreadConstraint = passThrough(
  'core/v1 TopologySpreadConstraint; without a labelSelector it counts every pod of the Microservice (both slots).',
  { topologyKey: z.string().min(1).max(316), whenUnsatisfiable: z.enum(['DoNotSchedule', 'ScheduleAnyway']) },
);

export const Pod = cel(z.object({
  labels: StringMap.optional(),
  annotations: StringMap.optional(),
  serviceAccountName: Name.optional(),
  nodeSelector: StringMap.optional(),
  tolerations: z.array(passThrough('core/v1 Toleration')).optional(),
  affinity: passThrough('core/v1 Affinity').optional(),
  securityContext: passThrough('core/v1 PodSecurityContext').optional(),
  containerSecurityContext: passThrough('core/v1 SecurityContext of the container').optional(),
  imagePullSecrets: cel(z.array(z.object({ name: Name })).max(32), uniqueBy('name', 'imagePullSecrets names must be unique')).optional(),
  volumes: cel(
    z.array(passThrough('core/v1 Volume', { name: z.string().min(1).max(63) })).max(128),
    uniqueBy('name', 'volume names must be unique'),
  ).optional(),
  volumeMounts: cel(
    z.array(passThrough('core/v1 VolumeMount', { mountPath: z.string().min(1).max(1024) })).max(128),
    uniqueBy('mountPath', 'volumeMount mountPaths must be unique'),
  ).optional(),
  terminationGracePeriodSeconds: z.int().min(0).optional(),
  topologySpreadConstraints: cel(
    z.array(TopologySpreadConstraint).max(16),
    { rule: 'self.all(x, self.exists_one(y, y.topologyKey == x.topologyKey && y.whenUnsatisfiable == x.whenUnsatisfiable))',
      message: 'topologySpreadConstraints must be unique by topologyKey and whenUnsatisfiable',
      holds: (xs) => unique(xs.map((x) => `${x.topologyKey}/${x.whenUnsatisfiable}`)) },
  ).optional(),
  priorityClassName: Subdomain.optional(),
  dnsPolicy: z.enum(['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None']).optional(),
  dnsConfig: passThrough('core/v1 PodDNSConfig').optional(),
  hostAliases: cel(
    z.array(passThrough('core/v1 HostAlias', { ip: z.string().min(1).max(45) })).max(32),
    uniqueBy('ip', 'hostAliases ips must be unique'),
  ).optional(),
  runtimeClassName: Subdomain.optional(),
  shareProcessNamespace: z.boolean().optional(),
  enableServiceLinks: z.boolean().optional(),
  automountServiceAccountToken: z.boolean().optional(),
}),
{ rule: "!has(self.dnsPolicy) || self.dnsPolicy != 'None' || has(self.dnsConfig)", message: 'dnsPolicy None needs dnsConfig: the pod would have no name servers',
  fieldPath: '.dnsConfig', holds: (p) => p.dnsPolicy !== 'None' || p.dnsConfig !== undefined },
);
