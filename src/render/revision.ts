// A revision as kept: the rendered pod template, its config and its ports, stored as an apps/v1
// ControllerRevision `<name>-<revision>`, so a slot can be rebuilt exactly from its revision
// whatever the spec says now, and `undo` can go back to any kept one.
import type { Microservice, MicroserviceSpec } from '../api/schema.js';
import { contentHash, LABEL_REVISION, revisionName } from '../api/names.js';
import type { KubeObject } from '../kube/object.js';
import { ownedMeta } from './meta.js';
import { configMapNameFor, podTemplate, type PodTemplate } from './workload.js';

export type Port = NonNullable<MicroserviceSpec['ports']>[number];

export interface Revision {
  revision: string;
  template: PodTemplate;
  image: string;
  config?: { name: string; data: Record<string, string> };
  ports: Port[];
}

/** The revision the current spec makes. */
export function revisionOfSpec(ms: Microservice): Revision {
  const template = podTemplate(ms);
  const cm = configMapNameFor(ms);
  return {
    revision: contentHash(template),
    template,
    image: ms.spec.image,
    ...(cm && ms.spec.config ? { config: { name: cm, data: ms.spec.config.data } } : {}),
    ports: ms.spec.ports ?? [],
  };
}

/** The ControllerRevision that keeps `rev`, numbered `sequence` (the history's order). */
export function renderControllerRevision(ms: Microservice, rev: Revision, sequence: number): KubeObject {
  const meta = ownedMeta(ms, revisionName(ms.metadata.name, rev.revision));
  meta.labels = { ...meta.labels, [LABEL_REVISION]: rev.revision };
  const { revision: _, ...data } = rev;
  return { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: meta, revision: sequence, data };
}

/** A kept revision read back, or undefined when the object is not one of ours. */
export function revisionFrom(obj: KubeObject): Revision | undefined {
  const revision = obj.metadata.labels?.[LABEL_REVISION];
  const data = obj.data as Partial<Omit<Revision, 'revision'>> | undefined;
  if (obj.kind !== 'ControllerRevision' || !revision || !data?.template || typeof data.image !== 'string') return undefined;
  return { revision, template: data.template, image: data.image, ...(data.config ? { config: data.config } : {}), ports: data.ports ?? [] };
}

export const sequenceOf = (obj: KubeObject): number => (typeof obj.revision === 'number' ? obj.revision : 0);

/**
 * The history after this reconcile: the spec's revision kept (a new ControllerRevision numbered
 * after the newest when it has none), the oldest dropped beyond `limit`, never one in use.
 */
export function planHistory(ms: Microservice, existing: readonly KubeObject[], inUse: ReadonlySet<string>, limit: number): { create?: KubeObject; drop: KubeObject[]; kept: Map<string, Revision> } {
  const spec = revisionOfSpec(ms);
  const ours = existing.map((o) => ({ o, rev: revisionFrom(o) })).filter((x) => x.rev !== undefined).sort((a, b) => sequenceOf(a.o) - sequenceOf(b.o));
  const has = ours.some((x) => x.rev!.revision === spec.revision);
  const create = has ? undefined : renderControllerRevision(ms, spec, Math.max(0, ...ours.map((x) => sequenceOf(x.o))) + 1);
  const all = [...ours.map((x) => x.rev!.revision), ...(has ? [] : [spec.revision])];
  let excess = all.length - Math.max(limit, 1);
  const drop: KubeObject[] = [];
  for (const x of ours) {
    if (excess <= 0) break;
    if (inUse.has(x.rev!.revision) || x.rev!.revision === spec.revision) continue;
    drop.push(x.o);
    excess--;
  }
  const dropped = new Set(drop);
  const kept = new Map(ours.filter((x) => !dropped.has(x.o)).map((x) => [x.rev!.revision, x.rev!]));
  kept.set(spec.revision, spec);
  return { ...(create ? { create } : {}), drop, kept };
}
