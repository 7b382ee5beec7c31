// Benchmark: how long a 4-step canary with no pauses takes on the local cluster, from apply to
// completion, and how much of it was the operator's own work. Prints numbers; asserts nothing.
// Run with `make bench` (starts the local cluster when none is up).
import {
  apply, condition, createNamespace, deleteNamespace, eventually, getJSON, installCRD, microservice, Operator,
} from '../test/e2e/harness.js';
import { rssBytes } from '../test/e2e/production-harness.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const REPLICAS = Number(process.env.BENCH_REPLICAS ?? 8);
const steps = [{ setWeight: 25 }, { setWeight: 50 }, { setWeight: 75 }, { setWeight: 100 }];
const spec = (image: string) => ({
  image, replicas: REPLICAS, ports: [{ name: 'http', port: 8080 }],
  strategy: { type: 'Canary', canary: { steps, maxSurge: '25%', maxUnavailable: 0 } },
});

async function main() {
  await installCRD();
  const ns = await createNamespace('bench-canary');
  const operator = new Operator(['--namespaces', ns]).start();
  const live = (image: string) => async () => {
    const o = await getJSON('microservice', '-n', ns, 'bench');
    return o?.status?.phase === 'Healthy' && o.status.slots?.[o.status.activeSlot]?.image === image && condition(o, 'Ready')?.status === 'True';
  };
  try {
    await apply(microservice('bench', spec('registry.example/bench:0'), ns));
    await eventually('first revision', live('registry.example/bench:0'), 120_000, 50);
    const results: Array<{ total: number; reconcileMs: number; reconciles: number; writes: number }> = [];
    for (let run = 1; run <= RUNS; run++) {
      const before = operator.lines().length;
      const started = performance.now();
      const image = `registry.example/bench:${run}`;
      await apply(microservice('bench', spec(image), ns));
      await eventually('the canary to complete', live(image), 300_000, 50);
      const total = performance.now() - started;
      const reconciles = operator.lines().slice(before).filter((l) => l.msg === 'reconciled');
      results.push({
        total,
        reconcileMs: reconciles.reduce((n, l) => n + Number(l.durationMs ?? 0), 0),
        reconciles: reconciles.length,
        writes: reconciles.reduce((n, l) => n + Number(l.writes ?? 0), 0),
      });
    }
    console.log(`4-step canary (25/50/75/100, no pauses) at ${REPLICAS} replicas, maxSurge 25%, ${RUNS} runs:`);
    for (const [i, r] of results.entries()) {
      console.log(`  run ${i + 1}: ${(r.total / 1000).toFixed(2)}s apply->complete; operator busy ${r.reconcileMs}ms in ${r.reconciles} reconciles (${r.writes} writes); waiting on the cluster (pods, Deployment controller) ${((r.total - r.reconcileMs) / 1000).toFixed(2)}s = ${(100 * (1 - r.reconcileMs / r.total)).toFixed(0)}%`);
    }
    const median = [...results].sort((a, b) => a.total - b.total)[Math.floor(results.length / 2)]!;
    console.log(`  median: ${(median.total / 1000).toFixed(2)}s (poll interval 50ms adds up to that much to each run)`);
    // Idle memory: the chart requests 128Mi for the operator; this is what it uses at rest.
    await new Promise((r) => setTimeout(r, 10_000));
    console.log(`idle operator RSS after the runs: ${((rssBytes(operator.pid!) ?? 0) / 2 ** 20).toFixed(0)} MiB`);
  } finally {
    await operator.stop();
    await deleteNamespace(ns);
  }
}

await main();
