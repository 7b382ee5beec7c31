// The Prometheus provider: an instant query over the HTTP API v1 (POST /api/v1/query), with the
// operator's credentials (a bearer token file, basic auth, extra headers such as X-Scope-OrgID)
// and a CA file for TLS, all configured on the operator, never read from Secrets. Credentials go
// only to the operator's own Prometheus address: a Microservice naming another address gets its
// queries sent there without them, so a spec can never make the operator hand its token away.
import { readFileSync } from 'node:fs';
import type { Sample, Value } from './types.js';
import { errorText, httpRequest } from './http.js';

export interface PrometheusOptions {
  /** The default address (--prometheus-address), and the only one credentials are sent to. */
  address?: string;
  bearerTokenFile?: string;
  basicAuth?: { username: string; passwordFile: string };
  headers?: Record<string, string>;
  caFile?: string;
  timeoutMs: number;
}

export const DEFAULT_PROMETHEUS_TIMEOUT_MS = 10_000;

/** Prometheus writes sample values as strings: "0.5", "NaN", "+Inf", "-Inf". */
export function parseSampleValue(s: unknown): number {
  if (s === '+Inf' || s === 'Inf') return Number.POSITIVE_INFINITY;
  if (s === '-Inf') return Number.NEGATIVE_INFINITY;
  if (s === 'NaN') return Number.NaN;
  const n = Number(s);
  if (typeof s !== 'string' || s.trim() === '' || Number.isNaN(n)) throw new Error(`not a sample value: ${JSON.stringify(s)}`);
  return n;
}

const sameOrigin = (a: string, b: string) => {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
};

/** The headers a query to `address` carries: the operator's, when it is the operator's Prometheus. Files are read on each query, so a rotated token is used at once. */
function authHeaders(opts: PrometheusOptions, address: string): Record<string, string> {
  if (!opts.address || !sameOrigin(address, opts.address)) return {};
  const h: Record<string, string> = { ...opts.headers };
  if (opts.bearerTokenFile) h.Authorization = `Bearer ${readFileSync(opts.bearerTokenFile, 'utf8').trim()}`;
  else if (opts.basicAuth) {
    const password = readFileSync(opts.basicAuth.passwordFile, 'utf8').replace(/\r?\n$/, '');
    h.Authorization = `Basic ${Buffer.from(`${opts.basicAuth.username}:${password}`).toString('base64')}`;
  }
  return h;
}

/** The values of an instant query's result: one per series of a vector, one for a scalar or string. */
export function resultValues(data: { resultType?: string; result?: unknown }): Value[] {
  switch (data.resultType) {
    case 'vector':
      return (data.result as Array<{ value: [number, string] }>).map((s) => parseSampleValue(s.value[1]));
    case 'scalar':
      return [parseSampleValue((data.result as [number, string])[1])];
    case 'string':
      return [String((data.result as [number, string])[1])];
    case 'matrix':
      throw new Error('the query returned a range vector; use an instant vector (wrap it in sum(rate(...[1m])), say)');
    default:
      throw new Error(`unexpected resultType ${JSON.stringify(data.resultType)}`);
  }
}

export async function queryPrometheus(opts: PrometheusOptions, address: string | undefined, query: string): Promise<Sample> {
  const where = address ?? opts.address;
  if (!where) return { error: 'no Prometheus address: set spec.analysis.prometheus.address or the operator\'s --prometheus-address' };
  try {
    const res = await httpRequest({
      url: `${where.replace(/\/+$/, '')}/api/v1/query`,
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', ...authHeaders(opts, where) },
      body: new URLSearchParams({ query }).toString(),
      timeoutMs: opts.timeoutMs,
      ...(opts.caFile ? { ca: readFileSync(opts.caFile, 'utf8') } : {}),
    });
    let doc: { status?: string; errorType?: string; error?: string; data?: { resultType?: string; result?: unknown } };
    try {
      doc = JSON.parse(res.body);
    } catch {
      return { error: `Prometheus answered HTTP ${res.status}: ${res.body.slice(0, 200).trim()}` };
    }
    if (doc.status !== 'success') return { error: `Prometheus answered HTTP ${res.status}: ${doc.errorType ?? 'error'}: ${doc.error ?? res.body.slice(0, 200)}` };
    return { values: resultValues(doc.data ?? {}) };
  } catch (err) {
    return { error: `querying ${where}: ${errorText(err)}` };
  }
}
