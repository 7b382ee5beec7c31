// What the rollout tests share: reading a Microservice, its slots and what its Services serve, as a
// user would with kubectl, and recording them continuously while something changes, so that a
// dip between two polls of a condition is still seen.
import { condition, eventually, getJSON, k, kubectlCoxswain, kubectlStream, sleep } from './harness.js';

export interface SlotState {
  replicas: number;
  ready: number;
  image: string;
  /** The pod template's coxswain.dev/revision label. */
  revision?: string;
}

export const msOf = (ns: string, name: string) => getJSON('microservice', '-n', ns, name);

/** The slot Deployments of a Microservice, by slot: what `kubectl get deploy` shows. */
export async function slotsOf(ns: string, name: string): Promise<Record<string, SlotState>> {
  const list = await getJSON('deployments', '-n', ns, '-l', `app.kubernetes.io/name=${name}`);
  const out: Record<string, SlotState> = {};
  for (const d of list.items) {
    out[d.metadata.labels['coxswain.dev/slot']] = {
      replicas: d.spec.replicas, ready: d.status.readyReplicas ?? 0, image: d.spec.template.spec.containers[0].image,
      revision: d.spec.template.metadata?.labels?.['coxswain.dev/revision'],
    };
  }
  return out;
}

/** Healthy at this generation, the active slot running `image`, Ready=True. */
export const healthyAt = (ns: string, name: string, image: string) => async () => {
  const o = await msOf(ns, name);
  return o?.status?.phase === 'Healthy' && o.status.observedGeneration === o.metadata.generation
    && o.status.slots?.[o.status.activeSlot]?.image === image && condition(o, 'Ready')?.status === 'True' ? o : undefined;
};

/** Status for the current generation (the operator has seen the latest spec), or undefined. */
export const current = async (ns: string, name: string) => {
  const o = await msOf(ns, name);
  return o?.status?.observedGeneration === o?.metadata.generation ? o : undefined;
};

/**
 * Samples `take` until stopped. The last sample is taken after stop, so the settled state is
 * always in the record however short the window between the last change and the condition that
 * stopped it. A sample that throws (a transient API error) is skipped.
 */
export function record<T>(take: () => Promise<T>, everyMs = 200) {
  const samples: T[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      try { samples.push(await take()); } catch { /* the next one */ }
      await sleep(everyMs);
    }
  })();
  return { samples, stop: async () => { running = false; await loop; samples.push(await take()); } };
}

/** Slot sizes until stopped: what a person watching `kubectl get deploy -w` would see. */
export const recordSplits = (ns: string, name: string) => record(() => slotsOf(ns, name));

export interface ServingPod {
  name: string;
  revision?: string;
  slot?: string;
}

const isReady = (p: any) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');

/**
 * The pods a Service sends traffic to: Ready, not terminating, matching its selector (what its
 * EndpointSlices converge to). One list call, so the count is one consistent snapshot.
 */
export async function servingPods(ns: string, service: string): Promise<{ selector: Record<string, string>; pods: ServingPod[] } | undefined> {
  const svc = await getJSON('service', '-n', ns, service);
  if (!svc?.spec?.selector) return undefined;
  const selector = svc.spec.selector as Record<string, string>;
  const pods = await getJSON('pods', '-n', ns, '-l', Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(','));
  return {
    selector,
    pods: (pods?.items ?? []).filter(isReady).map((p: any) => ({
      name: p.metadata.name, revision: p.metadata.labels?.['coxswain.dev/revision'], slot: p.metadata.labels?.['coxswain.dev/slot'],
    })),
  };
}

interface Watched {
  kind: 'pod' | 'service';
  type: string;
  rv: number;
  object: any;
}

/** One instant of what a Service serves: the resourceVersion, and its Ready pods then. */
export interface ServingAt {
  rv: number;
  pods: ServingPod[];
}

const matches = (labels: Record<string, string> | undefined, selector: Record<string, string> | undefined) =>
  !!selector && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/**
 * Every state of what `service` serves, from now until stop(): a list of the Microservice's pods
 * and of the Service, then a watch of each from its list's resourceVersion, merged in
 * resourceVersion order (one etcd orders them all). Unlike polling, a dip that lasts a few
 * milliseconds between two pod updates is seen. stop() waits until the watches have caught up with
 * a fresh list, then returns the timeline, one entry per change from the start on.
 */
export async function watchServing(ns: string, name: string, service = name) {
  const podsPath = `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(`app.kubernetes.io/name=${name}`)}`;
  const svcPath = `/api/v1/namespaces/${ns}/services?fieldSelector=${encodeURIComponent(`metadata.name=${service}`)}`;
  const list = async (path: string) => JSON.parse(await k('get', '--raw', path));
  const [podList, svcList] = [await list(podsPath), await list(svcPath)];
  const events: Watched[] = [];
  const watch = (kind: Watched['kind'], path: string, rv: string) =>
    kubectlStream(['get', '--raw', `${path}&watch=1&resourceVersion=${rv}`], (line) => {
      const e = JSON.parse(line);
      if (e.type !== 'BOOKMARK' && e.type !== 'ERROR') events.push({ kind, type: e.type, rv: Number(e.object.metadata.resourceVersion), object: e.object });
    });
  const watches = [watch('pod', podsPath, podList.metadata.resourceVersion), watch('service', svcPath, svcList.metadata.resourceVersion)];
  const start = Math.max(Number(podList.metadata.resourceVersion), Number(svcList.metadata.resourceVersion));

  const replay = (): { timeline: ServingAt[]; pods: Map<string, any>; svc: any } => {
    const pods = new Map<string, any>(podList.items.map((p: any) => [p.metadata.name, p]));
    let svc: any = svcList.items[0];
    const now = (rv: number): ServingAt => ({
      rv,
      pods: [...pods.values()].filter((p) => isReady(p) && matches(p.metadata.labels, svc?.spec?.selector)).map((p) => ({
        name: p.metadata.name, revision: p.metadata.labels?.['coxswain.dev/revision'], slot: p.metadata.labels?.['coxswain.dev/slot'],
      })),
    });
    const timeline: ServingAt[] = [];
    for (const e of [...events].sort((a, b) => a.rv - b.rv)) {
      if (e.rv > start && timeline.length === 0) timeline.push(now(start)); // the state before the first change
      if (e.kind === 'pod') {
        if (e.type === 'DELETED') pods.delete(e.object.metadata.name);
        else pods.set(e.object.metadata.name, e.object);
      } else svc = e.type === 'DELETED' ? undefined : e.object;
      if (e.rv > start) timeline.push(now(e.rv));
    }
    if (timeline.length === 0) timeline.push(now(start));
    return { timeline, pods, svc };
  };

  return {
    async stop(): Promise<ServingAt[]> {
      // Caught up: every pod a fresh list holds is known at its resourceVersion, and no other.
      await eventually('the watches to catch up', async () => {
        const [fresh, freshSvc] = [await list(podsPath), await list(svcPath)];
        const { pods, svc } = replay();
        return fresh.items.length === pods.size && fresh.items.every((p: any) => pods.get(p.metadata.name)?.metadata.resourceVersion === p.metadata.resourceVersion)
          && freshSvc.items[0]?.metadata.resourceVersion === svc?.metadata.resourceVersion;
      }, 30_000, 200).catch((err: Error) => { throw new Error(`${err.message}; ${watches.map((w) => w.stderr()).join(' ')}`); });
      await Promise.all(watches.map((w) => w.stop()));
      return replay().timeline;
    },
  };
}

/**
 * Every pod matching `selector` that exists at any moment from now until stop(), with its
 * coxswain.dev/revision label: a list, then a watch from its resourceVersion, so a pod created and
 * deleted between two polls is seen too.
 */
export async function watchPods(ns: string, selector: string) {
  const path = `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`;
  const list = JSON.parse(await k('get', '--raw', path));
  const seen = new Map<string, string | undefined>();
  const note = (p: any) => seen.set(p.metadata.name, p.metadata.labels?.['coxswain.dev/revision']);
  list.items.forEach(note);
  const w = kubectlStream(['get', '--raw', `${path}&watch=1&resourceVersion=${list.metadata.resourceVersion}`], (line) => {
    const e = JSON.parse(line);
    if (e.type === 'ADDED' || e.type === 'MODIFIED') note(e.object);
  });
  return {
    /** Names of the pods seen, with the revision they carry. */
    async stop(): Promise<Array<{ name: string; revision?: string }>> {
      // Caught up: a fresh list holds no pod the watch has not reported.
      await eventually('the pod watch to catch up', async () => {
        const fresh = JSON.parse(await k('get', '--raw', path));
        return fresh.items.every((p: any) => seen.has(p.metadata.name));
      }, 30_000, 200);
      await w.stop();
      return [...seen].map(([name, revision]) => ({ name, revision }));
    },
  };
}

/** A timeline as a short story: the count of Ready pods served at each change, runs collapsed. */
export function story(timeline: ServingAt[]): string {
  const counts = timeline.map((t) => t.pods.length);
  return counts.filter((c, i) => i === 0 || c !== counts[i - 1]).join(' -> ');
}

/** Pods of a Microservice labelled with a revision (any state, terminating ones left out). */
export async function podsOfRevision(ns: string, name: string, revision: string): Promise<string[]> {
  const pods = await getJSON('pods', '-n', ns, '-l', `app.kubernetes.io/name=${name},coxswain.dev/revision=${revision}`);
  return (pods?.items ?? []).filter((p: any) => !p.metadata.deletionTimestamp).map((p: any) => p.metadata.name as string);
}

/** `kubectl coxswain ...` in one namespace. */
export const pluginIn = (ns: string) => (...args: string[]) => kubectlCoxswain(ns, args);

export const otherSlot = (slot: string) => (slot === 'blue' ? 'green' : 'blue');

/** Ports of every ingress rule of a NetworkPolicy, as `port/protocol`, sorted and unique. */
export function admittedPorts(np: any): string[] {
  const ports = (np?.spec?.ingress ?? []).flatMap((r: any) => (r.ports ?? []).map((p: any) => `${p.port}/${p.protocol ?? 'TCP'}`));
  return [...new Set<string>(ports)].sort();
}

/** A Service's ports without the fields the API server fills in (nodePort). */
export function servicePorts(svc: any): Array<{ name?: string; port: number; targetPort: unknown; protocol: string }> {
  return (svc?.spec?.ports ?? []).map((p: any) => ({ name: p.name, port: p.port, targetPort: p.targetPort, protocol: p.protocol }));
}
