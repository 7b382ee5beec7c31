// Does an observed object already hold everything we would apply? Then applying would change
// nothing, and the reconcile sends no write. Fields others set (defaults, status, other
// managers' fields) are ignored: only what we render is compared.
import type { KubeObject } from '../kube/object.js';

const SUFFIX: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** The value of a Kubernetes quantity ("500m", "1Gi", 2), or undefined when it is not one. */
export function quantityValue(q: unknown): number | undefined {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string') return undefined;
  const m = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:([eE][-+]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(q);
  if (!m) return undefined;
  const base = Number(m[1]);
  return m[2] ? Number(`${m[1]}${m[2]}`) : base * (SUFFIX[m[3] ?? ''] ?? 1);
}

const isEmpty = (v: unknown) =>
  v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);

/** Maps whose values the API server stores as canonical quantities (a container's resources). */
const QUANTITY_MAPS = new Set(['requests', 'limits']);

/** True when every field of `want` is present in `have` with an equal value. */
export function holds(have: unknown, want: unknown, quantities = false): boolean {
  if (want === undefined) return true; // not rendered: not ours to compare
  if (isEmpty(want)) return isEmpty(have);
  // The API server leaves out '', 0 and false (Go's omitempty), as it does empty lists and maps.
  if (have === undefined && (want === '' || want === 0 || want === false)) return true;
  if (Array.isArray(want)) {
    return Array.isArray(have) && have.length === want.length && want.every((w, i) => holds(have[i], w, quantities));
  }
  if (typeof want === 'object' && want !== null) {
    if (typeof have !== 'object' || have === null || Array.isArray(have)) return false;
    const h = have as Record<string, unknown>;
    return Object.entries(want as Record<string, unknown>).every(([k, w]) => holds(h[k], w, quantities || QUANTITY_MAPS.has(k)));
  }
  if (have === want) return true;
  if (!quantities) return false;
  // The API server stores quantities in canonical form ("0.5" becomes "500m"; 1 becomes "1").
  const a = quantityValue(have);
  const b = quantityValue(want);
  return a !== undefined && b !== undefined && Math.abs(a - b) <= Math.abs(b) * 1e-12;
}

/** The observed object needs no apply: its labels, annotations, owner and content hold the desired ones. */
export function upToDate(observed: KubeObject, desired: KubeObject): boolean {
  const { metadata: dm, apiVersion: _a, kind: _k, ...body } = desired;
  const om = observed.metadata;
  return holds(om.labels, dm.labels) && holds(om.annotations, dm.annotations)
    && holds(om.ownerReferences, dm.ownerReferences) && holds(observed, body);
}
