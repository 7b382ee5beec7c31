// What the production tests share: helm (built from its Go module), the chart's RBAC installed
// under a unique release name, kubeconfigs that authenticate as a ServiceAccount, operators run
// with their own kubeconfig, health port and working directory, and small HTTP helpers. Commands
// run through harness.ts's run()/must(), as in every other file.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as yaml from 'js-yaml';
import { KUBECONFIG, k, kubectl, OperatorProcess, type OperatorProcessOptions, ROOT, run } from './harness.js';

export const HELM = resolve(ROOT, 'hack/tools/helm/helm.sh');
export const CHART = resolve(ROOT, 'charts/coxswain');

/** Helm 4 against the test cluster (`helm template` and `lint` never contact it). */
export const helm = (...args: string[]) => run(HELM, ['--kubeconfig', KUBECONFIG, ...args]);
/** Helm 3, pinned in hack/tools/helm3: many clusters are still installed with it. */
export const helm3 = (...args: string[]) => run(HELM, ['--kubeconfig', KUBECONFIG, ...args], { env: { ...process.env, HELM_MAJOR: '3' } });

/** `helm template` of the chart; values as --set-json pairs. */
export async function template(release: string, namespace: string, values: Record<string, unknown> = {}, using = helm): Promise<string> {
  const sets = Object.entries(values).flatMap(([key, v]) => ['--set-json', `${key}=${JSON.stringify(v)}`]);
  const r = await using('template', release, CHART, '--namespace', namespace, ...sets);
  if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return r.stdout;
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** The objects of a YAML stream (empty documents skipped). */
export function parseManifests(text: string): Manifest[] {
  return yaml.loadAll(text).filter((d): d is Manifest => !!d && typeof d === 'object');
}

export const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'Namespace']);

/**
 * Installs the chart's ServiceAccount and RBAC (as `helm template` renders them) for a release in
 * `namespace`; returns the ServiceAccount's name and a cleanup for the cluster-scoped objects.
 */
export async function installChartRBAC(release: string, namespace: string, values: Record<string, unknown> = {}) {
  const objects = parseManifests(await template(release, namespace, values)).filter((o) =>
    ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind));
  const r = await kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  if (r.code !== 0) throw new Error(`installing the chart's RBAC failed: ${r.stderr}`);
  const sa = objects.find((o) => o.kind === 'ServiceAccount')!.metadata.name;
  const cleanup = async () => {
    for (const o of objects.filter((x) => CLUSTER_SCOPED.has(x.kind))) await kubectl(['delete', o.kind.toLowerCase(), o.metadata.name, '--ignore-not-found', '--wait=false']);
  };
  return { sa, objects, cleanup };
}

/** A kubeconfig for the test cluster that authenticates with a fresh token of a ServiceAccount. */
export async function serviceAccountKubeconfig(namespace: string, sa: string): Promise<string> {
  const token = (await k('create', 'token', sa, '-n', namespace, '--duration', '2h')).trim();
  const admin = JSON.parse(await k('config', 'view', '--raw', '--minify', '-o', 'json'));
  const cluster = admin.clusters[0].cluster;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server: cluster.server, 'certificate-authority-data': cluster['certificate-authority-data'] } }],
    users: [{ name: sa, user: { token } }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: sa, namespace } }],
    'current-context': 'test',
  };
  const dir = mkdtempSync(join(tmpdir(), 'coxswain-sa-'));
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  return file;
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => done(port));
    });
  });
}

export async function http(url: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: 0, body: String(err) };
  }
}

/** The value of one series (`name{labels}`, exactly as exposed) in Prometheus text, or undefined when it is not there. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

export interface RunningOptions extends Omit<OperatorProcessOptions, 'listen' | 'metricsListen'> {
  /**
   * plain (the default): --metrics-secure=false, /metrics on the health port, for the files that
   * read what it counts; secure: the production default, HTTPS /metrics on a port of its own
   * (metricsPort), which production-metrics.test.ts scrapes with ServiceAccount tokens.
   */
  metrics?: 'plain' | 'secure';
}

/** The operator as a child process with its health server (and secure /metrics) on free loopback ports. */
export class RunningOperator extends OperatorProcess {
  port = 0;
  metricsPort = 0;

  constructor(private readonly opts: RunningOptions = {}) {
    super();
  }

  async start(): Promise<this> {
    this.port = await freePort();
    const { metrics = 'plain', ...opts } = this.opts;
    if (metrics === 'secure') {
      this.metricsPort = await freePort();
      this.spawn({ ...opts, listen: `127.0.0.1:${this.port}`, metricsListen: `127.0.0.1:${this.metricsPort}` });
    } else {
      this.spawn({ ...opts, listen: `127.0.0.1:${this.port}`, args: ['--metrics-secure=false', ...(opts.args ?? [])] });
    }
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  get(path: string) {
    return http(this.url(path));
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return (await this.terminate(signal))!;
  }

  /** The identity it campaigns with for the leader Lease. */
  get identity(): string | undefined {
    return this.lines().find((l) => l.msg === 'leader election: campaigning')?.identity as string | undefined;
  }

  /** Keys it reconciled. */
  reconciled(): string[] {
    return this.lines().filter((l) => l.msg === 'reconciled').map((l) => String(l.key));
  }
}

export const suffix = () => randomBytes(3).toString('hex');

/** The resident set size of a process, from /proc (Linux). */
export function rssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
