// Exact weights through the Gateway API, pure (the live route is read in route.ts): how a canary step with a route sizes its
// slots and sets its route, when the step may go on, and the hold that keeps a slot's pods until
// the route that stops sending it traffic is accepted.
//
// A step with a route goes: the candidate grows to the pods the step asks (setCanaryScale, or
// ceil(T*w/100)); once they are Ready the route moves to the step's weight and header routes;
// once every parent has accepted that generation of the route, the stable slot shrinks to its
// share (T - floor(T*w/100)) and the step is done. A route not accepted within the progress
// deadline aborts the rollout with the parents' message. Nothing here has a clock or does I/O.
import type { Microservice, MicroserviceSpec, Slot } from '../api/schema.js';
import { otherSlot, SLOTS } from '../api/names.js';
import type { HeaderRoute, TrafficStatus } from '../api/traffic.js';
import { candidateOf, readyToStay, wakeIn } from './moves.js';
import { kindOf, weightAt, type Step } from './steps.js';
import type { Ctx, Decision, RoutePlan } from './types.js';

export type { Acceptance, LiveHeaderRoute, ObservedRoute } from './types.js';
export { acceptanceOf, observeRoute, parentName, routeLive, routeSays, weightsOf } from './route.js';
import { routeLive, routeSays } from './route.js';
import { candidateFor, resolveLimits, type Split } from './weights.js';

// The steps' traffic: header routes and canary scale in force at a step.

/** The header routes in force at step i: each setHeaderRoute so far, by name, the latest winning; none past the last step. */
export function headersAt(steps: readonly Step[], i: number): HeaderRoute[] {
  if (i >= steps.length) return [];
  const byName = new Map<string, HeaderRoute>();
  for (const s of steps.slice(0, i + 1)) {
    const h = s.setHeaderRoute;
    if (!h) continue;
    byName.delete(h.name);
    if (h.match.length > 0) byName.set(h.name, h);
  }
  return [...byName.values()];
}

/** The setCanaryScale in force at step i (undefined: pods follow the weight); none past the last step. */
export function scaleAt(steps: readonly Step[], i: number): NonNullable<Step['setCanaryScale']> | undefined {
  if (i >= steps.length) return undefined;
  let scale: Step['setCanaryScale'];
  for (const s of steps.slice(0, i + 1)) if (s.setCanaryScale) scale = s.setCanaryScale.matchTrafficWeight ? undefined : s.setCanaryScale;
  return scale;
}

/** Candidate pods at step i: setCanaryScale's, else the weight's ceil(T*w/100); at least one while a header route sends to it. */
export function candidateTarget(total: number, steps: readonly Step[], i: number): number {
  const scale = scaleAt(steps, i);
  const pods = scale?.replicas ?? candidateFor(total, scale?.weight ?? weightAt(steps, i));
  return Math.min(total, Math.max(pods, headersAt(steps, i).length > 0 ? 1 : 0));
}

/** The stable slot's share of the pods for the rest of the traffic: T - floor(T*w/100), at least one below 100%. */
export function stableShare(total: number, weight: number): number {
  if (weight >= 100 || total <= 0) return 0;
  return Math.max(1, total - Math.floor((total * weight) / 100));
}

/** The target split of every step with a route, for `kubectl coxswain get` and the docs. */
export function routeStepPlan(spec: MicroserviceSpec): Array<{ step: number; what: string; weight: number; stable: number; candidate: number; headers: string[] }> {
  const steps = spec.strategy.canary?.steps ?? [];
  const total = spec.replicas;
  // The stable slot, which `<name>` selects alone, keeps T - maxUnavailable until the flip.
  const floor = total - resolveLimits(spec.strategy.canary ?? { maxSurge: '25%', maxUnavailable: 0 }, total).unavailable;
  return [...steps.map((s, i) => ({ step: i, what: kindOf(s).describe(s) })), { step: steps.length, what: 'promote' }].map(({ step, what }) => {
    const weight = weightAt(steps, step);
    const stable = step >= steps.length ? 0 : Math.min(total, Math.max(stableShare(total, weight), floor));
    return { step, what, weight, stable, candidate: step >= steps.length ? total : candidateTarget(total, steps, step), headers: headersAt(steps, step).map((h) => h.name) };
  });
}

// The canary with a route.

/** How a canary step runs with spec.traffic.gateway; undefined without it. */
export interface RouteCanary {
  /** Candidate pods step i asks. */
  target(i: number): number;
  /** The route as step i has it. */
  routeAt(i: number): RoutePlan;
  /** The candidate has step i's pods, the route is live at step i, and the stable slot is down to its share. */
  reached(i: number): boolean;
  /** Slot sizes at step i. */
  sizes(i: number): Split;
  /** The route to apply at step i: step i's once the candidate is ready for it (and not held), else the live one. */
  route(i: number, held?: boolean): RoutePlan;
  /** The weight the live route serves the candidate (what status.rollout.weight says). */
  served(): number;
  /** What step i waits for on the route side, if anything. */
  waiting(i: number): string | undefined;
  /** Why step i is not reached yet (pods, the route, a slot still resizing); undefined once it is. */
  blocker(i: number): string | undefined;
}

/** What the route serves: as it is, once accepted; else as its parents last accepted it (status.traffic says), if ever. */
interface Served {
  weights: Partial<Record<Slot, number>>;
  headers: string[];
  /** The slot header routes send to. */
  headerSlot?: Slot;
}

export function servedBy(ctx: Ctx): Served {
  const live = ctx.route;
  if (!live) return { weights: {}, headers: [] };
  if (live.acceptance.state === 'Accepted') {
    return { weights: live.weights, headers: live.headers.map((h) => h.name), ...(live.headers[0]?.slot ? { headerSlot: live.headers[0].slot } : {}) };
  }
  // Not accepted as it is: what the parents last accepted, as status recorded it (a refusal
  // replaces the parents' Accepted=True, so the route's own status no longer says).
  const prev = ctx.prev.traffic;
  const headerSlot = live.headers[0]?.slot ?? (ctx.prev.activeSlot ? otherSlot(ctx.prev.activeSlot) : undefined);
  if (prev?.acceptedWeights) return { weights: prev.acceptedWeights, headers: prev.acceptedHeaderRoutes ?? [], ...(headerSlot ? { headerSlot } : {}) };
  // Status lost (or never accepted): the route as it is, if it ever carried traffic.
  if (!live.acceptance.everAccepted) return { weights: {}, headers: [] };
  return { weights: live.weights, headers: live.headers.map((h) => h.name), ...(headerSlot ? { headerSlot } : {}) };
}

/** The weight the route serves `slot`. */
function servedTo(ctx: Ctx, slot: Slot): number {
  return servedBy(ctx).weights[slot] ?? 0;
}

export function routeCanary(ctx: Ctx): RouteCanary | undefined {
  const { ms, total } = ctx;
  if (!ms.spec.traffic?.gateway) return undefined;
  const steps = ms.spec.strategy.canary?.steps ?? [];
  const active = ctx.decision.activeSlot;
  const cand = otherSlot(active);
  const candObs = () => candidateOf(ctx);
  const candReady = () => candObs()?.readyReplicas ?? 0;
  const explicit = (i: number) => scaleAt(steps, i) !== undefined;
  const target = (i: number) => (i >= steps.length ? total : candidateTarget(total, steps, i));
  const routeAt = (i: number): RoutePlan => ({ stable: active, weight: weightAt(steps, i), headers: headersAt(steps, i) });
  // Ready pods, and (where known) their addresses published to the gateway: a weight moved to a
  // pod that is Ready but not yet in its Service's EndpointSlice meets no backend.
  const podsReady = (i: number) => {
    const o = candObs();
    return !!o && o.settled && readyToStay(o) >= target(i) && o.replicas >= target(i) && (o.publishedReady ?? Infinity) >= target(i);
  };
  // `<name>` selects the stable slot alone, so until the flip that slot keeps T - maxUnavailable
  // pods whatever the weight (and what the live route still sends it); the candidate has the pods
  // its weight asks beside them, above maxSurge if need be: the surge cap is the replica-weight
  // canary's, and giving it a stable pod would take it from `<name>`.
  const sizes = (i: number): Split => {
    const share = Math.max(stableShare(total, weightAt(steps, i)), stableShare(total, servedTo(ctx, cand)));
    return { stable: Math.max(0, Math.min(total, Math.max(share, ctx.floor))), candidate: target(i) };
  };
  const route = (i: number, held = false): RoutePlan => {
    const want = routeAt(i);
    if ((podsReady(i) && !held) || (ctx.route && routeSays(ctx.route, want))) return want;
    // Not ready for it yet: the live route stays, never above the step's weight, and never
    // sending anything to a slot that is not this rollout's candidate.
    const live = ctx.route;
    const liveHeaders = live?.headers.filter((h) => h.slot === cand) ?? [];
    return { stable: active, weight: Math.min(live?.weights[cand] ?? 0, want.weight), headers: liveHeaders.map(({ slot: _, ...h }) => h) };
  };
  /** Pods Ready for step i whose addresses the candidate's Service does not publish yet: said, since the step waits on it. */
  const unpublished = (i: number) => {
    const published = candObs()?.publishedReady;
    return candReady() >= target(i) && published !== undefined && published < target(i)
      ? `waiting for the Service ${ms.metadata.name}-${cand} to publish its Ready pods (${published} of ${target(i)} in its EndpointSlices)` : undefined;
  };
  const waiting = (i: number) => {
    if (!podsReady(i)) return unpublished(i);
    const live = ctx.route;
    if (!live) return `waiting for the HTTPRoute ${ms.metadata.name} to be created`;
    if (!routeSays(live, routeAt(i))) return `waiting for the HTTPRoute ${ms.metadata.name} to be updated`;
    return live.acceptance.state === 'Accepted' ? undefined : `waiting for the parents to accept the HTTPRoute ${ms.metadata.name}: ${live.acceptance.message}`;
  };
  const blocker = (i: number) => {
    if (!podsReady(i)) return unpublished(i) ?? `its candidate has ${candReady()} of the ${target(i)} Ready pods the step asks`;
    const onRoute = waiting(i);
    if (onRoute) return onRoute;
    const stableNow = ctx.observed[active]?.currentReplicas ?? 0;
    if (stableNow > sizes(i).stable) return `the stable slot still has ${stableNow} pods, ${sizes(i).stable} at this step`;
    const candNow = candObs()?.currentReplicas ?? 0;
    return candNow > target(i) ? `the candidate still has ${candNow} pods, ${target(i)} at this step` : undefined;
  };
  return {
    target,
    routeAt,
    sizes,
    route,
    // And both slots are down to their sizes: the stable one to its share, the candidate to what the step asks.
    reached: (i) => blocker(i) === undefined,
    served: () => servedTo(ctx, cand),
    waiting,
    blocker,
  };
}

// After every decision, with a route.

/** Since when the route has waited for its parents: from the last status, or now. Undefined when it is live. */
function pendingSince(ctx: Ctx, route: RoutePlan): string | undefined {
  return routeLive(ctx.route, route) ? undefined : ctx.prev.traffic?.pendingSince ?? ctx.now.toISOString();
}

/**
 * Why the rollout must abort: the route a step asks has waited for its parents longer than the
 * progress deadline (counted from the later of the step's start and the wait's), with what the
 * parents said; undefined while there is time.
 */
export function routeOverdue(ctx: Ctx, route: RoutePlan): string | undefined {
  const since = pendingSince(ctx, route);
  if (!since) return undefined;
  const started = Math.max(new Date(since).getTime(), ctx.rollout.stepStartedAt ? new Date(ctx.rollout.stepStartedAt).getTime() : 0);
  const deadline = ctx.ms.spec.strategy.progressDeadlineSeconds;
  if (ctx.now.getTime() - started <= deadline * 1000) {
    wakeIn(ctx.decision, started + deadline * 1000 - ctx.now.getTime() + 1000);
    return undefined;
  }
  const said = ctx.route ? ctx.route.acceptance.message || 'the route has no parents' : 'the route was never created';
  return `the HTTPRoute ${ctx.ms.metadata.name} was not accepted within ${deadline}s: ${said}`;
}

/**
 * The route outside a canary step, as `<name>` would serve: all of it to the slot `<name>` selects
 * when it selects one; while both serve (an abort or an undo, the stable slot not whole yet), by
 * their Ready pods (published to the gateway), the slot being left never getting more than the route gives it now. So a
 * revision left behind stops serving once the stable slot can carry the load, and the stable slot
 * never gets traffic before it has pods for it.
 */
function settledRoute(ctx: Ctx, d: Decision, served: Served): RoutePlan {
  if (d.plan.serviceSlot) return { stable: d.plan.serviceSlot, weight: 0, headers: [] };
  const stable = d.activeSlot;
  const left = otherSlot(stable);
  // Ready pods whose addresses the slot's Service publishes (where known): what the gateway can reach.
  const ready = (slot: Slot) => Math.min(ctx.observed[slot]?.servingReplicas ?? 0, ctx.observed[slot]?.publishedReady ?? Infinity);
  const all = ready(stable) + ready(left);
  const byPods = all > 0 ? Math.round((100 * ready(left)) / all) : 0;
  return { stable, weight: Math.min(byPods, served.weights[left] ?? 0), headers: [] };
}

/**
 * Fills in the route of a decision that set none (the stable slot, or the slot `<name>` serves,
 * takes everything); keeps the pods of any slot the live route still sends traffic to until the
 * route that stops it is accepted (so an abort or an undo moves the traffic back before a pod
 * goes); and reports the route in status.traffic.
 */
export function finishRoute(ctx: Ctx, d: Decision): void {
  if (!ctx.ms.spec.traffic?.gateway) return;
  const served = servedBy(ctx);
  const route = (d.plan.route ??= settledRoute(ctx, d, served));
  const live = ctx.route;
  if (!routeLive(live, route)) {
    for (const slot of SLOTS) {
      const p = d.plan.slots[slot];
      const have = ctx.observed[slot]?.replicas ?? 0;
      const sends = (served.weights[slot] ?? 0) > 0 || (served.headers.length > 0 && served.headerSlot === slot);
      if (p && p.replicas < have && sends) d.plan.slots[slot] = { ...p, replicas: have };
    }
  }
  // Whatever a rollout under way waits for, a route its parents have not taken yet is said too
  // (an aborted one keeps its reason as it was: status.traffic says what the route waits for).
  const r = d.rollout;
  if (r?.message && !r.abortedRevision && !routeLive(live, route) && !r.message.includes('HTTPRoute')) {
    r.message = `${r.message}; ${!live ? `waiting for the HTTPRoute ${ctx.ms.metadata.name} to be created`
      : !routeSays(live, route) ? `waiting for the HTTPRoute ${ctx.ms.metadata.name} to be updated`
      : `waiting for the parents to accept the HTTPRoute ${ctx.ms.metadata.name}: ${live.acceptance.message || 'the route has no parents'}`}`;
  }
  const since = pendingSince(ctx, route);
  const accepted = !live ? 'Unknown' : live.acceptance.state === 'Accepted' ? 'True' : live.acceptance.state === 'Refused' ? 'False' : 'Unknown';
  const everServed = Object.keys(served.weights).length > 0;
  d.traffic = {
    route: ctx.ms.metadata.name,
    ...(live ? { weights: { ...live.weights } } : {}),
    ...(live && live.headers.length > 0 ? { headerRoutes: live.headers.map((h) => h.name) } : {}),
    ...(everServed ? { acceptedWeights: { ...served.weights } } : {}),
    ...(served.headers.length > 0 ? { acceptedHeaderRoutes: [...served.headers] } : {}),
    accepted,
    message: live ? live.acceptance.message || 'the route has no parents' : 'the route is not created yet',
    ...(since ? { pendingSince: since } : {}),
  } satisfies TrafficStatus;
}

/** Whether the Microservice asks for a route. */
export const wantsRoute = (ms: Microservice) => !!ms.spec.traffic?.gateway;
