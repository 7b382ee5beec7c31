// Profiling aid for RSS after a restart (issue 20, target 5; docs/performance.md): BENCH_N
// Microservices (1,000) with the operator running, its memory split at rest, then the operator
// restarted once for each variant (its Node flags, the image's by default; its environment):
// each one's start-up, the CPU that took, and its memory split 30 s after every key was
// reconciled (bench/memory-split.mjs, preloaded). Prints a table; asserts nothing.
//
//   BENCH_VARIANTS='[{"label":"image"},{"label":"semi-space only","flags":["--max-semi-space-size=2"]},{"label":"arenas","env":{"MALLOC_ARENA_MAX":"2"}}]' \
//     hack/e2e.sh --bench-restart-memory
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MICROSERVICES } from '../src/kube/resources.js';
import { createNamespace, IMAGE_NODE_FLAGS, installCRD, k, KUBECONFIG, logLines, ROOT, sleep } from '../test/e2e/harness.js';
import { applyAll, benchClient, ensureNodes, listAll, processStats, quietCluster, seconds, table, until } from './lib.js';

const N = Number(process.env.BENCH_N ?? 1000);
type Variant = { label: string; flags?: string[]; env?: Record<string, string> };
const VARIANTS: Variant[] = JSON.parse(process.env.BENCH_VARIANTS ?? '[{"label":"image"}]');
const SPLIT = join(tmpdir(), `memory-split-${process.pid}.jsonl`);

/** The operator with a variant's Node flags (the image's by default) and environment, the split preloaded. */
function operator(namespace: string, v: Variant): { child: ChildProcess; reconciled: () => number } {
  let out = '';
  const child = spawn(process.execPath, [...(v.flags ?? IMAGE_NODE_FLAGS), resolve(ROOT, 'dist/cli/main.js'), 'run', '--kubeconfig', KUBECONFIG, '--listen', '', '--metrics-listen', '', '--namespaces', namespace], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'info', NODE_OPTIONS: `--import=${resolve(ROOT, 'bench/memory-split.mjs')}`, MEMORY_SPLIT_FILE: SPLIT, ...v.env },
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, reconciled: () => new Set(logLines(out).filter((l) => l.msg === 'reconciled').map((l) => l.key)).size };
}

async function stop(child: ChildProcess): Promise<void> {
  const closed = new Promise((r) => child.once('close', r));
  child.kill('SIGTERM');
  await closed;
}

/** The operator's memory split now (MiB each). */
async function split(child: ChildProcess): Promise<Record<string, number>> {
  child.kill('SIGUSR2');
  await sleep(500);
  return JSON.parse(readFileSync(SPLIT, 'utf8').trim().split('\n').at(-1)!) as Record<string, number>;
}

const COLUMNS = ['rss', 'anonymous', 'fileBacked', 'heapCommitted', 'heapUsed', 'oldSpaceCommitted', 'external', 'arrayBuffers', 'notV8'];
const rows: string[][] = [];
const row = (what: string, s: Record<string, number>, extra = '') => rows.push([what, extra, ...COLUMNS.map((c) => String(s[c]))]);

await installCRD();
await ensureNodes(N + 40);
await quietCluster();
const client = await benchClient();
const ns = await createNamespace('restart-memory');
try {
  let op = operator(ns, { label: 'image' });
  const start = performance.now();
  await applyAll(client, () => MICROSERVICES, Array.from({ length: N }, (_, i) => ({
    apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', metadata: { name: `app-${i}`, namespace: ns },
    spec: { image: 'registry.example/app:1', replicas: 1, ports: [{ name: 'http', port: 8080 }] },
  })), 8);
  await until('every Microservice Healthy', async () => (await listAll<{ status?: { phase?: string } }>(client, MICROSERVICES, ns)).filter((m) => m.status?.phase === 'Healthy').length, N, start, 1_800_000, 10_000);
  await sleep(90_000);
  row('at rest (the image\'s flags), 90 s after all Healthy', await split(op.child));
  await stop(op.child);
  for (const v of VARIANTS) {
    const restart = performance.now();
    op = operator(ns, v);
    const startup = await until(`${v.label}: every key reconciled`, async () => op.reconciled(), N, restart, 600_000, 50);
    const cpuMs = processStats(op.child.pid!).cpuMs;
    await sleep(30_000);
    row(`${v.label}: 30 s after a restart`, await split(op.child), `${seconds(startup)}, ${cpuMs} ms CPU`);
    await stop(op.child);
  }
  console.log(`\nThe operator's memory at ${N} Microservices (MiB; notV8 = anonymous - heapCommitted, malloc's mostly):\n`);
  console.log(table(['when', 'start-up, its CPU', ...COLUMNS], rows));
} finally {
  await k('delete', 'namespace', ns, '--wait=false').catch(() => undefined);
  rmSync(SPLIT, { force: true });
  client.close();
}
