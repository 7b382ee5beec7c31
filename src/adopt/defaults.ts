// The API server's defaults, taken out of a pod template as read back from the cluster, so that
// what `kubectl coxswain adopt` prints says only what the chart said (the API server puts the same
// defaults back when the slot Deployment is applied), and so that a chart's template and the
// rendered one compare equal whether or not either went through the API server.

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Removes `key` from `obj` when it holds `value` (or, given a test, when the test says so). */
function drop(obj: Json, key: string, value: unknown): void {
  if (!(key in obj)) return;
  const matches = typeof value === 'function' ? (value as (v: unknown) => boolean)(obj[key]) : obj[key] === value;
  if (matches) delete obj[key];
}

const isEmpty = (v: unknown) => isObject(v) && Object.keys(v).length === 0;

/** The pull policy Kubernetes gives an image that says none: Always for :latest or no tag, else IfNotPresent. */
export function defaultPullPolicy(image: unknown): string {
  if (typeof image !== 'string') return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const last = image.slice(image.lastIndexOf('/') + 1);
  const tag = last.includes(':') ? last.slice(last.indexOf(':') + 1) : undefined;
  return tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function probe(p: unknown): void {
  if (!isObject(p)) return;
  drop(p, 'timeoutSeconds', 1);
  drop(p, 'periodSeconds', 10);
  drop(p, 'successThreshold', 1);
  drop(p, 'failureThreshold', 3);
  if (isObject(p.httpGet)) drop(p.httpGet, 'scheme', 'HTTP');
}

function handler(h: unknown): void {
  if (isObject(h) && isObject(h.httpGet)) drop(h.httpGet, 'scheme', 'HTTP');
}

function env(list: unknown): void {
  if (!Array.isArray(list)) return;
  for (const e of list) {
    if (!isObject(e) || !isObject(e.valueFrom)) continue;
    if (isObject(e.valueFrom.fieldRef)) drop(e.valueFrom.fieldRef, 'apiVersion', 'v1');
    if (isObject(e.valueFrom.resourceFieldRef)) drop(e.valueFrom.resourceFieldRef, 'divisor', (v: unknown) => v === '0' || v === 0);
  }
}

function container(c: unknown): void {
  if (!isObject(c)) return;
  drop(c, 'terminationMessagePath', '/dev/termination-log');
  drop(c, 'terminationMessagePolicy', 'File');
  drop(c, 'imagePullPolicy', defaultPullPolicy(c.image));
  drop(c, 'resources', isEmpty);
  drop(c, 'securityContext', isEmpty);
  if (Array.isArray(c.ports)) for (const p of c.ports) if (isObject(p)) drop(p, 'protocol', 'TCP');
  for (const k of ['readinessProbe', 'livenessProbe', 'startupProbe']) probe(c[k]);
  if (isObject(c.lifecycle)) { handler(c.lifecycle.postStart); handler(c.lifecycle.preStop); }
  env(c.env);
}

function volume(v: unknown): void {
  if (!isObject(v)) return;
  for (const source of ['configMap', 'secret', 'projected', 'downwardAPI']) {
    if (isObject(v[source])) drop(v[source], 'defaultMode', 420);
  }
  if (isObject(v.projected) && Array.isArray(v.projected.sources)) {
    for (const s of v.projected.sources) if (isObject(s) && isObject(s.serviceAccountToken)) drop(s.serviceAccountToken, 'expirationSeconds', 3607);
  }
  if (isObject(v.hostPath)) drop(v.hostPath, 'type', '');
}

/**
 * A copy of a pod template (metadata and spec) without the fields that hold the API server's
 * defaults. Only values equal to the default go: a field the chart set to something else stays.
 */
export function withoutDefaults<T>(template: T): T {
  const t = structuredClone(template) as Json;
  if (isObject(t.metadata)) drop(t.metadata, 'creationTimestamp', (v: unknown) => v === null || v === undefined);
  const spec = t.spec;
  if (!isObject(spec)) return t as T;
  drop(spec, 'restartPolicy', 'Always');
  drop(spec, 'dnsPolicy', 'ClusterFirst');
  drop(spec, 'schedulerName', 'default-scheduler');
  drop(spec, 'terminationGracePeriodSeconds', 30);
  drop(spec, 'securityContext', isEmpty);
  // The deprecated alias the API server copies serviceAccountName into.
  drop(spec, 'serviceAccount', (v: unknown) => v === spec.serviceAccountName);
  for (const list of ['containers', 'initContainers']) if (Array.isArray(spec[list])) for (const c of spec[list]) container(c);
  if (Array.isArray(spec.volumes)) for (const v of spec.volumes) volume(v);
  return t as T;
}
