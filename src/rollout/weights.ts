// Canary arithmetic: how a total splits between the stable and candidate slots at a weight.
import type { MicroserviceSpec } from '../api/schema.js';

type IntOrPercent = number | string;

/** A count or percentage of total: surge rounds up, unavailability down, as Deployments do. */
export function resolveIntOrPercent(v: IntOrPercent, total: number, round: (x: number) => number): number {
  if (typeof v === 'number') return v;
  return round((total * Number(v.replace('%', ''))) / 100);
}

/** Candidate pods for weight w of total: ceil(total*w/100), at least 1 when w > 0. */
export function candidateFor(total: number, weight: number): number {
  if (weight <= 0 || total <= 0) return 0;
  return Math.min(total, Math.max(1, Math.ceil((total * weight) / 100)));
}

/** Why replica weights cannot serve `weight` of `total` closely, or undefined when they can. */
export function inexactWeight(total: number, weight: number): string | undefined {
  if (weight <= 0 || weight >= 100 || total <= 0) return undefined;
  const pods = (total * weight) / 100;
  if (pods >= 1 && Math.ceil(pods) < total) return undefined;
  return `${total} replica(s) cannot carry ${weight}% by replica weights; set spec.traffic.gateway for exact weights`;
}

export interface Split {
  stable: number;
  candidate: number;
}

/**
 * The slot sizes for a weight, given how many candidate pods are Ready now. The stable slot
 * shrinks only as candidate pods become Ready, so Ready pods never drop below
 * total - maxUnavailable; and the sum never exceeds total + maxSurge.
 */
export type Limits = { maxSurge: IntOrPercent; maxUnavailable: IntOrPercent };

/** maxSurge and maxUnavailable resolved at a total, as a Deployment resolves them. */
export function resolveLimits(limits: Limits, total: number): { surge: number; unavailable: number } {
  const surge = resolveIntOrPercent(limits.maxSurge, total, Math.ceil);
  // Both 0 after rounding (maxSurge 0, maxUnavailable 10% of 3) and nothing could move: as a
  // Deployment does, let one pod be unavailable.
  return { surge, unavailable: Math.max(resolveIntOrPercent(limits.maxUnavailable, total, Math.floor), surge === 0 ? 1 : 0) };
}

export function split(total: number, weight: number, candidateReady: number, limits: Limits): Split {
  const { surge, unavailable } = resolveLimits(limits, total);
  const target = candidateFor(total, weight);
  // Below 100% the stable slot keeps a pod (one replica at 10%: its pod beside the candidate's),
  // if the surge allows it: a step never puts everything on an unpromoted candidate.
  const stableTarget = weight < 100 && total > 0 && surge > 0 ? Math.max(1, total - target) : total - target;
  const stable = Math.min(total, Math.max(stableTarget, total - unavailable - Math.min(candidateReady, target)));
  const candidate = Math.max(0, Math.min(target, total + surge - stable));
  return { stable, candidate };
}

/** "1h30m" -> milliseconds. The schema has checked the form already. */
export function durationMs(d: string): number {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const m of d.matchAll(/([0-9]+)(ms|s|m|h)/g)) total += Number(m[1]) * (unit[m[2]!] ?? 0);
  return total;
}
