// The building blocks the API's schemas share: CEL rules with their TypeScript twins, and the
// small scalar types (durations, DNS labels) several schemas use. Kept apart from schema.ts so
// that the schemas of other kinds (src/analysis/api.ts) can use them without an import cycle.
import { z } from 'zod';

/**
 * A CEL rule for the API server, with `holds`, its twin in TypeScript over the parsed value, so
 * an object that reached the operator without the rule (an older CRD, a skipped webhook) still
 * gets the same message on the same field, as a Stalled condition, before anything is rendered.
 */
export type Rule<V> = { rule: string; message: string; fieldPath?: string; holds: (value: V) => boolean };

/** Attaches CEL rules (x-kubernetes-validations) to a schema node, and their twins as refinements. */
export function cel<T extends z.ZodType>(schema: T, ...rules: Array<Rule<z.output<T>>>): T {
  const checked = rules.reduce<z.ZodType>((acc, { message, fieldPath, holds }) =>
    acc.refine((v) => holds(v as z.output<T>), { message, path: fieldPath ? fieldPath.slice(1).split('.') : [] }), schema);
  return checked.meta({ 'x-kubernetes-validations': rules.map(({ holds: _, ...r }) => r) }) as T;
}

export const unique = (xs: unknown[]) => new Set(xs).size === xs.length;
export const Duration = z.string().regex(/^([0-9]+(ms|s|m|h))+$/, 'must be a duration such as 30s, 5m or 1h30m');
export const Name = z.string().min(1).max(63).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a lowercase DNS label');

/**
 * A core/v1 type passed through to the pod template; the API server validates it there. `keys`
 * declares the fields its list is merged by (server-side apply keys env by name), so CEL rules
 * can see them; every other field stays open.
 */
export const passThrough = <S extends z.ZodRawShape>(description: string, keys = {} as S) =>
  z.looseObject(keys).describe(description).meta({ 'x-kubernetes-preserve-unknown-fields': true });

/**
 * No two items share `key`. The rendered pod template and Service hold these lists as map lists
 * keyed by that field; server-side apply cannot build a patch from duplicates (HTTP 500), so the
 * CRD refuses them instead. CEL's cost grows with the list's maxItems and the key's maxLength.
 */
export function uniqueBy<K extends string>(key: K, message: string): Rule<Array<Record<K, unknown>>> {
  return { rule: `self.all(x, self.exists_one(y, y.${key} == x.${key}))`, message, holds: (xs) => unique(xs.map((x) => x[key])) };
}

export const StringMap = z.record(z.string(), z.string());
