// The traffic API: `spec.traffic.gateway` (an HTTPRoute Coxswain owns, exact weights through the
// Gateway API), the canary steps that only make sense with it (`setCanaryScale`,
// `setHeaderRoute`), the rules that tie them to the rest of the spec, and `status.traffic`.
// Patterns and limits are the Gateway API's own (HTTPRoute v1, standard channel), so a spec the
// CRD accepts renders a route the Gateway API's CRD accepts too.
import { z } from 'zod';
import { cel, type Rule } from './rules.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
const GATEWAY_DURATION = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';

const Hostname = z.string().min(1).max(253).regex(HOSTNAME, 'must be a lowercase hostname such as orders.example.com or *.example.com');

export const ParentRef = z.object({
  group: z.string().max(253).regex(/^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be an API group').default(GATEWAY_GROUP),
  kind: z.string().min(1).max(63).regex(/^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/, 'must be a kind such as Gateway').default('Gateway'),
  name: z.string().min(1).max(253).describe('The Gateway (or other parent) the route attaches to.'),
  namespace: z.string().min(1).max(63).regex(DNS_LABEL, 'must be a namespace name').optional().describe("The parent's namespace; defaults to the Microservice's."),
  sectionName: z.string().min(1).max(253).regex(DNS_SUBDOMAIN, 'must be a listener name').optional().describe('The listener of the parent, e.g. https.'),
  port: z.int().min(1).max(65535).optional(),
});
export type ParentRef = z.output<typeof ParentRef>;

export const parentKey = (p: ParentRef) => [p.group, p.kind, p.namespace ?? '', p.name, p.sectionName ?? '', p.port ?? 0].join('/');

export const Timeouts = cel(
  z.object({
    request: z.string().regex(GATEWAY_DURATION, 'must be a Gateway API duration such as 10s or 1m30s').optional()
      .describe('Longest the gateway takes to answer a request; 0s for none.'),
    backendRequest: z.string().regex(GATEWAY_DURATION, 'must be a Gateway API duration such as 10s or 1m30s').optional()
      .describe('Longest one try to a backend takes; at most request.'),
  }),
  {
    rule: "!(has(self.request) && has(self.backendRequest) && duration(self.request) != duration('0s') && duration(self.backendRequest) > duration(self.request))",
    message: 'backendRequest may not be longer than request', fieldPath: '.backendRequest',
    holds: (t) => !(t.request && t.backendRequest && gatewayDurationMs(t.request) !== 0 && gatewayDurationMs(t.backendRequest) > gatewayDurationMs(t.request)),
  },
);

export const GatewayTraffic = cel(
  z.object({
    parentRefs: z.array(ParentRef).min(1).max(32).describe('Where the route attaches: the Gateways (and listeners) that serve it.'),
    hostnames: z.array(Hostname).max(16).optional().describe("Hostnames the route answers; omitted, every hostname of the parents' listeners."),
    path: z.string().min(1).max(1024).regex(/^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*\/?$/, 'must be an absolute path such as / or /api').default('/')
      .describe('Path prefix the route matches (PathPrefix).'),
    port: z.int().min(1).max(65535).optional().describe('The Service port the route sends to; defaults to the first port.'),
    previewHostnames: z.array(Hostname).min(1).max(16).optional()
      .describe('Hostnames of a second route, <name>-preview, that sends everything to the candidate (the active slot between rollouts).'),
    timeouts: Timeouts.optional(),
  }),
  {
    rule: '!has(self.previewHostnames) || !has(self.hostnames) || self.previewHostnames.all(h, !(h in self.hostnames))',
    message: 'previewHostnames must differ from hostnames: the preview route would take their traffic', fieldPath: '.previewHostnames',
    holds: (g) => !g.previewHostnames || !g.hostnames || g.previewHostnames.every((h) => !g.hostnames!.includes(h)),
  },
);
export type GatewayTraffic = z.output<typeof GatewayTraffic>;

export const Traffic = z.object({
  gateway: GatewayTraffic.optional()
    .describe('Exact weights through the Gateway API: Coxswain owns the HTTPRoute <name>, whose backends are the slot Services <name>-blue and <name>-green.'),
});

/** `setCanaryScale`: the candidate's pods, apart from its share of traffic. Stays in force until the next one. */
export const SetCanaryScale = cel(
  z.object({
    replicas: z.int().min(0).optional().describe('This many candidate pods.'),
    weight: z.int().min(0).max(100).optional().describe('Candidate pods for this share of the total: ceil(replicas*weight/100).'),
    matchTrafficWeight: z.literal(true).optional().describe('Back to pods that follow the traffic weight.'),
  }),
  {
    rule: '[has(self.replicas), has(self.weight), has(self.matchTrafficWeight)].filter(x, x).size() == 1',
    message: 'setCanaryScale sets exactly one of replicas, weight or matchTrafficWeight',
    holds: (s) => [s.replicas, s.weight, s.matchTrafficWeight].filter((v) => v !== undefined).length === 1,
  },
);

export const HeaderMatch = z.object({
  header: z.string().min(1).max(256).regex(HEADER_NAME, 'must be an HTTP header name').describe('The request header, e.g. X-Canary.'),
  value: z.string().min(1).max(4096),
  type: z.enum(['Exact', 'RegularExpression']).default('Exact'),
});

/** `setHeaderRoute`: requests that match go to the candidate at any weight, until promotion; an empty match removes it. */
export const SetHeaderRoute = z.object({
  name: z.string().min(1).max(63).regex(DNS_LABEL, 'must be a lowercase DNS label').describe('Names the route rule (header-<name>); a later step with the same name replaces or removes it.'),
  // A header named twice is refused by the HTTPRoute's own schema (its matches are a map by name).
  match: z.array(HeaderMatch).max(16).describe('Every header must match (AND); empty removes the header route.'),
});
export type HeaderRoute = z.output<typeof SetHeaderRoute>;

/** What the traffic rules see of a spec: the fields they tie together. */
interface SpecShape {
  ports?: Array<{ port: number; servicePort?: number }>;
  traffic?: { gateway?: { port?: number } };
  strategy?: { canary?: { steps: Array<Record<string, unknown>> } };
}

const noRoute = '!has(self.traffic) || !has(self.traffic.gateway)';
const needsRoute = (key: string): Rule<SpecShape> => ({
  rule: `(has(self.traffic) && has(self.traffic.gateway)) || !has(self.strategy) || !has(self.strategy.canary) || self.strategy.canary.steps.all(s, !has(s.${key}))`,
  message: `${key} steps need spec.traffic.gateway: without a route, traffic follows the replicas`, fieldPath: '.strategy.canary.steps',
  holds: (s) => !!s.traffic?.gateway || !s.strategy?.canary || s.strategy.canary.steps.every((step) => step[key] === undefined),
});

/** Rules of the whole spec that tie spec.traffic to the ports and the steps. */
export const TRAFFIC_RULES: Array<Rule<SpecShape>> = [
  {
    rule: `${noRoute} || (has(self.ports) && self.ports.size() > 0)`,
    message: 'spec.traffic.gateway needs spec.ports: the route sends traffic to a Service port', fieldPath: '.traffic.gateway',
    holds: (s) => !s.traffic?.gateway || (s.ports?.length ?? 0) > 0,
  },
  {
    rule: `${noRoute} || !has(self.traffic.gateway.port) || (has(self.ports) && self.ports.exists(p, (has(p.servicePort) ? p.servicePort : p.port) == self.traffic.gateway.port))`,
    message: 'traffic.gateway.port must be one of the Service ports in spec.ports', fieldPath: '.traffic.gateway.port',
    holds: (s) => s.traffic?.gateway?.port === undefined || (s.ports ?? []).some((p) => (p.servicePort ?? p.port) === s.traffic!.gateway!.port),
  },
  needsRoute('setHeaderRoute'),
  needsRoute('setCanaryScale'),
];

export const TrafficStatus = z.object({
  route: z.string().optional().describe('The HTTPRoute Coxswain owns.'),
  weights: z.object({ blue: z.int().optional(), green: z.int().optional() }).optional()
    .describe('The weights of the route as applied, per slot.'),
  headerRoutes: z.array(z.string()).optional().describe('Header routes of the route as applied (to the candidate).'),
  acceptedWeights: z.object({ blue: z.int().optional(), green: z.int().optional() }).optional()
    .describe('The weights of the route as its parents last accepted it: what it serves.'),
  acceptedHeaderRoutes: z.array(z.string()).optional().describe('Header routes as the parents last accepted them.'),
  accepted: z.enum(['True', 'False', 'Unknown']).optional()
    .describe('Whether every parent has accepted the route as it is now (its current generation).'),
  message: z.string().optional().describe("The parents' word on the route, refusals first."),
  pendingSince: z.string().optional().describe('Since when the route has waited for its parents; the progress deadline counts from here.'),
});
export type TrafficStatus = z.output<typeof TrafficStatus>;

/** A Gateway API duration ("1h30m", "500ms") in milliseconds. */
export function gatewayDurationMs(d: string): number {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const m of d.matchAll(/([0-9]+)(ms|h|m|s)/g)) total += Number(m[1]) * (unit[m[2]!] ?? 0);
  return total;
}
