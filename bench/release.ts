// The release path, timed the same way for each controller (bench/peer.ts), from the pods as the
// API server holds them: a canary apply -> complete, a promote at an indefinite pause -> the next
// step's weight served, and a bad release's first failing pod -> the stable revision alone, whole
// and Ready. The Services of both select every Ready pod of the app (a replica-weighted canary), so
// the weight served is the candidate's share of the Ready pods.
import { writeFileSync } from 'node:fs';
import { PODS, resourcePath } from '../src/kube/resources.js';
import type { KubeObject } from '../src/kube/object.js';
import type { KubeClient } from '../src/kube/client.js';
import { auditEvents, auditMark, WRITE_VERBS } from '../test/e2e/harness.js';
import { applyAll, listAll, until } from './lib.js';
import { PAUSED_STEPS, type Peer } from './peer.js';

const REPLICAS = 8;
const POLL_MS = 50;
/** KWOK's crash-loop stage (hack/cluster/manifests/kwok-stages.yaml): the pods of a bad image. */
export const FAILING_PODS = { 'coxswain.dev/e2e-fail': 'true' };

interface Pod extends KubeObject {
  spec: { containers: Array<{ image: string }> };
  status?: { conditions?: Array<{ type: string; status: string }>; containerStatuses?: Array<{ state?: { waiting?: { reason?: string } } }> };
}

/** Per image: pods that exist, those Ready, those crash-looping. */
async function podsByImage(client: KubeClient, namespace: string): Promise<Map<string, { pods: number; ready: number; failing: number }>> {
  const out = new Map<string, { pods: number; ready: number; failing: number }>();
  for (const p of await listAll<Pod>(client, PODS, namespace)) {
    const image = p.spec.containers[0]!.image;
    const n = out.get(image) ?? { pods: 0, ready: 0, failing: 0 };
    n.pods++;
    if (!p.metadata.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) n.ready++;
    if (p.status?.containerStatuses?.some((c) => c.state?.waiting?.reason === 'CrashLoopBackOff')) n.failing++;
    out.set(image, n);
  }
  return out;
}

async function get(client: KubeClient, peer: Peer, name: string): Promise<KubeObject | undefined> {
  return client.request<KubeObject>('GET', resourcePath(peer.resource, peer.namespace, name)).catch(() => undefined);
}

const write = (client: KubeClient, peer: Peer, obj: KubeObject) => applyAll(client, () => peer.resource, [obj], 1);

/** Apply -> done; a `healthy` rollout aborted by its deadline stops the benchmark (the deadline would not be honest). */
export async function waitDone(client: KubeClient, peer: Peer, name: string, image: string, start: number, healthy = true): Promise<number> {
  return until(`${peer.name} ${name} at ${image}`, async () => {
    const o = await get(client, peer, name);
    if (healthy && peer.aborted(o)) throw new Error(`${peer.name} aborted a healthy rollout of ${image}: ${JSON.stringify(o?.status)}`);
    return peer.done(o, image) ? 1 : 0;
  }, 1, start, 600_000, POLL_MS);
}

/** The 4-step canary to `image`: apply -> complete. */
export async function canaryTime(client: KubeClient, peer: Peer, image: string): Promise<number> {
  const start = performance.now();
  await write(client, peer, peer.object('bench', image, REPLICAS));
  return waitDone(client, peer, 'bench', image, start);
}

/**
 * From `promote` at the pause after 25% to the candidate serving 50% (of the Ready pods); then on
 * to complete. `sequence`: a file for the audit log's requests from the promote on (writeSequence).
 */
export async function promoteTime(client: KubeClient, peer: Peer, image: string, sequence?: string): Promise<number> {
  await write(client, peer, peer.object('bench', image, REPLICAS, { steps: PAUSED_STEPS }));
  await until(`${peer.name} paused at 25%`, async () => (peer.pausedAt(await get(client, peer, 'bench'), 1) ? 1 : 0), 1, performance.now(), 120_000, POLL_MS);
  const mark = auditMark();
  const start = performance.now();
  await peer.promote(client, 'bench');
  const took = await until(`${peer.name} serving 50% after promote`, async () => {
    let cand = 0;
    let all = 0;
    for (const [img, n] of await podsByImage(client, peer.namespace)) { all += n.ready; if (img === image) cand += n.ready; }
    return 2 * cand >= all && all > 0 ? 1 : 0;
  }, 1, start, 120_000, POLL_MS);
  await waitDone(client, peer, 'bench', image, performance.now());
  if (sequence) writeSequence(sequence, mark, peer);
  return took;
}

/**
 * A bad release: `bad` crash-loops from its first pod (KWOK's failure label). From the first
 * failing pod seen to the controller having aborted, no pod of `bad` left, and `good` whole and
 * Ready; then `good` applied again (both controllers go straight back to the stable revision).
 */
export async function badReleaseTime(client: KubeClient, peer: Peer, good: string, bad: string): Promise<number> {
  const applied = performance.now();
  await write(client, peer, peer.object('bench', bad, REPLICAS, { podLabels: FAILING_PODS }));
  let failedAt: number | undefined;
  await until(`${peer.name} out of the bad release ${bad}`, async () => {
    const pods = await podsByImage(client, peer.namespace);
    if (failedAt === undefined && (pods.get(bad)?.failing ?? 0) > 0) failedAt = performance.now();
    if (failedAt === undefined || (pods.get(bad)?.pods ?? 0) > 0) return 0;
    const g = pods.get(good);
    return g?.ready === REPLICAS && g.pods === REPLICAS && peer.aborted(await get(client, peer, 'bench')) ? 1 : 0;
  }, 1, applied, 300_000, POLL_MS);
  const took = performance.now() - failedAt!;
  await write(client, peer, peer.object('bench', good, REPLICAS));
  await waitDone(client, peer, 'bench', good, performance.now(), false);
  return took;
}

/**
 * The audit log's requests since `mark`, for one rollout: every write in the peer's namespace (by
 * any controller: the chain a step goes through) and the peer's own requests, one line each, in
 * ms from the first. Written to `file` for docs/performance.md's side-by-side.
 */
export function writeSequence(file: string, mark: number, peer: Peer): void {
  const events = auditEvents(mark).filter((e) => e.verb !== 'watch'
    && (e.userAgent?.startsWith(peer.userAgent) || (e.objectRef?.namespace === peer.namespace && WRITE_VERBS.has(e.verb))));
  const t0 = events.length ? Date.parse(events[0]!.requestReceivedTimestamp) : 0;
  const lines = events.map((e) => {
    const who = (e.userAgent ?? '?').split(' ')[0]!.replace(/\/v?[\d.]+.*$/, '');
    const what = [e.objectRef?.resource, e.objectRef?.subresource].filter(Boolean).join('/');
    const at = (Date.parse(e.requestReceivedTimestamp) - t0).toString().padStart(6);
    return `${at} ms  ${who.padEnd(32)} ${e.verb.padEnd(6)} ${what} ${e.objectRef?.name ?? ''} ${e.responseStatus?.code ?? ''}`;
  });
  writeFileSync(file, `${lines.join('\n')}\n`);
}
