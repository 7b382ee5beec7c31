// The JSONPath subset a web metric takes (the schema checks its form): $, .key, [n], ['key'].
import type { Sample } from './types.js';

export function pick(doc: unknown, path: string): Sample {
  let node: unknown = doc;
  const steps = [...path.slice(1).matchAll(/\.([A-Za-z_][-A-Za-z0-9_]*)|\[([0-9]+)\]|\['([^']*)'\]/g)];
  for (const m of steps) {
    const key = m[1] ?? m[3];
    if (node === null || typeof node !== 'object') return { values: [] };
    node = key !== undefined ? (node as Record<string, unknown>)[key] : (node as unknown[])[Number(m[2])];
  }
  if (node === undefined || node === null) return { values: [] };
  if (typeof node === 'number' || typeof node === 'string' || typeof node === 'boolean') return { values: [node] };
  return { error: `${path} is ${Array.isArray(node) ? 'an array' : 'an object'}, not a value` };
}
