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

export interface Split {
  stable: number;
  candidate: number;
}

/**
 * The slot sizes for a weight, given how many candidate pods are Ready now. The stable slot
 * shrinks only as candidate pods become Ready, so Ready pods never drop below
 * total - maxUnavailable; and the sum never exceeds total + maxSurge.
 */
export function split(total: number, weight: number, candidateReady: number, limits: { maxSurge: IntOrPercent; maxUnavailable: IntOrPercent }): Split {
  const surge = resolveIntOrPercent(limits.maxSurge, total, Math.ceil);
  // Both 0 after rounding (maxSurge 0, maxUnavailable 10% of 3) and nothing could move: as a
  // Deployment does, let one pod be unavailable.
  const unavailable = Math.max(resolveIntOrPercent(limits.maxUnavailable, total, Math.floor), surge === 0 ? 1 : 0);
  const target = candidateFor(total, weight);
  const stable = Math.min(total, Math.max(total - target, total - unavailable - Math.min(candidateReady, target)));
  const candidate = Math.max(0, Math.min(target, total + surge - stable));
  return { stable, candidate };
}

/** The weight in force at step i: the last setWeight at or before it (0 before any); 100 past the last step. */
export function weightAt(steps: NonNullable<MicroserviceSpec['strategy']['canary']>['steps'], i: number): number {
  if (i >= steps.length) return 100;
  let w = 0;
  for (let j = 0; j <= i; j++) {
    const s = steps[j];
    if (s?.setWeight !== undefined) w = s.setWeight;
  }
  return w;
}

/** The target split of every step at a total, for `kubectl coxswain get` and the docs. */
export function stepPlan(spec: MicroserviceSpec): Array<{ step: number; what: string; weight: number; stable: number; candidate: number }> {
  const steps = spec.strategy.canary?.steps ?? [];
  const total = spec.replicas;
  const rows = steps.map((s, i) => {
    const weight = weightAt(steps, i);
    const candidate = candidateFor(total, weight);
    const what = s.setWeight !== undefined ? `setWeight ${s.setWeight}` : s.pause?.duration ? `pause ${s.pause.duration}` : 'pause until promoted';
    return { step: i, what, weight, stable: total - candidate, candidate };
  });
  rows.push({ step: steps.length, what: 'promote', weight: 100, stable: 0, candidate: total });
  return rows;
}

/** "1h30m" -> milliseconds. The schema has checked the form already. */
export function durationMs(d: string): number {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const m of d.matchAll(/([0-9]+)(ms|s|m|h)/g)) total += Number(m[1]) * (unit[m[2]!] ?? 0);
  return total;
}
