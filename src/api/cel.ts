// CEL rules for the API server, each with its twin in TypeScript, so the CRD and the operator's own
// validation say the same thing on the same field. Shared by every schema file of src/api.
import type { z } from 'zod';

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
