// The process that answers for the pods (run by the data-plane tests as a child process, inside
// their network namespace, where the whole pod range is routed to loopback). KWOK gives pods
// addresses but runs nothing, so this plays the application: one listener per container port on
// every address, which answers a connection as the pod whose address was dialled. What is played,
// and why:
// - the answer names the pod, its slot and its revision (labels coxswain.dev/slot, /revision), so
//   the load generator can count where each request went;
// - a "release" decides how it behaves through its container's env: APP_ERROR_RATE (0..1, the share
//   of requests answered 500) and APP_LATENCY_MS (added to every answer);
// - termination: KWOK deletes a pod at once; a real pod keeps serving for its grace period after
//   its deletion (the gateway still sends to it until the EndpointSlice change reaches it). So a
//   deleted pod keeps answering, marked terminating, for its terminationGracePeriodSeconds; after
//   that, and for any address no pod has, the connection is reset, as a dead pod's would be, and
//   so are the requests it still had in flight;
// - GET /metrics on a pod's address: that pod's http_requests_total by code and a latency histogram
//   (what the real Prometheus scrapes through its Kubernetes service discovery).
//
// Usage: node --import tsx test/e2e/dataplane/pods.ts KUBECONFIG NAMESPACE PORT...
// Prints "ready" once it has listed the pods and listens.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { LABEL_REVISION, LABEL_SLOT } from '../../../src/api/names.js';
import { KubeClient } from '../../../src/kube/client.js';

interface Pod {
  name: string;
  slot: string;
  revision: string;
  errorRate: number;
  latencyMs: number;
  graceMs: number;
  /** When the pod was deleted: it answers, terminating, until deletedAt + graceMs. */
  deletedAt?: number;
  metrics: Metrics;
}

// Finer than the client libraries' defaults (... 0.05, 0.1, 0.25, 0.5 ...), so histogram_quantile
// tells apart the latencies the tests give releases (a quantile is estimated within its bucket:
// 100 ms and 300 ms there would read as 0.25 and 0.5).
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2.5];

class Metrics {
  readonly byCode = new Map<number, number>();
  readonly buckets = BUCKETS.map(() => 0);
  count = 0;
  sum = 0;

  observe(code: number, seconds: number): void {
    this.byCode.set(code, (this.byCode.get(code) ?? 0) + 1);
    BUCKETS.forEach((b, i) => { if (seconds <= b) this.buckets[i]! += 1; });
    this.count += 1;
    this.sum += seconds;
  }

  text(): string {
    const lines = ['# TYPE http_requests_total counter'];
    for (const [code, n] of this.byCode) lines.push(`http_requests_total{code="${code}"} ${n}`);
    lines.push('# TYPE http_request_duration_seconds histogram');
    BUCKETS.forEach((b, i) => lines.push(`http_request_duration_seconds_bucket{le="${b}"} ${this.buckets[i]}`));
    lines.push(`http_request_duration_seconds_bucket{le="+Inf"} ${this.count}`, `http_request_duration_seconds_sum ${this.sum}`, `http_request_duration_seconds_count ${this.count}`);
    return `${lines.join('\n')}\n`;
  }
}

const [kubeconfig, namespace, ...ports] = process.argv.slice(2);
if (!kubeconfig || !namespace || ports.length === 0) throw new Error('usage: pods.ts KUBECONFIG NAMESPACE PORT...');

/** Pods by address. A deleted pod stays until its grace period is over. */
const pods = new Map<string, Pod>();

const env = (spec: any, name: string) => Number(spec?.containers?.[0]?.env?.find((e: any) => e.name === name)?.value ?? 0);

function learn(p: any, deleted: boolean): void {
  const ip = p.status?.podIP as string | undefined;
  if (!ip) return;
  const known = pods.get(ip);
  const pod: Pod = known && known.name === p.metadata.name ? known : {
    name: p.metadata.name,
    slot: p.metadata.labels?.[LABEL_SLOT] ?? '',
    revision: p.metadata.labels?.[LABEL_REVISION] ?? '',
    errorRate: env(p.spec, 'APP_ERROR_RATE'),
    latencyMs: env(p.spec, 'APP_LATENCY_MS'),
    graceMs: 1000 * (p.spec?.terminationGracePeriodSeconds ?? 30),
    metrics: new Metrics(),
  };
  // A pod being deleted (deletionTimestamp) or gone: it terminates from the first moment seen.
  if ((deleted || p.metadata.deletionTimestamp) && pod.deletedAt === undefined) pod.deletedAt = Date.now();
  pods.set(ip, pod);
}

/** The pod that answers on `address` now, if any. */
function podAt(address: string): Pod | undefined {
  const pod = pods.get(address.replace(/^::ffff:/, ''));
  if (pod?.deletedAt !== undefined && Date.now() > pod.deletedAt + pod.graceMs) return undefined;
  return pod;
}

function answer(req: IncomingMessage, res: ServerResponse): void {
  const pod = podAt(req.socket.localAddress ?? '');
  if (!pod) { req.socket.destroy(); return; }
  if (req.url === '/metrics') { res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(pod.metrics.text()); return; }
  const started = process.hrtime.bigint();
  const code = Math.random() < pod.errorRate ? 500 : 200;
  setTimeout(() => {
    // Killed at the end of its grace period (SIGKILL), the pod drops the requests it still has.
    if (podAt(req.socket.localAddress ?? '') !== pod) { req.socket.destroy(); return; }
    const body = JSON.stringify({ pod: pod.name, slot: pod.slot, revision: pod.revision, terminating: pod.deletedAt !== undefined });
    res.writeHead(code, { 'content-type': 'application/json' }).end(body);
    pod.metrics.observe(code, Number(process.hrtime.bigint() - started) / 1e9);
  }, pod.latencyMs);
}

const client = await KubeClient.fromEnvironment(kubeconfig, undefined, 'coxswain-e2e-pods');
const path = `/api/v1/namespaces/${namespace}/pods`;

/** List, then watch from there; again after the watch ends or fails, forever. */
async function follow(onListed: () => void): Promise<never> {
  for (;;) {
    try {
      const list = await client.request<{ metadata: { resourceVersion: string }; items: any[] }>('GET', path);
      const listed = new Set<string>();
      for (const p of list.items) { learn(p, false); if (p.status?.podIP) listed.add(p.status.podIP); }
      // Pods gone while the watch was down terminate from now.
      for (const [ip, pod] of pods) if (!listed.has(ip) && pod.deletedAt === undefined) pod.deletedAt = Date.now();
      onListed();
      await client.watch<any>(path, { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true }, (e) => {
        if (e.type === 'ADDED' || e.type === 'MODIFIED') learn(e.object, false);
        else if (e.type === 'DELETED') learn(e.object, true);
      });
    } catch (err) {
      process.stderr.write(`pods: ${err instanceof Error ? err.message : String(err)}\n`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

let listening = false;
void follow(() => {
  if (listening) return;
  listening = true;
  let open = 0;
  for (const port of ports) {
    createServer({ keepAliveTimeout: 60_000 }, answer).listen(Number(port), '0.0.0.0', () => { if (++open === ports.length) process.stdout.write('ready\n'); });
  }
});
