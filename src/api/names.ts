// The shared vocabulary: object names, labels, annotations, slots and content hashes.
import { createHash } from 'node:crypto';
import type { Slot } from './schema.js';

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_SLOT = 'coxswain.dev/slot';
export const LABEL_REVISION = 'coxswain.dev/revision';
export const MANAGER = 'coxswain';
/** `kubectl coxswain` asks for an action by setting this annotation to `<action>:<id>`. */
export const ANNOTATION_ACTION = 'coxswain.dev/action';
/**
 * On every object Coxswain applies: a hash of what it rendered. Comparing fields finds drift, but
 * not a field Coxswain stopped rendering (spec.paused after a resume, a removed annotation); the
 * hash changes then, and the apply removes the field, which server-side apply does for its owner.
 */
export const ANNOTATION_APPLIED = 'coxswain.dev/applied';
export const SLOTS: readonly Slot[] = ['blue', 'green'];

/** Labels that select every pod and object of one Microservice. */
export function baseLabels(name: string): Record<string, string> {
  return { [LABEL_NAME]: name, [LABEL_MANAGED_BY]: MANAGER };
}

export function slotLabels(name: string, slot: Slot): Record<string, string> {
  return { ...baseLabels(name), [LABEL_SLOT]: slot };
}

/** The label selector string published in status.selector for the /scale subresource. */
export function selectorString(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
}

export const deploymentName = (name: string, slot: Slot) => `${name}-${slot}`;
export const previewServiceName = (name: string) => `${name}-preview`;
export const configMapName = (name: string, hash: string) => `${name}-config-${hash}`;
/** The ControllerRevision that keeps a revision. */
export const revisionName = (name: string, revision: string) => `${name}-${revision}`;

export function otherSlot(slot: Slot): Slot {
  return slot === 'blue' ? 'green' : 'blue';
}

/** JSON with object keys sorted, so equal content always hashes the same. */
export function stableJSON(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJSON).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJSON(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A short content hash, safe in names and label values. */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(stableJSON(value)).digest('hex').slice(0, 10);
}
