// The only place that talks to the API server: JSON over HTTPS, authenticated as kubectl would be
// (client-node's KubeConfig: KUBECONFIG, ~/.kube/config, in-cluster, exec plugins, tokens).
import { existsSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { type Credentials, Kubeconfig, SERVICE_ACCOUNT_TOKEN } from './kubeconfig.js';
import { userAgent } from '../version.js';

/** One field an API server's Status blames: `details.causes[]`. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly reason: string, message: string, readonly causes: readonly StatusCause[] = []) {
    super(message);
  }
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

const REQUEST_TIMEOUT_MS = 30_000;

export class KubeClient {
  private readonly server: URL;
  private readonly agent: http.Agent;
  private readonly authHeaders: () => Promise<Record<string, string>>;

  private constructor(credentials: Credentials, readonly currentNamespace: string, private readonly userAgent: string) {
    this.server = credentials.server;
    this.authHeaders = credentials.headers;
    const Agent = this.server.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ ...credentials.tls, keepAlive: true, maxSockets: 32 });
  }

  /** Loads credentials as kubectl does: --kubeconfig, else KUBECONFIG, else ~/.kube/config, else in-cluster. */
  static async fromEnvironment(kubeconfig?: string, context?: string, agent = userAgent('coxswain')): Promise<KubeClient> {
    const source = findKubeconfig(kubeconfig, process.env, homedir(), existsSync);
    if ('problem' in source) throw new Error(source.problem);
    const kc = 'inCluster' in source ? Kubeconfig.inCluster() : Kubeconfig.load(source.files);
    if (context) kc.currentContext = context;
    const problem = contextProblem(kc, source.describe, !!context);
    if (problem) throw new Error(problem);
    const credentials = kc.needsPlugin ? await pluginCredentials(source, context) : kc.credentials(source.describe);
    return new KubeClient(credentials, kc.context?.namespace || 'default', agent);
  }

  private async open(method: string, path: string, opts: RequestOptions): Promise<http.IncomingMessage> {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const body = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string> = { ...(await this.authHeaders()), Accept: 'application/json', 'User-Agent': this.userAgent };
    if (body) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(body.length);
    }
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(url, { method, headers, agent: this.agent, signal: opts.signal }, resolve);
      req.on('error', reject);
      req.end(body);
    });
  }

  /** One request; it gives up after REQUEST_TIMEOUT_MS, so a hung connection never holds a reconcile. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    // A timer cleared when the request is done, not AbortSignal.timeout: that one stays armed for
    // the full 30 s after every request and then fires into a finished request, so a burst of a
    // thousand requests (a restart) left a thousand timers and signals behind it.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error(`${method} ${path}: no answer after ${REQUEST_TIMEOUT_MS / 1000}s`)), REQUEST_TIMEOUT_MS);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout.signal]) : timeout.signal;
    try {
      const res = await this.open(method, path, { ...opts, signal });
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) return (text ? JSON.parse(text) : undefined) as T;
      throw toApiError(status, text);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Streams a watch. Resolves when the server closes the stream (a normal timeout); rejects on
   * an HTTP error. A 410 Gone arrives as an ERROR event whose object is a Status with code 410.
   */
  async watch<T>(path: string, query: RequestOptions['query'], onEvent: (e: WatchEvent<T>) => void, signal?: AbortSignal): Promise<void> {
    const res = await this.open('GET', path, { query: { ...query, watch: true }, signal });
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      throw toApiError(status, Buffer.concat(chunks).toString('utf8'));
    }
    const lines = createInterface({ input: res, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (line.trim()) onEvent(JSON.parse(line) as WatchEvent<T>);
      }
    } catch (err) {
      if (!signal?.aborted) throw err;
    } finally {
      res.destroy();
    }
  }

  close(): void {
    this.agent.destroy();
  }
}

export { SERVICE_ACCOUNT_TOKEN };

export type KubeconfigSource =
  | { files: string[]; describe: string }
  | { inCluster: true; describe: string }
  | { problem: string };

/**
 * Where credentials come from, looked for as kubectl does: the --kubeconfig flag, else the
 * files of KUBECONFIG (those that exist), else ~/.kube/config, else the pod's service account.
 * Finding none is a problem that says where it looked and what to set, rather than the HTTP
 * default to localhost:8080 that client-node would fall back to.
 */
export function findKubeconfig(flag: string | undefined, env: NodeJS.ProcessEnv, home: string | undefined, exists: (path: string) => boolean): KubeconfigSource {
  if (flag) return exists(flag) ? { files: [flag], describe: flag } : { problem: `--kubeconfig ${flag}: no such file` };
  if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(delimiter).filter(Boolean);
    const found = files.filter(exists);
    if (found.length === 0) return { problem: `KUBECONFIG=${env.KUBECONFIG}: no such file${files.length > 1 ? 's' : ''}; point it (or --kubeconfig) at a kubeconfig file` };
    return { files: found, describe: found.length === 1 ? found[0]! : `KUBECONFIG (${found.join(delimiter)})` };
  }
  const config = home ? join(home, '.kube', 'config') : undefined;
  if (config && exists(config)) return { files: [config], describe: config };
  if (exists(SERVICE_ACCOUNT_TOKEN)) return { inCluster: true, describe: 'the in-cluster service account' };
  return {
    problem: `no cluster to talk to: KUBECONFIG is not set, ${config ?? '~/.kube/config'} does not exist, and this is not a pod with a service account (no ${SERVICE_ACCOUNT_TOKEN}); `
      + 'set KUBECONFIG or pass --kubeconfig FILE with a kubeconfig for your cluster (the one kubectl uses)',
  };
}

/** What is wrong with the chosen context (missing, or naming a cluster that is not there), if anything. */
export function contextProblem(kc: Kubeconfig, where: string, chosen: boolean): string | undefined {
  const current = kc.currentContext;
  const names = [...kc.contexts.keys()];
  const choices = names.length > 0 ? `it has ${names.map((n) => `"${n}"`).join(', ')}` : 'it has no contexts';
  if (!current) return `${where} sets no current context; choose one with --context (${choices})`;
  const context = kc.context;
  if (!context) return chosen ? `context "${current}" does not exist in ${where}; ${choices}` : `the current context "${current}" of ${where} does not exist; ${choices}`;
  if (!kc.cluster) return `context "${current}" in ${where} names cluster "${context.cluster}", which is not defined there`;
  return undefined;
}

/**
 * A user authenticated by an exec plugin or an auth provider (OIDC, cloud providers): client-node
 * runs those, loaded only here. Its headers are asked for on every request, so refreshed tokens
 * are picked up.
 */
async function pluginCredentials(source: { files: string[] } | { inCluster: true }, context: string | undefined): Promise<Credentials> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if ('inCluster' in source) kc.loadFromCluster();
  else {
    kc.loadFromFile(source.files[0]!);
    for (const file of source.files.slice(1)) {
      const more = new KubeConfig();
      more.loadFromFile(file);
      kc.mergeConfig(more);
    }
  }
  if (context) kc.setCurrentContext(context);
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = opts;
  return {
    server: new URL(kc.getCurrentCluster()!.server),
    tls: { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername },
    headers: async () => {
      const fresh: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(fresh);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(fresh.headers ?? {})) if (v !== undefined) headers[k] = String(v);
      if (fresh.auth) headers.Authorization = `Basic ${Buffer.from(fresh.auth).toString('base64')}`;
      return headers;
    },
  };
}

/**
 * The API server adds this fieldless cause (printed `<nil>: Invalid value: null: ...`) to every
 * refusal of a custom resource that failed its schema before its CEL rules ran. It names no
 * field and says nothing a person can act on beyond the causes beside it.
 */
const UNCHECKED_RULES = /some validation rules were not checked because the object was invalid/;

/** An API server's response body (a Status, usually) as an ApiError, without the `<nil>` note. */
export function toApiError(status: number, text: string): ApiError {
  let s: { reason?: string; message?: string; details?: { causes?: StatusCause[] } };
  try {
    s = JSON.parse(text) as typeof s;
  } catch {
    return new ApiError(status, String(status), text.slice(0, 500) || `HTTP ${status}`);
  }
  const causes = (s.details?.causes ?? []).filter((c) => !UNCHECKED_RULES.test(c.message ?? ''));
  return new ApiError(status, s.reason ?? String(status), withoutUncheckedNote(s.message ?? text, causes.length), causes);
}

/** `X is invalid: [a: ..., <nil>: Invalid value: null: some validation rules ...]` -> `X is invalid: a: ...`. */
function withoutUncheckedNote(message: string, causes: number): string {
  const note = /(, )?<nil>: Invalid value: "?null"?: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation/;
  if (!note.test(message)) return message;
  const rest = message.replace(note, '');
  // One cause left: printed without brackets, as the API server prints a single cause.
  return causes === 1 ? rest.replace(/: \[(.*)\]$/s, ': $1') : rest;
}
