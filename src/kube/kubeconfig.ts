// Credentials from a kubeconfig or a pod's service account, read as kubectl reads them.
//
// Why not client-node's KubeConfig for everything: importing it loads every generated API model,
// about 60 MiB of resident memory and 23 MiB of heap that a long-lived operator keeps to the end
// (measured with `node --expose-gc`: see docs/performance.md). This file handles what an operator
// runs with (the in-cluster service account; client certificates, tokens, token files and basic
// auth in a kubeconfig). A user authenticated by an exec plugin or an auth provider is handed to
// client-node, imported only then.
import { readFileSync } from 'node:fs';
import type * as https from 'node:https';
import { dirname, isAbsolute, resolve } from 'node:path';
import * as yaml from 'js-yaml';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
export const SERVICE_ACCOUNT_TOKEN = `${SERVICE_ACCOUNT_DIR}/token`;

/** A kubeconfig file's fields that Coxswain reads; paths in them are relative to their file. */
interface Named<T> { name: string; value: T }
export interface Cluster {
  server: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
}
export interface User {
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  exec?: unknown;
  'auth-provider'?: unknown;
}
export interface Context { cluster: string; user: string; namespace?: string }

/** What a request needs: where to send it, its TLS options, and headers fresh for each request. */
export interface Credentials {
  server: URL;
  tls: https.AgentOptions;
  headers(): Promise<Record<string, string>>;
}

/** One or more kubeconfig files merged as kubectl merges them: the first to name an entry wins. */
export class Kubeconfig {
  currentContext: string;
  readonly clusters = new Map<string, Cluster>();
  readonly users = new Map<string, User>();
  readonly contexts = new Map<string, Context>();

  private constructor(current: string) {
    this.currentContext = current;
  }

  /** Texts with the directory their relative paths are resolved against. */
  static parse(files: Array<{ text: string; dir: string }>): Kubeconfig {
    const docs = files.map(({ text, dir }) => ({ doc: (yaml.load(text) ?? {}) as Record<string, unknown>, dir }));
    const kc = new Kubeconfig(docs.map(({ doc }) => doc['current-context']).find((c): c is string => typeof c === 'string' && c !== '') ?? '');
    for (const { doc, dir } of docs) {
      for (const c of entries<Cluster>(doc.clusters, 'cluster')) setOnce(kc.clusters, c.name, withPaths(c.value, dir, ['certificate-authority']));
      for (const u of entries<User>(doc.users, 'user')) setOnce(kc.users, u.name, withPaths(u.value, dir, ['client-certificate', 'client-key', 'tokenFile']));
      for (const c of entries<Context>(doc.contexts, 'context')) setOnce(kc.contexts, c.name, c.value);
    }
    return kc;
  }

  static load(files: string[]): Kubeconfig {
    return Kubeconfig.parse(files.map((f) => ({ text: readFileSync(f, 'utf8'), dir: dirname(resolve(f)) })));
  }

  /** The pod's own service account, as client-go's rest.InClusterConfig reads it. */
  static inCluster(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): Kubeconfig {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT;
    if (!host || !port) throw new Error('in a pod without KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT: cannot find the API server');
    let namespace = 'default';
    try { namespace = readFileSync(`${dir}/namespace`, 'utf8').trim() || namespace; } catch { /* kept: default */ }
    const kc = new Kubeconfig('in-cluster');
    kc.clusters.set('in-cluster', { server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`, 'certificate-authority': `${dir}/ca.crt` });
    kc.users.set('in-cluster', { tokenFile: `${dir}/token` });
    kc.contexts.set('in-cluster', { cluster: 'in-cluster', user: 'in-cluster', namespace });
    return kc;
  }

  get context(): Context | undefined {
    return this.contexts.get(this.currentContext);
  }

  get cluster(): Cluster | undefined {
    const c = this.context;
    return c ? this.clusters.get(c.cluster) : undefined;
  }

  get user(): User {
    const c = this.context;
    return (c && this.users.get(c.user)) ?? {};
  }

  /** True when the user authenticates through an exec plugin or an auth provider: client-node's part. */
  get needsPlugin(): boolean {
    return this.user.exec !== undefined || this.user['auth-provider'] !== undefined;
  }

  /** The current context's server, TLS and headers; throws on what no request could use. */
  credentials(where: string): Credentials {
    const cluster = this.cluster!;
    const user = this.user;
    const server = new URL(cluster.server);
    const insecure = cluster['insecure-skip-tls-verify'] === true;
    if (server.protocol === 'http:' && !insecure) {
      throw new Error(`the cluster of context "${this.currentContext}" in ${where} is plain HTTP (${cluster.server}); use its https address, or set insecure-skip-tls-verify: true on it`);
    }
    const tls: https.AgentOptions = {
      ca: bytes(cluster['certificate-authority-data'], cluster['certificate-authority']),
      cert: bytes(user['client-certificate-data'], user['client-certificate']),
      key: bytes(user['client-key-data'], user['client-key']),
      rejectUnauthorized: !insecure,
      servername: cluster['tls-server-name'],
    };
    const basic = user.username !== undefined ? `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}` : undefined;
    const token = user.token ? () => user.token : user.tokenFile ? rereadEvery(60_000, user.tokenFile) : undefined;
    return {
      server,
      tls,
      headers: async (): Promise<Record<string, string>> => {
        const t = token?.();
        return t ? { Authorization: `Bearer ${t}` } : basic ? { Authorization: basic } : {};
      },
    };
  }
}

function entries<T>(list: unknown, field: string): Array<Named<T>> {
  if (!Array.isArray(list)) return [];
  return list.filter((e): e is Record<string, unknown> => !!e && typeof e === 'object' && typeof e.name === 'string')
    .map((e) => ({ name: e.name as string, value: (e[field] ?? {}) as T }));
}

function setOnce<T>(map: Map<string, T>, key: string, value: T): void {
  if (!map.has(key)) map.set(key, value);
}

function withPaths<T extends object>(value: T, dir: string, fields: string[]): T {
  const out = { ...value } as Record<string, unknown>;
  for (const f of fields) if (typeof out[f] === 'string' && out[f] !== '' && !isAbsolute(out[f] as string)) out[f] = resolve(dir, out[f] as string);
  return out as T;
}

/** Inline base64 data, else the file's bytes, else nothing. */
function bytes(data: string | undefined, file: string | undefined): Buffer | undefined {
  if (data) return Buffer.from(data, 'base64');
  return file ? readFileSync(file) : undefined;
}

/** A token file read again once `ms` has passed: projected service-account tokens rotate. */
function rereadEvery(ms: number, file: string): () => string {
  let value = '';
  let at = -Infinity;
  return () => {
    if (Date.now() - at >= ms) {
      value = readFileSync(file, 'utf8').trim();
      at = Date.now();
    }
    return value;
  };
}
