// Where a pod names a Secret: env secretKeyRef, envFrom secretRef, secret and projected volumes, in
// every container (main, init, sidecar). One walk serves both shapes that hold containers: the
// Microservice's spec (to point it at the revision's copies) and a rendered pod template (to tell
// which copies a kept revision still needs). imagePullSecrets are not content of the revision:
// the kubelet reads them to pull, the application never sees them.
import type { MicroserviceSpec } from '../api/schema.js';

type Obj = Record<string, unknown>;
/** The new name for a referenced Secret (identity to only collect). */
export type Rename = (name: string) => string;

const list = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === 'object' ? (v as Obj) : undefined);

/** A container (anything with env and envFrom) with its Secret references renamed. */
function container<T extends Obj>(c: T, rename: Rename): T {
  const out: Obj = { ...c };
  if (Array.isArray(c.env)) {
    out.env = list(c.env).map((e) => {
      const ref = obj(obj(e.valueFrom)?.secretKeyRef);
      return typeof ref?.name === 'string' ? { ...e, valueFrom: { ...obj(e.valueFrom), secretKeyRef: { ...ref, name: rename(ref.name) } } } : e;
    });
  }
  if (Array.isArray(c.envFrom)) {
    out.envFrom = list(c.envFrom).map((e) => {
      const ref = obj(e.secretRef);
      return typeof ref?.name === 'string' ? { ...e, secretRef: { ...ref, name: rename(ref.name) } } : e;
    });
  }
  return out as T;
}

/** Pod volumes with their Secret sources renamed (a secret volume, a projected volume's secret sources). */
function volumes<T extends Obj>(vs: T[], rename: Rename): T[] {
  return vs.map((v) => {
    const secret = obj(v.secret);
    if (typeof secret?.secretName === 'string') return { ...v, secret: { ...secret, secretName: rename(secret.secretName) } };
    const projected = obj(v.projected);
    if (!projected || !Array.isArray(projected.sources)) return v;
    const sources = list(projected.sources).map((s) => {
      const ref = obj(s.secret);
      return typeof ref?.name === 'string' ? { ...s, secret: { ...ref, name: rename(ref.name) } } : s;
    });
    return { ...v, projected: { ...projected, sources } };
  });
}

/** The spec with every Secret reference renamed; the main container's env lives on the spec itself. */
export function renameInSpec(spec: MicroserviceSpec, rename: Rename): MicroserviceSpec {
  const main = container({ env: spec.env, envFrom: spec.envFrom } as Obj, rename);
  return {
    ...spec,
    ...(spec.env ? { env: main.env as MicroserviceSpec['env'] } : {}),
    ...(spec.envFrom ? { envFrom: main.envFrom as MicroserviceSpec['envFrom'] } : {}),
    ...(Array.isArray(spec.initContainers) ? { initContainers: spec.initContainers.map((c) => container(c, rename)) } : {}),
    ...(Array.isArray(spec.sidecars) ? { sidecars: spec.sidecars.map((c) => container(c, rename)) } : {}),
    ...(Array.isArray(spec.pod?.volumes) ? { pod: { ...spec.pod, volumes: volumes(spec.pod.volumes, rename) } } : {}),
  };
}

/** The Secrets the spec references, sorted, each once. */
export function secretsInSpec(spec: MicroserviceSpec): string[] {
  const names = new Set<string>();
  renameInSpec(spec, (n) => (names.add(n), n));
  return [...names].sort();
}

/** The Secrets a rendered pod template (or a Deployment's) references, each once. */
export function secretsInTemplate(template: unknown): Set<string> {
  const spec = obj(obj(template)?.spec) ?? {};
  const names = new Set<string>();
  const collect: Rename = (n) => (names.add(n), n);
  for (const c of [...list(spec.containers), ...list(spec.initContainers)]) container(c, collect);
  volumes(list(spec.volumes), collect);
  return names;
}
