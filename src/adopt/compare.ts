// Field-by-field comparison of two JSON values, naming each field where they differ: how
// `kubectl coxswain adopt` finds what its Microservice cannot say, by rendering it and comparing
// the result with the live pod template.
import { stableJSON } from '../api/names.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A short rendering of a value for a message. */
export function brief(v: unknown): string {
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Lists whose items all have a distinct `name`: compared by name, as server-side apply merges them. */
function byName(list: unknown[]): Map<string, unknown> | undefined {
  const names = list.map((x) => (isObject(x) && typeof x.name === 'string' ? x.name : undefined));
  if (names.some((n) => n === undefined) || new Set(names).size !== names.length) return undefined;
  return new Map(list.map((x, i) => [names[i]!, x]));
}

/**
 * Where `want` (the original) and `got` (what the Microservice renders) differ, one line per
 * field, most specific path first: `spec.containers[name=web].stdin: true cannot be said`.
 */
export function differences(want: unknown, got: unknown, path: string): string[] {
  if (stableJSON(want) === stableJSON(got)) return [];
  if (isObject(want) && isObject(got)) {
    const keys = [...new Set([...Object.keys(want), ...Object.keys(got)])];
    return keys.flatMap((k) => differences(want[k], got[k], `${path}.${k}`));
  }
  if (Array.isArray(want) && Array.isArray(got)) {
    const w = byName(want);
    const g = byName(got);
    if (w && g) {
      const inner = [...new Set([...w.keys(), ...g.keys()])].flatMap((n) => differences(w.get(n), g.get(n), `${path}[name=${n}]`));
      if (inner.length > 0) return inner;
      return [`${path}: the order ${[...w.keys()].join(', ')} becomes ${[...g.keys()].join(', ')}`];
    }
    if (want.length === got.length) return want.flatMap((x, i) => differences(x, got[i], `${path}[${i}]`));
  }
  if (want === undefined) return [`${path}: would be added as ${brief(got)}`];
  if (got === undefined) return [`${path}: ${brief(want)} cannot be said in a Microservice`];
  return [`${path}: ${brief(want)} would become ${brief(got)}`];
}
