// The shared vocabulary: object names, labels, annotations, slots and content hashes.
import { createHash } from 'node:crypto';
import type { Slot } from './schema.js';

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_SLOT = 'coxswain.dev/slot';
export const LABEL_REVISION = 'coxswain.dev/revision';
/** On pods only, patched as the release moves on (src/rollout/roles.ts): stable, canary or preview. */
export const LABEL_ROLE = 'coxswain.dev/role';
export const MANAGER = 'coxswain';
/** `kubectl coxswain` asks for an action by setting this annotation to `<action>[=<arg>]:<id>`. */
export const ANNOTATION_ACTION = 'coxswain.dev/action';
/** On a slot's pod template: the restart action's time, which restarts its pods without a new revision. */
export const ANNOTATION_RESTARTED_AT = 'coxswain.dev/restartedAt';
/**
 * Written by `kubectl coxswain eject` (value: the plain Deployment it hands the service to): from
 * then on the operator writes nothing for this Microservice but a `Stalled`/`Ejecting` status,
 * which tells the plugin it may take the Service over without the operator applying it back.
 */
export const ANNOTATION_EJECT = 'coxswain.dev/eject';

/**
 * An action asked for: `promote`, `undo` with `arg` the revision (content hash) to go back to,
 * and `id`, unique per request, under which the operator answers in status.lastAction.
 */
export interface ActionRequest {
  action: string;
  arg?: string;
  /** Absent when the annotation was written by hand without one: each such write is a new request. */
  id?: string;
}

/**
 * The action annotation's value: `<action>[=<arg>]:<id>`, e.g. `promote:lx2k9-3f00aa` or
 * `undo=4b1c0d9e2a:lx2k9-3f00ab`. Neither action nor arg holds `=` or `:`; the id is what
 * follows the first `:`. Only an empty value is no request; anything else parses, and an
 * unknown action is the operator's to refuse.
 */
export function parseAction(value: string | undefined): ActionRequest | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  const colon = text.indexOf(':');
  const head = colon < 0 ? text : text.slice(0, colon);
  const id = colon < 0 ? '' : text.slice(colon + 1).trim();
  const eq = head.indexOf('=');
  const action = (eq < 0 ? head : head.slice(0, eq)).trim();
  const arg = eq < 0 ? '' : head.slice(eq + 1).trim();
  return { action, ...(arg ? { arg } : {}), ...(id ? { id } : {}) };
}

/** The annotation value for a request: the inverse of parseAction. */
export function formatAction({ action, arg, id }: ActionRequest): string {
  return `${action}${arg ? `=${arg}` : ''}${id ? `:${id}` : ''}`;
}
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
