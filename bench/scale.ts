// Benchmark: N Microservices (BENCH_N, default 1,000) applied at once, against a floor: the very
// objects Coxswain renders for them, written straight to the API server by this bench with the
// operator's client and concurrency, timed to all Available. Then the operator's CPU time per
// reconcile, its RSS, its writes over a quiet interval, and a restart. Prints a table; asserts
// nothing. Run with `make bench` (after the canary benchmark).
import { renderFile } from '../src/cli/render.js';
import { DEPLOYMENTS, MICROSERVICES, resourceOf } from '../src/kube/resources.js';
import type { KubeObject } from '../src/kube/object.js';
import { loadavg } from 'node:os';
import { auditMark, createNamespace, hasAuditLog, installCRD, k, operatorRequests, sleep } from '../test/e2e/harness.js';
import { applyAll, atRest, BenchOperator, benchClient, ensureNodes, quietCluster, listAll, mib, processStats, seconds, table, until, writesSince } from './lib.js';

const N = Number(process.env.BENCH_N ?? 1000);
/**
 * The operator's default --concurrency: the floor writes with as many requests in flight
 * (BENCH_FLOOR_CONCURRENCY: another number, e.g. the operator's burst of 4x that, 16).
 */
const CONCURRENCY = Number(process.env.BENCH_FLOOR_CONCURRENCY ?? 4);
const QUIET = Number(process.env.BENCH_QUIET_SECONDS ?? 60);
const IMAGE = 'registry.example/app:1';
/** Another checkout's build to run as the operator (its dist/): a before/after pair on one cluster. */
const APP_DIR = process.env.BENCH_APP_DIR;
/** BENCH_SCALE_REST=0: only the burst (floor and operator), not the rest and restart after it, for quick pairs. */
const REST = process.env.BENCH_SCALE_REST !== '0';

const microservice = (namespace: string, i: number) => ({
  apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', metadata: { name: `app-${i}`, namespace },
  spec: { image: IMAGE, replicas: 1, ports: [{ name: 'http', port: 8080 }] },
});

const available = (d: KubeObject) => !!(d.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions
  ?.some((c) => c.type === 'Available' && c.status === 'True');
const ready = (ms: KubeObject) => (ms.status as { phase?: string } | undefined)?.phase === 'Healthy';

function print(rows: string[][]): void {
  console.log(`\nScale: ${N} Microservices (1 replica each), one operator (its defaults: --concurrency 4, 16 while more keys wait), the floor ${CONCURRENCY} in flight:\n`);
  console.log(table(['measure', 'value'], rows));
}

/** The 1-minute load average, beside each timing: the machine is shared, and the ratio moves with it. */
const load = () => loadavg()[0]!.toFixed(1);

async function main() {
  await installCRD();
  await ensureNodes(N + 40);
  await quietCluster();
  const client = await benchClient();
  const rows: string[][] = [];
  try {
    // The floor: what the operator would write, without the operator (and without owners: there
    // is no Microservice to own them).
    const floorNs = await createNamespace('scale-floor');
    const rendered = renderFile(Array.from({ length: N }, (_, i) => JSON.stringify(microservice(floorNs, i))).join('\n---\n'));
    if (!rendered.ok) throw new Error(rendered.problems.join('; '));
    const objects = rendered.objects.map((o) => ({ ...o, metadata: { ...o.metadata, ownerReferences: undefined } }));
    const loads = [load()];
    let start = performance.now();
    await applyAll(client, (o) => resourceOf(o.kind), objects, CONCURRENCY);
    const floor = await until('the floor\'s Deployments to be Available', async () => (await listAll(client, DEPLOYMENTS, floorNs)).filter(available).length, N, start, 1_800_000, 500);
    loads.push(load());
    await k('delete', 'namespace', floorNs, '--timeout=600s');

    const ns = await createNamespace('scale-coxswain');
    let operator = new BenchOperator().start(ns, APP_DIR);
    await until('the operator to start', async () => (operator.lines().some((l) => l.msg === 'caches synced; reconciling') ? 1 : 0), 1, performance.now(), 60_000, 50);
    const cpuBefore = processStats(operator.pid!).cpuMs;
    const burst = auditMark();
    loads.push(load());
    start = performance.now();
    await applyAll(client, () => MICROSERVICES, Array.from({ length: N }, (_, i) => microservice(ns, i)), CONCURRENCY);
    const allReady = await until('every Microservice to be Ready', async () => (await listAll(client, MICROSERVICES, ns)).filter(ready).length, N, start, 1_800_000, 500);
    const run = processStats(operator.pid!);
    const reconciles = operator.reconciles().length;
    const writes = writesSince(burst, 'coxswain/', ns);
    const requests = hasAuditLog ? operatorRequests(burst, ns).filter((e) => e.verb !== 'list' && e.verb !== 'watch').length : NaN;
    loads.push(load());
    rows.push(
      [`${N} Microservices applied -> all Ready`, seconds(allReady)],
      [`floor: the same objects written directly (${CONCURRENCY} in flight) -> all Available`, seconds(floor)],
      ['ratio to the floor', `${(allReady / floor).toFixed(2)}x`],
      ['operator CPU per reconcile, during that', `${((run.cpuMs - cpuBefore) / reconciles).toFixed(1)} ms (${reconciles} reconciles, ${((run.cpuMs - cpuBefore) / 1000).toFixed(1)} s CPU)`],
      ['operator writes per Microservice, during that (audit log)', `${(writes / N).toFixed(1)} (${writes} in all)`],
      ['operator requests per Microservice, reads too (audit log)', `${(requests / N).toFixed(1)} (${requests} in all)`],
      ['load average (1 min): floor start / end, operator start / end', loads.join(' / ')],
      ['RSS when all were Ready', mib(run.rssMiB)],
    );
    if (!REST) {
      await operator.stop();
      await k('delete', 'namespace', ns, '--wait=false');
      return print(rows);
    }
    await sleep(30_000);
    const [quiet] = await atRest([{ name: 'Coxswain', pid: operator.pid!, userAgent: 'coxswain/' }], QUIET);
    rows.push(
      [`at rest: writes over ${QUIET} s`, String(quiet!.writes)],
      [`at rest: CPU over ${QUIET} s`, `${quiet!.cpuMs.toFixed(0)} ms`],
      ['at rest: RSS', mib(quiet!.rssMiB)],
    );
    await operator.stop();
    const mark = auditMark();
    start = performance.now();
    operator = new BenchOperator().start(ns, APP_DIR);
    const synced = await until('caches synced', async () => (operator.lines().some((l) => l.msg === 'caches synced; reconciling') ? 1 : 0), 1, start, 120_000, 20);
    const restarted = await until(`all ${N} reconciled after the restart`, async () => new Set(operator.reconciles().map((l) => l.key)).size, N, start, 600_000, 20);
    await sleep(2000);
    rows.push(
      ['restart: process start -> caches synced', seconds(synced)],
      ['restart: process start -> every key reconciled', `${seconds(restarted)}, ${writesSince(mark, 'coxswain/')} writes`],
    );
    await sleep(30_000);
    rows.push(['RSS 30 s after the restart', mib(processStats(operator.pid!).rssMiB)]);
    await operator.stop();
    await k('delete', 'namespace', ns, '--wait=false');
    print(rows);
  } finally {
    client.close();
  }
}

await main();
