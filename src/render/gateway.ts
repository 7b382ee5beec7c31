// The Gateway API router: with spec.traffic.gateway, traffic reaches the slots through an
// HTTPRoute `<name>` that Coxswain owns. Its backends are the slot Services `<name>-blue` and
// `<name>-green`, weighted exactly as the plan says; header routes are named rules ahead of the
// weighted one; `<name>` selects the stable slot only, so traffic that bypasses the gateway never
// reaches an unpromoted candidate. Every field the API server would default is written out
// (parentRefs' group and kind, backendRefs' group, kind and weight, the path match and header
// match types), so the stored route is exactly what was applied: no diff for Argo CD or for the
// operator's own comparison.
import type { Microservice, Slot } from '../api/schema.js';
import { deploymentName, LABEL_SLOT, otherSlot, SLOTS } from '../api/names.js';
import { GATEWAY_GROUP, type GatewayTraffic, type HeaderRoute } from '../api/traffic.js';
import type { KubeObject } from '../kube/object.js';
import type { Plan, RoutePlan } from '../rollout/types.js';
import { ownedMeta } from './meta.js';
import { renderPreviewService, renderService } from './network.js';
import type { Port, Revision } from './revision.js';
import type { TrafficRouter } from './traffic.js';

export const HTTPROUTE_API_VERSION = `${GATEWAY_GROUP}/v1`;
/** The rule that carries the weights. */
export const WEIGHTED_RULE = 'weighted';
/** The rule of header route `name`. */
export const headerRuleName = (name: string) => `header-${name}`;
export const previewRouteName = (name: string) => `${name}-preview`;
/** The Service of one slot: a backend of the route. */
export const slotServiceName = deploymentName;

/**
 * A slot's own Service, a backend of the route. It carries the slot label (which the EndpointSlice
 * controller copies onto its slices), so the operator watches the slices of these Services only:
 * the route's gate reads them, nothing reads the others'.
 */
function slotService(ms: Microservice, slot: Slot, ports: readonly Port[]): KubeObject | undefined {
  const svc = renderService(ms, slotServiceName(ms.metadata.name, slot), ports, slot);
  if (svc) svc.metadata.labels = { ...svc.metadata.labels, [LABEL_SLOT]: slot };
  return svc;
}

/** The route a plan without one falls back on: all of it to the slot `<name>` serves. */
export function routeOf(plan: Plan): RoutePlan {
  return plan.route ?? { stable: plan.serviceSlot ?? plan.previewSlot ?? 'blue', weight: 0, headers: [] };
}

/** The Service port the route sends to on a revision's ports: spec.traffic.gateway.port, else the first. */
export function routePort(gateway: GatewayTraffic, ports: readonly Port[]): number | undefined {
  const first = ports[0];
  return gateway.port ?? (first ? first.servicePort ?? first.port : undefined);
}

function backend(ms: Microservice, slot: Slot, port: number | undefined, weight: number): Record<string, unknown> {
  return { group: '', kind: 'Service', name: slotServiceName(ms.metadata.name, slot), ...(port !== undefined ? { port } : {}), weight };
}

function pathMatch(gateway: GatewayTraffic, headers?: HeaderRoute['match']): Record<string, unknown> {
  return {
    path: { type: 'PathPrefix', value: gateway.path },
    ...(headers?.length ? { headers: headers.map((h) => ({ type: h.type, name: h.header, value: h.value })) } : {}),
  };
}

function rule(gateway: GatewayTraffic, name: string, backendRefs: Array<Record<string, unknown>>, headers?: HeaderRoute['match']): Record<string, unknown> {
  return { name, matches: [pathMatch(gateway, headers)], backendRefs, ...(gateway.timeouts ? { timeouts: gateway.timeouts } : {}) };
}

function parentRefs(gateway: GatewayTraffic): Array<Record<string, unknown>> {
  return gateway.parentRefs.map((p) => ({
    group: p.group, kind: p.kind, name: p.name,
    ...(p.namespace ? { namespace: p.namespace } : {}),
    ...(p.sectionName ? { sectionName: p.sectionName } : {}),
    ...(p.port !== undefined ? { port: p.port } : {}),
  }));
}

function httpRoute(ms: Microservice, name: string, gateway: GatewayTraffic, hostnames: readonly string[] | undefined, rules: Array<Record<string, unknown>>): KubeObject {
  return {
    apiVersion: HTTPROUTE_API_VERSION,
    kind: 'HTTPRoute',
    metadata: ownedMeta(ms, name),
    spec: { parentRefs: parentRefs(gateway), ...(hostnames?.length ? { hostnames: [...hostnames] } : {}), rules },
  };
}

/**
 * The HTTPRoute `<name>`: one named rule per header route (to the candidate), then the weighted
 * rule with both slots, blue first, at `100 - weight` and `weight`. `ports` gives each slot's
 * Service port.
 */
export function renderRoute(ms: Microservice, route: RoutePlan, ports: Record<Slot, number | undefined>): KubeObject | undefined {
  const gateway = ms.spec.traffic?.gateway;
  if (!gateway) return undefined;
  const candidate = otherSlot(route.stable);
  const weightOf = (slot: Slot) => (slot === candidate ? route.weight : 100 - route.weight);
  const rules = [
    ...route.headers.map((h) => rule(gateway, headerRuleName(h.name), [backend(ms, candidate, ports[candidate], 1)], h.match)),
    rule(gateway, WEIGHTED_RULE, SLOTS.map((slot) => backend(ms, slot, ports[slot], weightOf(slot)))),
  ];
  return httpRoute(ms, ms.metadata.name, gateway, gateway.hostnames, rules);
}

/** The HTTPRoute `<name>-preview` on previewHostnames: everything to the preview slot. */
export function renderPreviewRoute(ms: Microservice, slot: Slot, port: number | undefined): KubeObject | undefined {
  const gateway = ms.spec.traffic?.gateway;
  if (!gateway?.previewHostnames) return undefined;
  return httpRoute(ms, previewRouteName(ms.metadata.name), gateway, gateway.previewHostnames, [rule(gateway, 'preview', [backend(ms, slot, port, 1)])]);
}

export const gatewayRouter: TrafficRouter = {
  objects(ms, plan, revisions) {
    const gateway = ms.spec.traffic?.gateway;
    if (!gateway) return [];
    const route = routeOf(plan);
    const serving = revisions.get(plan.servingRevision)?.ports ?? ms.spec.ports ?? [];
    const preview = revisions.get(plan.previewRevision)?.ports ?? serving;
    // Each slot's Service on the ports of the revision it runs: the candidate's own, else the stable one's.
    const portsOf = (slot: Slot) => (slot !== route.stable && slot === plan.previewSlot ? preview : serving);
    const routePorts = { blue: routePort(gateway, portsOf('blue')), green: routePort(gateway, portsOf('green')) };
    const previewSlot = plan.previewSlot ?? route.stable;
    return [
      renderService(ms, ms.metadata.name, serving, route.stable),
      plan.previewSlot ? renderPreviewService(ms, preview, plan.previewSlot) : undefined,
      ...SLOTS.map((slot) => slotService(ms, slot, portsOf(slot))),
      renderRoute(ms, route, routePorts),
      renderPreviewRoute(ms, previewSlot, routePorts[previewSlot]),
    ];
  },
};
