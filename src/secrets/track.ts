// Secrets in the revision (opt-in): each Secret the pod references is copied, as read, into an
// immutable Secret `<name>-secret-<hash>` the Microservice owns, and the pod template points at the
// copy. The copy's name is the hash of its content, so the revision hash changes when the content
// does (a new revision, rolled out like an image), and a slot rebuilt from a kept revision reads
// that revision's content (the stable slot, an abort, undo). Only the hash is ever shown: the
// values go from the source Secret into the copy and nowhere else.
import type { Microservice, MicroserviceStatus } from '../api/schema.js';
import { contentHash } from '../api/names.js';
import type { KubeObject } from '../kube/object.js';
import { ownedMeta } from '../render/meta.js';
import { renameInSpec, secretsInSpec } from './refs.js';

/** A Secret's content as read from the API server (data base64, as stored). */
export interface SecretContent {
  type?: string;
  data?: Record<string, string>;
}

/**
 * The install's Secret reader: the content of a Secret in the Microservice's namespace, undefined
 * when there is none. Unset: the install does not track Secrets (no --track-secrets) and reads none.
 */
export type SecretLookup = (name: string) => SecretContent | undefined;

/** Names the source a copy was made from (a name, never a value). */
export const ANNOTATION_SECRET_SOURCE = 'coxswain.dev/secret-source';

export type SecretsStatus = NonNullable<MicroserviceStatus['secrets']>;

export interface Tracked {
  /** The Microservice whose pod reads the copies (unchanged when nothing is tracked). */
  ms: Microservice;
  /** The copies the spec's revision needs, to be written before any slot runs it. */
  copies: KubeObject[];
  /** What status says about it: only when the spec asks for tracking and references a Secret. */
  status?: SecretsStatus;
}

export const secretCopyName = (name: string, source: string, content: SecretContent) =>
  `${name}-secret-${contentHash({ source, type: content.type ?? 'Opaque', data: content.data ?? {} })}`;

/** The immutable copy of `source` that a revision's pods read. */
export function renderSecretCopy(ms: Microservice, source: string, content: SecretContent): KubeObject {
  const meta = ownedMeta(ms, secretCopyName(ms.metadata.name, source, content));
  meta.annotations = { [ANNOTATION_SECRET_SOURCE]: source };
  return { apiVersion: 'v1', kind: 'Secret', metadata: meta, immutable: true, type: content.type ?? 'Opaque', data: content.data ?? {} };
}

/**
 * The Microservice as its revision sees Secrets. Without spec.trackSecrets it is as written.
 * With it, and an install that tracks (`lookup` set), each referenced Secret that exists is
 * replaced by its copy; a missing one is left as written (its pods wait for it, as they would
 * today) and named in status. With it and an install that does not track, status says so.
 */
export function trackSecrets(ms: Microservice, lookup: SecretLookup | undefined): Tracked {
  const sources = ms.spec.trackSecrets ? secretsInSpec(ms.spec) : [];
  if (sources.length === 0) return { ms, copies: [] };
  if (!lookup) {
    return { ms, copies: [], status: { tracked: false, message: `spec.trackSecrets is set but this install does not track Secrets (the operator runs without --track-secrets): a change to ${sources.join(', ')} does not roll out` } };
  }
  const copies = new Map<string, KubeObject>();
  const missing: string[] = [];
  for (const source of sources) {
    const content = lookup(source);
    if (content) copies.set(source, renderSecretCopy(ms, source, content));
    else missing.push(source);
  }
  const spec = renameInSpec(ms.spec, (n) => copies.get(n)?.metadata.name ?? n);
  const tracked = [...copies].map(([source, copy]) => `${source} (${copy.metadata.name})`);
  const message = [
    tracked.length ? `tracked in the revision: ${tracked.join(', ')}` : '',
    missing.length ? `not found, referenced as written until it exists: ${missing.join(', ')}` : '',
  ].filter(Boolean).join('; ');
  return { ms: { ...ms, spec }, copies: [...copies.values()], status: { tracked: missing.length === 0, message } };
}
