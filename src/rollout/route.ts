// The live HTTPRoute read back, pure: its weights per slot, its header routes, and whether every
// parent accepted its current generation.
import type { Slot } from '../api/schema.js';
import { otherSlot, SLOTS } from '../api/names.js';
import { GATEWAY_GROUP, type HeaderRoute } from '../api/traffic.js';
import type { KubeObject } from '../kube/object.js';
import type { Acceptance, LiveHeaderRoute, ObservedRoute, RoutePlan } from './types.js';

interface RouteShape {
  metadata: { name: string; namespace?: string; generation?: number };
  spec?: {
    parentRefs?: ParentShape[];
    rules?: Array<{
      name?: string;
      matches?: Array<{ headers?: Array<{ type?: string; name: string; value: string }> }>;
      backendRefs?: Array<{ name: string; weight?: number }>;
    }>;
  };
  status?: { parents?: Array<{ parentRef: ParentShape; conditions?: Array<{ type: string; status: string; reason?: string; message?: string; observedGeneration?: number }> }> };
}
interface ParentShape { group?: string; kind?: string; name: string; namespace?: string; sectionName?: string; port?: number }

const HEADER_RULE = /^header-(.+)$/;

function sameParent(a: ParentShape, b: ParentShape, namespace: string): boolean {
  return (a.group ?? GATEWAY_GROUP) === (b.group ?? GATEWAY_GROUP) && (a.kind ?? 'Gateway') === (b.kind ?? 'Gateway') && a.name === b.name
    && (a.namespace ?? namespace) === (b.namespace ?? namespace) && (a.sectionName ?? '') === (b.sectionName ?? '') && (a.port ?? 0) === (b.port ?? 0);
}

/** `Gateway gateways/public (https)`: a parent as a person reads it. */
export function parentName(p: ParentShape, namespace: string): string {
  const where = [p.sectionName, p.port].filter((x) => x !== undefined).join(':');
  return `${p.kind ?? 'Gateway'} ${p.namespace ?? namespace}/${p.name}${where ? ` (${where})` : ''}`;
}

/**
 * Whether every parent of the route (its own spec.parentRefs) has accepted its current
 * generation, from status.parents as the Gateway controllers wrote it: a condition Accepted with
 * observedGeneration equal to the route's generation. Refusals come first in the message.
 */
export function acceptanceOf(obj: KubeObject): Acceptance {
  const route = obj as unknown as RouteShape;
  const namespace = route.metadata.namespace ?? '';
  const generation = route.metadata.generation ?? 0;
  const statuses = route.status?.parents ?? [];
  const everAccepted = statuses.some((p) => p.conditions?.some((c) => c.type === 'Accepted' && c.status === 'True'));
  const refused: string[] = [];
  const pending: string[] = [];
  const accepted: string[] = [];
  for (const ref of route.spec?.parentRefs ?? []) {
    const name = parentName(ref, namespace);
    const cond = statuses.find((s) => sameParent(s.parentRef, ref, namespace))?.conditions?.find((c) => c.type === 'Accepted');
    if (!cond || cond.observedGeneration !== generation) pending.push(`${name}: not yet accepted generation ${generation}`);
    else if (cond.status === 'True') accepted.push(`${name}: accepted`);
    else refused.push(`${name}: ${[cond.reason, cond.message].filter(Boolean).join(': ') || 'not accepted'}`);
  }
  const state = refused.length > 0 ? 'Refused' : pending.length > 0 ? 'Pending' : 'Accepted';
  return { state, message: [...refused, ...pending, ...accepted].join('; '), everAccepted };
}

/** The live route read back: the weighted rule's weights per slot, the header routes, and what the parents said. */
export function observeRoute(obj: KubeObject | undefined, name: string): ObservedRoute | undefined {
  if (!obj) return undefined;
  const route = obj as unknown as RouteShape;
  const slotOf = (backend: string) => SLOTS.find((s) => backend === `${name}-${s}`);
  const weights: Partial<Record<Slot, number>> = {};
  const headers: LiveHeaderRoute[] = [];
  for (const rule of route.spec?.rules ?? []) {
    const header = HEADER_RULE.exec(rule.name ?? '');
    if (header) {
      const slot = slotOf(rule.backendRefs?.[0]?.name ?? '');
      const match = (rule.matches?.[0]?.headers ?? []).map((h) => ({ header: h.name, value: h.value, type: (h.type ?? 'Exact') as 'Exact' | 'RegularExpression' }));
      headers.push({ name: header[1]!, match, ...(slot ? { slot } : {}) });
      continue;
    }
    for (const b of rule.backendRefs ?? []) {
      const slot = slotOf(b.name);
      if (slot) weights[slot] = (weights[slot] ?? 0) + (b.weight ?? 1);
    }
  }
  return { generation: route.metadata.generation ?? 0, weights, headers, acceptance: acceptanceOf(obj) };
}

/** The weight per slot a route plan asks. */
export function weightsOf(route: RoutePlan): Record<Slot, number> {
  const other = otherSlot(route.stable);
  return { [route.stable]: 100 - route.weight, [other]: route.weight } as Record<Slot, number>;
}

const sameMatch = (a: HeaderRoute['match'], b: HeaderRoute['match']) =>
  a.length === b.length && a.every((m, i) => m.header === b[i]!.header && m.value === b[i]!.value && m.type === b[i]!.type);

/** The live route says what `route` says: the same weight per slot, the same header routes to the same slot. */
export function routeSays(live: ObservedRoute, route: RoutePlan): boolean {
  const want = weightsOf(route);
  const candidate = otherSlot(route.stable);
  return SLOTS.every((s) => (live.weights[s] ?? 0) === want[s])
    && live.headers.length === route.headers.length
    && route.headers.every((h, i) => live.headers[i]!.name === h.name && live.headers[i]!.slot === candidate && sameMatch(live.headers[i]!.match, h.match));
}

/** The route says `route`, and every parent has accepted it as it is now. */
export function routeLive(live: ObservedRoute | undefined, route: RoutePlan): boolean {
  return !!live && live.acceptance.state === 'Accepted' && routeSays(live, route);
}
