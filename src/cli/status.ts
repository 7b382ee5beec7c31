// `kubectl coxswain status NAME... | -l SELECTOR`: the CI gate. One list, then one watch of every
// Microservice it names from the list's resourceVersion, each version judged by verdict.ts;
// one line per change, the worst code at the end. Needs only get, list and watch.
import type { MicroserviceObject } from '../api/schema.js';
import { ApiError, type KubeClient } from '../kube/client.js';
import { MICROSERVICES, resourcePath } from '../kube/resources.js';
import { describe, EXIT, isFinal, verdict, worst, type ExitCode, type Target, type Until, type Verdict } from './verdict.js';

export interface StatusOptions {
  namespace?: string;
  names: string[];
  selector?: string;
  until: Until;
  revision?: string;
  /** Milliseconds; a release still progressing then exits 4. */
  timeoutMs: number;
  watch: boolean;
  json: boolean;
  out: (line: string) => void;
}

interface Followed {
  target: Target;
  verdict?: Verdict;
  obj?: MicroserviceObject;
}

type List = { metadata: { resourceVersion: string }; items: MicroserviceObject[] };

export async function status(client: KubeClient, o: StatusOptions): Promise<ExitCode> {
  const path = resourcePath(MICROSERVICES, o.namespace);
  const query: Record<string, string> = o.selector ? { labelSelector: o.selector } : {};
  const list = await client.request<List>('GET', path, { query });
  const wanted = (obj: MicroserviceObject) => o.names.length === 0 || o.names.includes(obj.metadata.name);
  const followed = new Map<string, Followed>();
  for (const obj of list.items.filter(wanted)) followed.set(obj.metadata.name, { target: { generation: obj.metadata.generation ?? 0, ...(o.revision ? { revision: o.revision } : {}) } });
  const missing = o.names.filter((n) => !followed.has(n));
  if (missing.length > 0 || followed.size === 0) {
    o.out(missing.length > 0 ? `not found in namespace ${o.namespace}: ${missing.join(', ')}` : `no Microservice matches ${o.selector ?? 'the names given'}`);
    return EXIT.error;
  }
  const judge = (obj: MicroserviceObject | undefined, name: string) => {
    const f = followed.get(name)!;
    if (f.verdict && isFinal(f.verdict.code)) return;
    const v = verdict(obj, f.target, o.until);
    if (v.revision) f.target.revision ??= v.revision; // pinned once status has caught up
    if (!f.verdict || v.line !== f.verdict.line || v.code !== f.verdict.code) if (!o.json) o.out(v.line);
    f.verdict = v;
    if (obj) f.obj = obj;
  };
  for (const obj of list.items.filter(wanted)) judge(obj, obj.metadata.name);
  const done = () => [...followed.values()].every((f) => f.verdict && isFinal(f.verdict.code));
  if (o.watch && !done()) await watchFrom(client, path, query, list.metadata.resourceVersion, o.timeoutMs, (obj, deleted) => {
    if (!followed.has(obj.metadata.name)) return false;
    judge(deleted ? undefined : obj, obj.metadata.name);
    return done();
  });
  const codes = [...followed.values()].map((f) => (f.verdict && isFinal(f.verdict.code) ? f.verdict.code : o.watch ? EXIT.timedOut : EXIT.progressing));
  const code = worst(codes);
  if (o.json) {
    o.out(JSON.stringify({
      code,
      microservices: [...followed.entries()].map(([name, f], i) => ({
        namespace: f.obj?.metadata.namespace ?? o.namespace, name, code: codes[i], revision: f.target.revision, phase: f.obj?.status?.phase,
        step: f.obj?.status?.rollout?.step, weight: f.obj?.status?.rollout?.weight, message: f.obj ? describe(f.obj) : f.verdict?.line,
      })),
    }));
  }
  return code;
}

/**
 * Watches from `resourceVersion` until `onEvent` says it is done or the time is up; reconnects
 * from the last version seen when the server ends a watch, and relists once on 410 Gone.
 */
export async function watchFrom(client: KubeClient, path: string, query: Record<string, string>, resourceVersion: string, timeoutMs: number,
  onEvent: (obj: MicroserviceObject, deleted: boolean) => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let rv = resourceVersion;
  while (Date.now() < deadline) {
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), deadline - Date.now());
    let finished = false;
    let gone = false;
    try {
      await client.watch<MicroserviceObject>(path, { ...query, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: Math.max(1, Math.ceil((deadline - Date.now()) / 1000)) }, (e) => {
        if (e.type === 'ERROR') { gone = true; stop.abort(); return; }
        rv = e.object.metadata.resourceVersion ?? rv;
        if (e.type === 'BOOKMARK') return;
        if (onEvent(e.object, e.type === 'DELETED')) { finished = true; stop.abort(); }
      }, stop.signal);
    } catch (err) {
      if (!stop.signal.aborted) {
        if (!(err instanceof ApiError) || err.status !== 410) throw err;
        gone = true;
      }
    } finally {
      clearTimeout(timer);
    }
    if (finished) return;
    if (gone) {
      // Expired: a fresh list, each object judged again (a version missed meanwhile is only a line).
      const list = await client.request<List>('GET', path, { query });
      rv = list.metadata.resourceVersion;
      for (const obj of list.items) if (onEvent(obj, false)) return;
    }
  }
}
