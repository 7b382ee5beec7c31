// What the benchmarks share: a controller process's memory and CPU from /proc, room for many pods
// on the KWOK cluster, many objects written at once with the operator's own client, writes counted
// from the API server's audit log, and the table they print. Benchmarks print numbers; they
// assert nothing.
import { readFileSync } from 'node:fs';
import { KubeClient } from '../src/kube/client.js';
import { resourcePath, type Resource } from '../src/kube/resources.js';
import type { KubeObject } from '../src/kube/object.js';
import { auditEvents, auditMark, hasAuditLog, k, KUBECONFIG, kubectl, OperatorProcess, sleep, WRITE_VERBS } from '../test/e2e/harness.js';

const PAGE = 4096;
const TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux

/** The operator as the benchmarks run it: one namespace, info logs (debug logging would be measured too). */
export class BenchOperator extends OperatorProcess {
  /** `appDir`: another checkout's build (its dist/), run the same way: a baseline to compare with. */
  start(namespace: string, appDir?: string): this {
    // BENCH_CPU_PROF=<dir>: a V8 CPU profile of the operator, written there when it exits.
    const prof = process.env.BENCH_CPU_PROF ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.BENCH_CPU_PROF}` } : {};
    this.spawn({ args: ['--namespaces', namespace], env: { LOG_LEVEL: 'info', ...prof }, ...(appDir ? { appDir } : {}) });
    return this;
  }

  async stop(): Promise<void> {
    await this.terminate('SIGTERM');
  }

  reconciles(): Array<Record<string, unknown>> {
    return this.lines().filter((l) => l.msg === 'reconciled');
  }
}

/** A process's resident memory (MiB) and the CPU time it has used so far (ms, user + system). */
export function processStats(pid: number): { rssMiB: number; cpuMs: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const statm = readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
  return { rssMiB: (Number(statm[1]) * PAGE) / 2 ** 20, cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS };
}

/**
 * Processes at rest for `seconds`, side by side: RSS at the end, CPU used over the window, and
 * writes each made (from the audit log, by user agent prefix).
 */
export async function atRest(procs: Array<{ name: string; pid: number; userAgent: string }>, seconds: number) {
  const mark = auditMark();
  const before = procs.map((p) => processStats(p.pid));
  await sleep(seconds * 1000);
  const events = hasAuditLog ? auditEvents(mark) : [];
  return procs.map((p, i) => {
    const after = processStats(p.pid);
    return {
      name: p.name, rssMiB: after.rssMiB, cpuMs: after.cpuMs - before[i]!.cpuMs,
      writes: events.filter((e) => e.userAgent?.startsWith(p.userAgent) && WRITE_VERBS.has(e.verb)).length,
    };
  });
}

/** Writes a controller made since the audit mark, by user agent prefix (and in `namespace` only, when given). */
export function writesSince(mark: number, userAgent: string, namespace?: string): number {
  if (!hasAuditLog) return NaN;
  return auditEvents(mark).filter((e) => e.userAgent?.startsWith(userAgent) && WRITE_VERBS.has(e.verb) && (!namespace || e.objectRef?.namespace === namespace)).length;
}

/**
 * Enough KWOK nodes for `pods` more pods: the local cluster starts with three of 110 pods each.
 * Nodes named kwok-bench-<i>, 250 pods each, managed by KWOK like the others.
 */
export async function ensureNodes(pods: number): Promise<void> {
  const nodes = Math.ceil(pods / 250);
  const docs = Array.from({ length: nodes }, (_, i) => JSON.stringify({
    apiVersion: 'v1', kind: 'Node',
    metadata: {
      name: `kwok-bench-${i}`,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { 'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': `kwok-bench-${i}`, 'kubernetes.io/os': 'linux', type: 'kwok' },
    },
    status: { allocatable: { cpu: '32', memory: '256Gi', pods: '250' }, capacity: { cpu: '32', memory: '256Gi', pods: '250' } },
  }));
  const r = await kubectl(['apply', '-f', '-'], docs.join('\n'));
  if (r.code !== 0) throw new Error(`adding bench nodes: ${r.stderr}`);
  await k('wait', '--for', 'condition=Ready', '--timeout=120s', ...Array.from({ length: nodes }, (_, i) => `node/kwok-bench-${i}`));
}

/** Waits until no namespace is being deleted: a namespace going away (pods, ReplicaSets) keeps the controllers busy. */
export async function quietCluster(): Promise<void> {
  const start = performance.now();
  await until('namespaces being deleted to go', async () => {
    const r = await kubectl(['get', 'namespaces', '-o', 'jsonpath={range .items[*]}{.status.phase}{"\\n"}{end}']);
    return r.stdout.split('\n').includes('Terminating') ? 0 : 1;
  }, 1, start, 900_000, 2000);
}

/** The operator's own client on the test cluster's kubeconfig, under the bench's user agent. */
export const benchClient = () => KubeClient.fromEnvironment(KUBECONFIG, undefined, 'coxswain-bench/0');

/** Creates every object with `concurrency` requests in flight (server-side apply, one manager). */
export async function applyAll(client: KubeClient, resourceOf: (o: KubeObject) => Resource, objects: KubeObject[], concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < objects.length) {
      const obj = objects[next++]!;
      await client.request('PATCH', resourcePath(resourceOf(obj), obj.metadata.namespace, obj.metadata.name), {
        contentType: 'application/apply-patch+yaml', query: { fieldManager: 'coxswain-bench', force: true }, body: obj,
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Lists a resource in a namespace with the bench's client. */
export async function listAll<T = KubeObject>(client: KubeClient, r: Resource, namespace: string): Promise<T[]> {
  const list = await client.request<{ items: T[] }>('GET', resourcePath(r, namespace));
  return list.items;
}

/** Polls `count` until it reaches `want`; the elapsed ms since `start`. */
export async function until(what: string, count: () => Promise<number>, want: number, start: number, timeoutMs = 1_200_000, everyMs = 250): Promise<number> {
  let last = 0;
  while (performance.now() - start < timeoutMs) {
    last = await count();
    if (last >= want) return performance.now() - start;
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}: ${last}/${want}`);
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
export const mib = (m: number) => `${m.toFixed(0)} MiB`;
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A Markdown table: the header row, then rows. */
export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
