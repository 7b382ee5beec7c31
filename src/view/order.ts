// The overview's order, shared by the page (bundled for the browser: no imports but types) and tests.
import type { Attention, Summary } from './microservice.js';

const ATTENTION_RANK: Record<Attention, number> = { stalled: 0, degraded: 1, waiting: 2 };

/** What needs a person first (stalled, degraded, waiting), then what is moving, then the rest; by namespace and name within each. */
export function byUrgency(a: Summary, b: Summary): number {
  const rank = (s: Summary) => (s.attention ? ATTENTION_RANK[s.attention] : s.phase === 'Progressing' || s.phase === 'Pending' ? 3 : 4);
  return rank(a) - rank(b) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name);
}
