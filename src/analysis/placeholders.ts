// Placeholders filled into queries, URLs and bodies, each escaped for where it lands, so a value
// can never change the query's meaning (PromQL), the URL's structure, or the JSON's.
import { PLACEHOLDERS, type Placeholder } from './api.js';
import type { Vars } from './types.js';

export type Escape = (value: string) => string;

/** Inside a double-quoted PromQL string, the usual form of a label matcher. */
export const promql: Escape = (v) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
/** A URL path segment or query value. */
export const url: Escape = (v) => encodeURIComponent(v);
/** Inside a JSON string. */
export const json: Escape = (v) => JSON.stringify(v).slice(1, -1);

const PATTERN = new RegExp(`\\{\\{(${PLACEHOLDERS.join('|')})\\}\\}`, 'g');

export function expand(text: string, vars: Vars, escape: Escape): string {
  return text.replace(PATTERN, (_m, name: Placeholder) => escape(vars[name]));
}
