// Coxswain and Argo Rollouts side by side on one local cluster, in one run: the release path
// (bench/release.ts: a 4-step canary, 25/50/75/100 with no pauses, 8 replicas, maxSurge 25%,
// maxUnavailable 0; a promote at an indefinite pause; a bad release out), timed in alternating
// runs, the writes each makes per rollout (audit log); then the cost curve: at each size (1, 300
// and 1,000 objects each by default) RSS, CPU and writes at rest, start-up (a restart: process
// start -> every object reconciled) and RSS 30 s after it. Argo Rollouts is built from its Go
// module (hack/tools/argo-rollouts) and runs namespaced, without leader election; Coxswain runs
// with --namespaces, as the chart does with `namespaces`. Prints one table; asserts nothing.
//
// Run with `make bench-peers`. BENCH_RUNS (7), BENCH_SCALES (1,300,1000), BENCH_REST_SECONDS (120),
// BENCH_ARGO_DEADLINE (5, bench/peer.ts), BENCH_SEQUENCE_DIR (the first canary's and the first promote's
// audit-log request sequence of each, one file per controller and each), BENCH_BASELINES (other checkouts, built: more
// columns, below), BENCH_RESULTS=<dir>/<name> (the cost curve as <name>.json and a chart,
// <name>.svg, by bench/chart.ts; rewritten after each size).
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { auditMark, crdsEstablished, createNamespace, installCRD, k, must, PACKAGE_VERSION, ROOT, sleep } from '../test/e2e/harness.js';
import type { KubeClient } from '../src/kube/client.js';
import { applyAll, atRest, benchClient, ensureNodes, quietCluster, listAll, median, mib, processStats, seconds, table, until, writesSince } from './lib.js';
import { ARGO_DEADLINE_SECONDS, argoRollouts, coxswain, type Peer } from './peer.js';
import { costCurveSVG, PANELS, slopePer1000, type CostCurve } from './chart.js';
import { badReleaseTime, canaryTime, promoteTime, waitDone, writeSequence } from './release.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const SCALES = (process.env.BENCH_SCALES ?? '1,300,1000').split(',').map(Number);
const REST = Number(process.env.BENCH_REST_SECONDS ?? 120);
const SEQUENCES = process.env.BENCH_SEQUENCE_DIR;
const SETTLE_MS = 30_000;
const RESULTS = process.env.BENCH_RESULTS;
/**
 * BENCH_BASELINES=<dir>=<label>,...: more columns, Coxswain as built in other checkouts (their
 * dist/): an engine change's before and after in one run, under the same load.
 */
const BASELINES = (process.env.BENCH_BASELINES ?? '').split(',').filter(Boolean).map((b) => {
  const [dir = '', label = dir] = b.split('=');
  return { dir, label };
});

/** Grows each peer to `n` objects (the canary's one included), then waits until all are done. */
async function scaleTo(client: KubeClient, peers: Peer[], n: number, image: string): Promise<void> {
  const start = performance.now();
  await Promise.all(peers.map((p) => applyAll(client, () => p.resource, Array.from({ length: n - 1 }, (_, i) => p.object(`app-${i}`, image, 1)), 8)));
  await Promise.all(peers.map((p) => until(`${p.name}: ${n} objects done`, async () => {
    const items = await listAll(client, p.resource, p.namespace);
    return items.filter((o) => o.metadata.name === 'bench' || p.done(o, image)).length;
  }, n, start, 1_800_000, 10_000))); // a list of thousands every 2 s slowed the API server it waits on
}

/**
 * Start-up at `n` objects: each peer stopped and started again in turn, process start -> every
 * object reconciled once, and its RSS 30 s after that (each its own 30 s: the first restarted
 * is not given the others' start-ups to settle in).
 */
async function restartAll(peers: Peer[], n: number): Promise<Array<{ startupMs: number; rssMiB: number }>> {
  const restarts: Array<{ startupMs: number; rssMiB: number }> = [];
  for (const p of peers) {
    await p.stop();
    const start = performance.now();
    p.start();
    const startupMs = await until(`${p.name} to reconcile all ${n}`, async () => p.reconciled(), n, start, 600_000, 50);
    await sleep(SETTLE_MS);
    restarts.push({ startupMs, rssMiB: processStats(p.pid()).rssMiB });
  }
  return restarts;
}

/** BENCH_RESULTS=<dir>/<name>: the cost curve as <name>.json and its chart as <name>.svg. */
function writeCurve(base: string, curve: CostCurve): void {
  writeFileSync(`${base}.json`, `${JSON.stringify(curve, null, 2)}\n`);
  writeFileSync(`${base}.svg`, costCurveSVG(curve));
}

async function main() {
  const binary = (await must(resolve(ROOT, 'hack/tools/argo-rollouts/argo-rollouts.sh'), [])).trim();
  const crds = (await must(resolve(ROOT, 'hack/tools/argo-rollouts/argo-rollouts.sh'), ['--crds'])).trim();
  await installCRD();
  await k('apply', '--server-side', '--force-conflicts', '-f', crds);
  await crdsEstablished('rollouts.argoproj.io');
  await ensureNodes((2 + BASELINES.length) * Math.max(...SCALES) + 40); // one pod an object, each peer
  await quietCluster();
  const client = await benchClient();
  const peers = [coxswain(await createNamespace('peers-coxswain')), argoRollouts(await createNamespace('peers-argo'), binary)];
  for (const b of BASELINES) peers.push(coxswain(await createNamespace('peers-baseline'), `Coxswain at ${b.label}`, b.dir));
  const rows: string[][] = [];
  const row = (what: string, cells: string[]) => rows.push([what, ...cells]);
  try {
    for (const p of peers) p.start();
    // A first revision, then RUNS rounds, the peers taking turns to go first: a canary to a new
    // image, a promote at a pause to another, and a bad release out back to that one.
    await Promise.all(peers.map(async (p) => {
      await applyAll(client, () => p.resource, [p.object('bench', 'registry.example/bench:0', 8)], 1);
      await waitDone(client, p, 'bench', 'registry.example/bench:0', performance.now());
    }));
    const series = () => new Map<Peer, number[]>(peers.map((p) => [p, []]));
    const [times, writes, promotes, bads] = [series(), series(), series(), series()];
    for (let run = 1; run <= RUNS; run++) {
      for (const p of run % 2 ? peers : [...peers].reverse()) {
        const image = `registry.example/bench:${run}`;
        const mark = auditMark();
        times.get(p)!.push(await canaryTime(client, p, image));
        await sleep(2000); // writes that trail completion (a last status) count for this run
        writes.get(p)!.push(writesSince(mark, p.userAgent, p.namespace));
        const sequence = (what: string) => (SEQUENCES && run === 1 ? resolve(SEQUENCES, `${p.name.replace(/\W+/g, '-').toLowerCase()}-${what}.txt`) : undefined);
        const canarySequence = sequence('canary');
        if (canarySequence) writeSequence(canarySequence, mark, p);
        promotes.get(p)!.push(await promoteTime(client, p, `${image}-p`, sequence('promote')));
        bads.get(p)!.push(await badReleaseTime(client, p, `${image}-p`, `${image}-bad`));
      }
    }
    const ms = (xs: number[]) => `${seconds(median(xs))} (${seconds(Math.min(...xs))}-${seconds(Math.max(...xs))})`;
    row(`4-step canary, apply -> complete: median (min-max) of ${RUNS}`, peers.map((p) => ms(times.get(p)!)));
    row('writes per rollout (audit log), median', peers.map((p) => String(median(writes.get(p)!))));
    row(`promote at a pause -> 50% served: median (min-max) of ${RUNS}`, peers.map((p) => ms(promotes.get(p)!)));
    row(`bad release, first failing pod -> stable alone, whole, Ready: median (min-max) of ${RUNS}`, peers.map((p) => ms(bads.get(p)!)));
    const curve: CostCurve = { date: new Date().toISOString().slice(0, 10), restSeconds: REST, peers: peers.map((p) => p.name), sizes: [] };
    for (const n of SCALES) {
      if (n > 1) await scaleTo(client, peers, n, 'registry.example/app:1');
      await sleep(SETTLE_MS);
      const rest = await atRest(peers.map((p) => ({ name: p.name, pid: p.pid(), userAgent: p.userAgent })), REST);
      row(`RSS at rest, ${n} object${n > 1 ? 's' : ''} each`, rest.map((r) => mib(r.rssMiB)));
      row(`CPU over ${REST} s at rest, ${n} each`, rest.map((r) => `${r.cpuMs.toFixed(0)} ms`));
      row(`writes over ${REST} s at rest, ${n} each`, rest.map((r) => String(r.writes)));
      const restart = await restartAll(peers, n);
      row(`start-up at ${n}: process start -> every object reconciled`, restart.map((r) => seconds(r.startupMs)));
      row(`RSS ${SETTLE_MS / 1000} s after that restart`, restart.map((r) => mib(r.rssMiB)));
      curve.sizes.push({
        objects: n, loadAverage: loadavg()[0]!,
        peers: Object.fromEntries(peers.map((p, i) => [p.name, {
          rssMiB: rest[i]!.rssMiB, cpuMs: rest[i]!.cpuMs, writes: rest[i]!.writes, startupMs: restart[i]!.startupMs, rssAfterRestartMiB: restart[i]!.rssMiB,
        }])),
      });
      // Written after every size, so a run cut short keeps what it measured.
      if (RESULTS) writeCurve(RESULTS, curve);
    }
    if (SCALES.length > 1) {
      for (const panel of PANELS) row(`${panel.title}, slope per 1,000 objects (${panel.unit})`, peers.map((p) => slopePer1000(curve, panel, p.name)?.toFixed(1) ?? '-'));
    }
    console.log(`\nCoxswain ${PACKAGE_VERSION} and Argo Rollouts ${binary.match(/argo-rollouts-(v[^/]+)/)?.[1] ?? ''} (progressDeadlineSeconds ${ARGO_DEADLINE_SECONDS}, progressDeadlineAbort), one local cluster, ${new Date().toISOString().slice(0, 10)}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}:\n`);
    console.log(table(['measure', ...peers.map((p) => p.name)], rows));
  } finally {
    for (const p of peers) await p.stop().catch(() => undefined);
    for (const p of peers) await k('delete', 'namespace', p.namespace, '--wait=false').catch(() => undefined);
    client.close();
  }
}

await main();
