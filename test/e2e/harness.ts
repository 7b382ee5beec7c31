// What the end-to-end tests share: kubectl against the test cluster, the operator as a child
// process (the same binary users run), polling, and the API server's audit log.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { prng } from '../support/prng.js';

export const ROOT = resolve(import.meta.dirname, '../..');
/** The version package.json gives, which the operator should report. */
export const PACKAGE_VERSION = (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
export const KUBECONFIG = process.env.COXSWAIN_E2E_KUBECONFIG ?? resolve(ROOT, '.cluster/kubeconfig');
export const AUDIT_LOG = process.env.COXSWAIN_E2E_AUDIT_LOG;
export const hasAuditLog = !!AUDIT_LOG && existsSync(AUDIT_LOG);

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  input?: string;
  env?: NodeJS.ProcessEnv;
}

/** The one way the suite runs a command: its exit code and output, never a throw. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<Result> {
  return new Promise((done) => {
    const child = execFile(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs a command that must succeed; returns stdout. */
export async function must(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export function kubectl(args: string[], input?: string): Promise<Result> {
  return run('kubectl', ['--kubeconfig', KUBECONFIG, ...args], { input });
}

/** kubectl that must succeed; returns stdout. */
export async function k(...args: string[]): Promise<string> {
  const r = await kubectl(args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * A long-running kubectl (a watch), its stdout handed over line by line as it comes; stop() ends
 * it and resolves once the last line has been handed over.
 */
export function kubectlStream(args: string[], onLine: (line: string) => void): { stop: (signal?: NodeJS.Signals) => Promise<void>; stderr: () => string } {
  return stream('kubectl', ['--kubeconfig', KUBECONFIG, ...args], process.env, onLine);
}

/** A long-running command, its stdout handed over line by line as it comes (see kubectlStream). */
function stream(cmd: string, args: string[], env: NodeJS.ProcessEnv, onLine: (line: string) => void): { stop: (signal?: NodeJS.Signals) => Promise<void>; stderr: () => string } {
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let rest = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    const lines = (rest + d.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onLine(line);
  });
  child.stderr.on('data', (d: Buffer) => { stderr += d; });
  const closed = new Promise<void>((r) => child.once('close', () => r()));
  return {
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => { if (child.exitCode === null && child.signalCode === null) child.kill(signal); await closed; },
    stderr: () => stderr,
  };
}

let pluginPath: string | undefined;

/**
 * A PATH on which kubectl finds the plugin by its file name, installed as the README's symlink
 * install does (`ln -s $PWD/dist/cli/plugin.js ~/bin/kubectl-coxswain`), with the project's Node 24
 * first. Nothing here makes the file executable: the build must have (issue 16, defect 7).
 */
function pluginPATH(): string {
  if (pluginPath) return pluginPath;
  // A directory of its own, gone at exit. (It was named by the pid, its link kept if there: pids
  // come round again, and a directory another checkout's run had left put that checkout's plugin,
  // often deleted since, first on PATH, so a `kubectl coxswain promote` now and then did nothing.)
  const bin = mkdtempSync(join(tmpdir(), 'coxswain-plugin-'));
  symlinkSync(resolve(ROOT, 'dist/cli/plugin.js'), join(bin, 'kubectl-coxswain'));
  process.once('exit', () => rmSync(bin, { recursive: true, force: true }));
  pluginPath = `${bin}:${resolve(ROOT, 'node_modules/.bin')}:${process.env.PATH}`;
  return pluginPath;
}

/** `kubectl coxswain ARGS -n NS` exactly as typed, through kubectl's plugin mechanism; no `-n` when `ns` is undefined. */
export function kubectlCoxswain(ns: string | undefined, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return run('kubectl', ['coxswain', ...args, ...(ns === undefined ? [] : ['-n', ns])], { env: { ...process.env, PATH: pluginPATH(), KUBECONFIG, ...env } });
}

/** A `kubectl coxswain ARGS -n NS` that keeps running (`get --watch`), its output line by line as it comes. */
export function kubectlCoxswainStream(ns: string, args: string[], onLine: (line: string) => void): { stop: (signal?: NodeJS.Signals) => Promise<void>; stderr: () => string } {
  return stream('kubectl', ['coxswain', ...args, '-n', ns], { ...process.env, PATH: pluginPATH(), KUBECONFIG }, onLine);
}

export async function apply(manifest: object | string, ...args: string[]): Promise<Result> {
  return kubectl(['apply', '-f', '-', ...args], typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
}

export async function getJSON<T = any>(...args: string[]): Promise<T | undefined> {
  const r = await kubectl(['get', ...args, '-o', 'json']);
  if (r.code !== 0) {
    if (/NotFound|not found/.test(r.stderr)) return undefined;
    throw new Error(`kubectl get ${args.join(' ')}: ${r.stderr}`);
  }
  return JSON.parse(r.stdout) as T;
}

/**
 * A seeded generator for a test's random instants, its seed printed: COXSWAIN_E2E_SEED=N replays
 * a failing run's instants (a random seed otherwise).
 */
export function seeded(what: string): { seed: number; random: () => number } {
  const seed = Number(process.env.COXSWAIN_E2E_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`${what}: seed ${seed} (COXSWAIN_E2E_SEED=${seed} replays it)`);
  return { seed, random: prng(seed) };
}

/** Polls until `check` returns a value other than undefined/false, or fails with the last state seen. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 90_000, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function installCRD(): Promise<void> {
  // Every CRD in crds/: the Microservice one, and the analysis templates the operator also watches.
  await k('apply', '--server-side', '--force-conflicts', '-f', resolve(ROOT, 'crds'));
  await crdsEstablished('microservices.coxswain.dev', 'analysistemplates.coxswain.dev', 'clusteranalysistemplates.coxswain.dev');
}

/**
 * Waits until every CRD named is Established, with hack/wait-condition.sh, as `make run` does: on a
 * CRD created a moment ago (status.conditions still null) `kubectl wait --for condition=Established`
 * fails at once instead of waiting.
 */
export async function crdsEstablished(...names: string[]): Promise<void> {
  await must(resolve(ROOT, 'hack/wait-condition.sh'), ['Established', ...names.map((n) => `crd/${n}`)], { env: { ...process.env, KUBECONFIG } });
}

export async function createNamespace(prefix: string): Promise<string> {
  const ns = `${prefix}-${randomBytes(3).toString('hex')}`;
  await k('create', 'namespace', ns);
  // The admission of pods needs the namespace's default ServiceAccount.
  await eventually(`default ServiceAccount in ${ns}`, async () => (await kubectl(['-n', ns, 'get', 'serviceaccount', 'default'])).code === 0);
  return ns;
}

export async function deleteNamespace(ns: string): Promise<void> {
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
}

export interface OperatorProcessOptions {
  /** Defaults to the admin kubeconfig of the test cluster. */
  kubeconfig?: string;
  /** --listen; empty (the default) serves no health port. */
  listen?: string;
  /** --metrics-listen, the HTTPS /metrics; empty (the default) serves none. */
  metricsListen?: string;
  args?: string[];
  /** Where dist/cli/main.js is: the repository, or a folder laid out like the image. */
  appDir?: string;
  env?: NodeJS.ProcessEnv;
}

/** Node's flags in a checkout's Dockerfile ENTRYPOINT (between `node` and the script). */
const imageNodeFlags = (dir: string) => (JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(resolve(dir, 'Dockerfile'), 'utf8'))![1]!) as string[]).slice(1, -1);
/** Node's flags in the image's ENTRYPOINT: every operator started here runs with them. */
export const IMAGE_NODE_FLAGS = imageNodeFlags(ROOT);

/**
 * `coxswain run` as a child process, the same binary users run, with the image's Node flags, with its output kept (and, with
 * COXSWAIN_E2E_OPERATOR_LOG=FILE, appended to FILE, to read after a failure).
 */
export class OperatorProcess {
  private child?: ChildProcess;
  output = '';
  exit?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  protected spawn(opts: OperatorProcessOptions): void {
    const appDir = opts.appDir ?? ROOT;
    // Another checkout (a benchmark's baseline) runs with its own image's flags; a folder laid out like the image, with these.
    const flags = existsSync(resolve(appDir, 'Dockerfile')) ? imageNodeFlags(appDir) : IMAGE_NODE_FLAGS;
    const args = [...flags, resolve(appDir, 'dist/cli/main.js'), 'run', '--kubeconfig', opts.kubeconfig ?? KUBECONFIG, '--listen', opts.listen ?? '', '--metrics-listen', opts.metricsListen ?? '', ...(opts.args ?? [])];
    const child = spawn(process.execPath, args, { cwd: appDir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'debug', ...opts.env } });
    this.child = child;
    const keep = process.env.COXSWAIN_E2E_OPERATOR_LOG;
    const take = (d: Buffer) => { this.output += d; if (keep) appendFileSync(keep, d); };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    this.exit = new Promise((r) => child.once('close', (code, signal) => r({ code, signal })));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Stops it as Kubernetes would (SIGTERM, unless told otherwise); resolves once it has exited. */
  protected async terminate(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
    if (!this.child) return undefined;
    if (this.alive) this.child.kill(signal);
    return this.exit;
  }

  /** Its structured log lines. */
  lines(): Array<Record<string, unknown>> {
    return logLines(this.output);
  }
}

/** The operator with no health port, on the admin kubeconfig: what most files run. */
export class Operator extends OperatorProcess {
  constructor(private readonly args: string[]) {
    super();
  }

  start(): this {
    this.spawn({ args: this.args });
    return this;
  }

  /** Stops it as Kubernetes would (SIGTERM); resolves with its exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    return (await this.terminate(signal))?.code ?? null;
  }
}

/** The JSON log lines in a process's output so far; a line still arriving (no newline yet) is left for later. */
export function logLines(output: string): Array<Record<string, unknown>> {
  return output.split('\n').slice(0, -1).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

export interface AuditEvent {
  verb: string;
  userAgent?: string;
  user?: { username?: string };
  requestReceivedTimestamp: string;
  stage: string;
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
}

/** The current size of the audit log, to read only what comes after. */
export function auditMark(): number {
  return hasAuditLog ? statSync(AUDIT_LOG!).size : 0;
}

/** Every request the API server completed since the mark, one per request (the audit log's ResponseComplete stage). */
export function auditEvents(since: number): AuditEvent[] {
  const text = readFileSync(AUDIT_LOG!).subarray(since).toString('utf8');
  // Complete lines only: the API server may be half-way through writing the last one.
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEvent).filter((e) => e.stage === 'ResponseComplete');
}

/** Requests the operator (user agent `coxswain/<version> ...`) made since the mark, one per request. */
export function operatorRequests(since: number, namespace?: string): AuditEvent[] {
  return auditEvents(since).filter((e) => e.userAgent?.startsWith('coxswain/') && (!namespace || e.objectRef?.namespace === namespace));
}

export const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export function microservice(name: string, spec: Record<string, unknown>, namespace: string) {
  return { apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', metadata: { name, namespace }, spec };
}

export function condition(obj: any, type: string): { status: string; reason: string; message: string } | undefined {
  return obj?.status?.conditions?.find((c: { type: string }) => c.type === type);
}
