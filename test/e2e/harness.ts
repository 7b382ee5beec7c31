// What the end-to-end tests share: kubectl against the test cluster, the operator as a child
// process (the same binary users run), polling, and the API server's audit log.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

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

export function kubectl(args: string[], input?: string): Promise<Result> {
  return new Promise((done) => {
    const child = execFile('kubectl', ['--kubeconfig', KUBECONFIG, ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** kubectl that must succeed; returns stdout. */
export async function k(...args: string[]): Promise<string> {
  const r = await kubectl(args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
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
  await k('wait', '--for', 'condition=Established', '--timeout=60s', 'crd/microservices.coxswain.dev', 'crd/analysistemplates.coxswain.dev', 'crd/clusteranalysistemplates.coxswain.dev');
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

export class Operator {
  private child?: ChildProcess;
  output = '';

  constructor(private readonly args: string[]) {}

  start(): this {
    this.child = spawn(process.execPath, [resolve(ROOT, 'dist/cli/main.js'), 'run', '--kubeconfig', KUBECONFIG, '--listen', '', ...this.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'debug' },
    });
    // COXSWAIN_E2E_OPERATOR_LOG keeps every operator's output in a file, to read after a failure.
    const keep = process.env.COXSWAIN_E2E_OPERATOR_LOG;
    const take = (d: Buffer) => { this.output += d; if (keep) appendFileSync(keep, d); };
    this.child.stdout?.on('data', take);
    this.child.stderr?.on('data', take);
    return this;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Stops it as Kubernetes would (SIGTERM); resolves with its exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.child;
    if (!child || !this.alive) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    child.kill(signal);
    return exited;
  }

  /** Its structured log lines. */
  lines(): Array<Record<string, unknown>> {
    return logLines(this.output);
  }
}

/** The JSON log lines in a process's output so far; a line still arriving (no newline yet) is left for later. */
export function logLines(output: string): Array<Record<string, unknown>> {
  return output.split('\n').slice(0, -1).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

export interface AuditEvent {
  verb: string;
  userAgent?: string;
  requestReceivedTimestamp: string;
  stage: string;
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
}

/** The current size of the audit log, to read only what comes after. */
export function auditMark(): number {
  return hasAuditLog ? statSync(AUDIT_LOG!).size : 0;
}

/** Requests the operator (user agent `coxswain/<version> ...`) made since the mark, one per request. */
export function operatorRequests(since: number, namespace?: string): AuditEvent[] {
  const text = readFileSync(AUDIT_LOG!).subarray(since).toString('utf8');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => e.stage === 'ResponseComplete' && e.userAgent?.startsWith('coxswain/') && (!namespace || e.objectRef?.namespace === namespace));
}

export const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export function microservice(name: string, spec: Record<string, unknown>, namespace: string) {
  return { apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', metadata: { name, namespace }, spec };
}

export function condition(obj: any, type: string): { status: string; reason: string; message: string } | undefined {
  return obj?.status?.conditions?.find((c: { type: string }) => c.type === type);
}
