// Coxswain and Argo Rollouts side by side on one local cluster, in one run: the same 4-step canary
// (25/50/75/100, no pauses, 8 replicas, maxSurge 25%, maxUnavailable 0) timed in alternating runs,
// the writes each makes per rollout (audit log), RSS and CPU at rest at 1, 300 and 1,000 objects
// each, and start-up at the largest size. Argo Rollouts is built from its Go module
// (hack/tools/argo-rollouts) and runs namespaced, without leader election; Coxswain runs with
// --namespaces, as the chart does with `namespaces`. Prints one table; asserts nothing.
//
// Run with `make bench-peers`. BENCH_RUNS (5), BENCH_SCALES (1,300,1000), BENCH_REST_SECONDS (120).
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { MICROSERVICES, resourcePath, type Resource } from '../src/kube/resources.js';
import type { KubeObject } from '../src/kube/object.js';
import type { KubeClient } from '../src/kube/client.js';
import { auditMark, crdsEstablished, createNamespace, installCRD, k, KUBECONFIG, logLines, must, PACKAGE_VERSION, ROOT, sleep } from '../test/e2e/harness.js';
import { applyAll, atRest, BenchOperator, benchClient, ensureNodes, quietCluster, listAll, median, mib, processStats, seconds, table, until, writesSince } from './lib.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SCALES = (process.env.BENCH_SCALES ?? '1,300,1000').split(',').map(Number);
const REST = Number(process.env.BENCH_REST_SECONDS ?? 120);
const SETTLE_MS = 30_000;
const ROLLOUTS: Resource = { group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts', kind: 'Rollout' };
const steps = [{ setWeight: 25 }, { setWeight: 50 }, { setWeight: 75 }, { setWeight: 100 }];

/** One controller under test: how to write its object, when that object is done, how to start it. */
interface Peer {
  name: string;
  userAgent: string;
  namespace: string;
  resource: Resource;
  object(name: string, image: string, replicas: number): KubeObject;
  done(obj: KubeObject | undefined, image: string): boolean;
  start(): void;
  stop(): Promise<void>;
  pid(): number;
  /** How many distinct objects it has reconciled since it started. */
  reconciled(): number;
}

function coxswain(namespace: string): Peer {
  let proc = new BenchOperator();
  return {
    name: 'Coxswain', userAgent: 'coxswain/', namespace, resource: MICROSERVICES,
    object: (name, image, replicas) => ({
      apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', metadata: { name, namespace },
      spec: { image, replicas, ports: [{ name: 'http', port: 8080 }], strategy: { type: 'Canary', canary: { steps, maxSurge: '25%', maxUnavailable: 0 } } },
    }),
    done: (o, image) => {
      const st = o?.status as { phase?: string; activeSlot?: string; slots?: Record<string, { image?: string }>; conditions?: Array<{ type: string; status: string }> } | undefined;
      return st?.phase === 'Healthy' && st.slots?.[st.activeSlot ?? '']?.image === image && !!st.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    },
    start: () => { proc = new BenchOperator().start(namespace); },
    stop: () => proc.stop(),
    pid: () => proc.pid!,
    reconciled: () => new Set(proc.reconciles().map((l) => l.key)).size,
  };
}

function argoRollouts(namespace: string, binary: string): Peer {
  let child: ChildProcess | undefined;
  let output = '';
  return {
    name: 'Argo Rollouts', userAgent: 'rollouts-controller/', namespace, resource: ROLLOUTS,
    object: (name, image, replicas) => ({
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name, namespace },
      spec: {
        replicas, selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image, ports: [{ name: 'http', containerPort: 8080 }] }] } },
        strategy: { canary: { steps, maxSurge: '25%', maxUnavailable: 0 } },
      },
    }),
    done: (o, image) => {
      const st = o?.status as { phase?: string; stableRS?: string; currentPodHash?: string; observedGeneration?: string } | undefined;
      const spec = o?.spec as { template?: { spec?: { containers?: Array<{ image?: string }> } } } | undefined;
      return st?.phase === 'Healthy' && !!st.stableRS && st.stableRS === st.currentPodHash
        && String(st.observedGeneration) === String(o?.metadata.generation) && spec?.template?.spec?.containers?.[0]?.image === image;
    },
    start: () => {
      output = '';
      child = spawn(binary, ['--namespaced', '--namespace', namespace, '--leader-elect=false', '--kubeconfig', KUBECONFIG,
        '--metricsPort', process.env.BENCH_ARGO_METRICS_PORT ?? '18090', '--healthzPort', process.env.BENCH_ARGO_HEALTHZ_PORT ?? '18080',
        '--logformat', 'json', '--loglevel', 'info'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POD_NAMESPACE: namespace } });
      child.stdout?.on('data', (d) => (output += d));
      child.stderr?.on('data', (d) => (output += d));
    },
    stop: async () => {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((r) => child!.once('close', r));
      child.kill('SIGTERM');
      await exited;
    },
    pid: () => child!.pid!,
    reconciled: () => new Set(logLines(output).filter((l) => l.msg === 'Reconciliation completed').map((l) => l.rollout)).size,
  };
}

async function get(client: KubeClient, peer: Peer, name: string): Promise<KubeObject | undefined> {
  return client.request<KubeObject>('GET', resourcePath(peer.resource, peer.namespace, name)).catch(() => undefined);
}

async function waitDone(client: KubeClient, peer: Peer, name: string, image: string, start: number): Promise<number> {
  return until(`${peer.name} ${name} at ${image}`, async () => (peer.done(await get(client, peer, name), image) ? 1 : 0), 1, start, 600_000, 50);
}

/** Grows each peer to `n` objects (the canary's one included), then waits until all are done. */
async function scaleTo(client: KubeClient, peers: Peer[], n: number, image: string): Promise<void> {
  const start = performance.now();
  await Promise.all(peers.map((p) => applyAll(client, () => p.resource, Array.from({ length: n - 1 }, (_, i) => p.object(`app-${i}`, image, 1)), 8)));
  await Promise.all(peers.map((p) => until(`${p.name}: ${n} objects done`, async () => {
    const items = await listAll(client, p.resource, p.namespace);
    return items.filter((o) => o.metadata.name === 'bench' || p.done(o, image)).length;
  }, n, start, 1_800_000, 2000)));
}

async function main() {
  const binary = (await must(resolve(ROOT, 'hack/tools/argo-rollouts/argo-rollouts.sh'), [])).trim();
  const crds = (await must(resolve(ROOT, 'hack/tools/argo-rollouts/argo-rollouts.sh'), ['--crds'])).trim();
  await installCRD();
  await k('apply', '--server-side', '--force-conflicts', '-f', crds);
  await crdsEstablished('rollouts.argoproj.io');
  await ensureNodes(2 * Math.max(...SCALES) + 40);
  await quietCluster();
  const client = await benchClient();
  const peers = [coxswain(await createNamespace('peers-coxswain')), argoRollouts(await createNamespace('peers-argo'), binary)];
  const rows: string[][] = [];
  const row = (what: string, cells: string[]) => rows.push([what, ...cells]);
  try {
    for (const p of peers) p.start();
    // The canary: a first revision, then RUNS new ones per peer, the peers taking turns to go first.
    await Promise.all(peers.map(async (p) => {
      await applyAll(client, () => p.resource, [p.object('bench', 'registry.example/bench:0', 8)], 1);
      await waitDone(client, p, 'bench', 'registry.example/bench:0', performance.now());
    }));
    const times = new Map<Peer, number[]>(peers.map((p) => [p, []]));
    const writes = new Map<Peer, number[]>(peers.map((p) => [p, []]));
    for (let run = 1; run <= RUNS; run++) {
      for (const p of run % 2 ? peers : [...peers].reverse()) {
        const image = `registry.example/bench:${run}`;
        const mark = auditMark();
        const start = performance.now();
        await applyAll(client, () => p.resource, [p.object('bench', image, 8)], 1);
        times.get(p)!.push(await waitDone(client, p, 'bench', image, start));
        await sleep(2000); // writes that trail completion (a last status) count for this run
        writes.get(p)!.push(writesSince(mark, p.userAgent));
      }
    }
    const ms = (xs: number[]) => `${seconds(median(xs))} (${seconds(Math.min(...xs))}-${seconds(Math.max(...xs))})`;
    row(`4-step canary, apply -> complete: median (min-max) of ${RUNS}`, peers.map((p) => ms(times.get(p)!)));
    row('writes per rollout (audit log), median', peers.map((p) => String(median(writes.get(p)!))));
    for (const n of SCALES) {
      if (n > 1) await scaleTo(client, peers, n, 'registry.example/app:1');
      await sleep(SETTLE_MS);
      const rest = await atRest(peers.map((p) => ({ name: p.name, pid: p.pid(), userAgent: p.userAgent })), REST);
      row(`RSS at rest, ${n} object${n > 1 ? 's' : ''} each`, rest.map((r) => mib(r.rssMiB)));
      row(`CPU over ${REST} s at rest, ${n} each`, rest.map((r) => `${r.cpuMs.toFixed(0)} ms`));
      row(`writes over ${REST} s at rest, ${n} each`, rest.map((r) => String(r.writes)));
    }
    // Start-up at the largest size: process start -> every object reconciled once.
    const n = Math.max(...SCALES);
    const startup: string[] = [];
    for (const p of peers) {
      await p.stop();
      const start = performance.now();
      p.start();
      startup.push(seconds(await until(`${p.name} to reconcile all ${n}`, async () => p.reconciled(), n, start, 600_000, 50)));
    }
    row(`start-up at ${n}: process start -> every object reconciled`, startup);
    await sleep(SETTLE_MS);
    row(`RSS ${SETTLE_MS / 1000} s after that restart`, peers.map((p) => mib(processStats(p.pid()).rssMiB)));
    console.log(`\nCoxswain ${PACKAGE_VERSION} and Argo Rollouts ${binary.match(/argo-rollouts-(v[^/]+)/)?.[1] ?? ''}, one local cluster, ${new Date().toISOString().slice(0, 10)}:\n`);
    console.log(table(['measure', ...peers.map((p) => p.name)], rows));
  } finally {
    for (const p of peers) await p.stop().catch(() => undefined);
    for (const p of peers) await k('delete', 'namespace', p.namespace, '--wait=false').catch(() => undefined);
    client.close();
  }
}

await main();
