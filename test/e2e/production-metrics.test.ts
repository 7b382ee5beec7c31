// /metrics, /healthz and /readyz of a running operator, as Prometheus and the kubelet see them:
// health and readiness plain HTTP; /metrics HTTPS for real ServiceAccount tokens, reviewed by the
// API server (the operator runs as the chart's ServiceAccount, so the chart's auth-delegator
// binding is what lets it ask), with a certificate from a directory laid out as a Secret volume,
// replaced while it serves.
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, condition, createNamespace, deleteNamespace, eventually, getJSON, installCRD, k, kubectl, microservice, PACKAGE_VERSION } from './harness.js';
import { CLUSTER_SCOPED, parseManifests, RunningOperator, sample, serviceAccountKubeconfig, suffix, template } from './production-harness.js';
import { selfSigned } from '../../src/metrics/selfsigned.js';

let ns: string;
let op: RunningOperator;
let certs: SecretVolume;
let cleanup: () => Promise<void> = async () => {};
const names = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
const release = `metrics-${suffix()}`;
/** Prometheus's identity as the chart makes it with the ServiceMonitor: bound to the reader role. */
const scraper = `${release}-coxswain-metrics-scraper`;

/** A directory laid out as the kubelet lays out a Secret volume: files behind the ..data symlink, swapped whole on an update. */
class SecretVolume {
  readonly dir = mkdtempSync(join(tmpdir(), 'coxswain-metrics-certs-'));
  private n = 0;

  write(files: Record<string, string>): void {
    const version = `..${Date.now()}_${this.n++}`;
    mkdirSync(join(this.dir, version));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(this.dir, version, name), text);
    symlinkSync(version, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    for (const name of Object.keys(files)) {
      try { symlinkSync(join('..data', name), join(this.dir, name)); } catch { /* already there */ }
    }
  }
}

interface Scrape { status: number; body: string; fingerprint?: string; error?: string }

/** GET /metrics over TLS, verified against `ca` for the name localhost, on a fresh connection. */
function scrape(ca: string, token?: string): Promise<Scrape> {
  return new Promise((resolve) => {
    const req = https.get({
      host: '127.0.0.1', port: op.metricsPort, path: '/metrics', ca, servername: 'localhost', agent: false, timeout: 10_000,
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body, fingerprint }));
    });
    req.on('error', (err) => resolve({ status: 0, body: '', error: err.message }));
  });
}

const token = async (sa: string) => (await k('create', 'token', sa, '-n', ns, '--duration', '1h')).trim();
let pair = selfSigned(['localhost', '127.0.0.1'], new Date());
let readerToken: string;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-prod-metrics');
  // The chart's RBAC and the ServiceMonitor's scraper (ServiceAccount, token Secret, binding to the reader role).
  const objects = parseManifests(await template(release, ns, { 'metrics.serviceMonitor.enabled': true, 'crds.install': false }))
    .filter((o) => ['ServiceAccount', 'Secret', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind));
  const r = await kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  if (r.code !== 0) throw new Error(`installing the chart's RBAC failed: ${r.stderr}`);
  cleanup = async () => {
    for (const o of objects.filter((x) => CLUSTER_SCOPED.has(x.kind))) await kubectl(['delete', o.kind.toLowerCase(), o.metadata.name, '--ignore-not-found', '--wait=false']);
  };
  certs = new SecretVolume();
  certs.write({ 'tls.crt': pair.cert, 'tls.key': pair.key });
  op = await new RunningOperator({
    kubeconfig: await serviceAccountKubeconfig(ns, `${release}-coxswain`), metrics: 'secure', args: ['--namespaces', ns, '--metrics-cert-dir', certs.dir],
  }).start();
  await eventually('/readyz 200', async () => (await op.get('/readyz')).status === 200, 30_000, 100);
  readerToken = await token(scraper);
});
afterAll(async () => {
  await op?.stop();
  await cleanup();
  rmSync(certs.dir, { recursive: true, force: true });
  await deleteNamespace(ns);
});

describe('who may read /metrics', () => {
  it('answers 401 without a token or with one the API server does not accept, 403 for an unbound ServiceAccount, 200 for the bound one, over TLS verified against the served certificate', async () => {
    const none = await scrape(pair.cert);
    expect([none.status, none.error]).toEqual([401, undefined]);
    expect((await scrape(pair.cert, 'not-a-token')).status).toBe(401);
    await k('create', 'serviceaccount', 'stranger', '-n', ns);
    const stranger = await scrape(pair.cert, await token('stranger'));
    expect(stranger.status).toBe(403);
    expect(stranger.body).toContain(`system:serviceaccount:${ns}:stranger`);
    const ok = await scrape(pair.cert, readerToken);
    expect(ok.status, ok.body).toBe(200);
    expect(ok.fingerprint).toBe(new X509Certificate(pair.cert).fingerprint256);
    expect(sample(ok.body, `coxswain_build_info{version="${PACKAGE_VERSION}"}`)).toBe(1);
    // Plain HTTP on the health port serves no /metrics; a client that trusts another certificate gets nothing.
    expect((await op.get('/metrics')).status).toBe(404);
    expect((await scrape(selfSigned(['localhost'], new Date()).cert, readerToken)).error).toMatch(/self[- ]signed|certificate/i);
    // No token reaches the log.
    expect(op.output).not.toContain(readerToken);
  });

  it('takes the token the API server put in the token Secret of the chart, the one the ServiceMonitor sends', async () => {
    const fromSecret = await eventually('the token Secret filled in', async () => {
      const data = (await getJSON('secret', '-n', ns, `${scraper}-token`))?.data?.token as string | undefined;
      return data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
    }, 30_000, 200);
    expect((await scrape(pair.cert, fromSecret)).status).toBe(200);
  });

  it('serves a replaced certificate without a restart, as a renewed Secret volume swaps it', async () => {
    const pid = op.pid;
    const next = selfSigned(['localhost', '127.0.0.1'], new Date());
    certs.write({ 'tls.crt': next.cert, 'tls.key': next.key });
    const served = await eventually('the new certificate served', async () => {
      const s = await scrape(next.cert, readerToken);
      return s.status === 200 ? s : undefined;
    }, 30_000, 200);
    expect(served.fingerprint).toBe(new X509Certificate(next.cert).fingerprint256);
    expect((await scrape(pair.cert, readerToken)).error).toBeDefined();
    expect([op.pid, op.alive]).toEqual([pid, true]);
    expect(op.lines().some((l) => l.msg === 'metrics: serving the replaced certificate')).toBe(true);
    pair = next;
  });
});

describe('health and metrics endpoints', () => {
  it('answers /readyz once the caches have synced, and /healthz', async () => {
    await eventually('/readyz 200', async () => (await op.get('/readyz')).status === 200, 30_000, 100);
    // Readiness means the caches are synced, which the operator also logs (its stdout reaches us
    // through a pipe, possibly after the HTTP answer: wait for it rather than read it once).
    await eventually('the caches-synced log line', async () => op.lines().some((l) => l.msg === 'caches synced; reconciling'), 5_000, 50);
    expect(await op.get('/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect((await op.get('/nope')).status).toBe(404);
  });

  it('exposes reconciles, durations, the queue, phases, rollout weights and process metrics', async () => {
    for (const n of names) {
      expect((await apply(microservice(n, { image: `registry.example/${n}:1`, replicas: 1, ports: [{ port: 8080 }], config: { data: { N: n } } }, ns))).code).toBe(0);
    }
    // One stays Degraded: a Service of its name that it does not own.
    await k('create', 'service', 'clusterip', 'taken', '--tcp=80:80', '-n', ns);
    await apply(microservice('taken', { image: 'registry.example/taken:1', ports: [{ port: 80 }] }, ns));
    await eventually('all Ready but one', async () => {
      const list = (await getJSON('microservices', '-n', ns))?.items ?? [];
      return list.filter((o: unknown) => condition(o, 'Ready')?.status === 'True').length === names.length;
    }, 120_000);
    // A canary paused at 50%: its weight is a gauge.
    await apply(microservice('alpha', {
      image: 'registry.example/alpha:2', replicas: 2, ports: [{ port: 8080 }], config: { data: { N: 'alpha' } },
      strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: {} }] } },
    }, ns));
    // Paused, not only at 50%: the weight reaches 50 one reconcile before the stable slot has shrunk.
    await eventually('alpha paused at 50%', async () => {
      const o = await getJSON('microservice', '-n', ns, 'alpha');
      return o?.status?.phase === 'Paused' && o.status.rollout?.weight === 50 && o.status.observedGeneration === o.metadata.generation;
    }, 120_000);

    const res = await scrape(pair.cert, readerToken);
    expect(res.status).toBe(200);
    const text = res.body;
    expect(sample(text, 'coxswain_reconcile_total{result="updated"}')).toBeGreaterThan(0);
    expect(sample(text, 'coxswain_reconcile_total{result="stalled"}')).toBeGreaterThan(0);
    expect(sample(text, 'coxswain_reconcile_duration_seconds_count')).toBeGreaterThan(0);
    expect(sample(text, 'coxswain_reconcile_duration_seconds_bucket{le="+Inf"}')).toBe(sample(text, 'coxswain_reconcile_duration_seconds_count'));
    expect(sample(text, 'coxswain_queue_wait_seconds_count')).toBeGreaterThan(0);
    expect(sample(text, 'coxswain_queue_depth')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'coxswain_api_writes_total')).toBeGreaterThan(0);
    expect(sample(text, 'coxswain_leader')).toBe(1);
    expect(sample(text, `coxswain_build_info{version="${PACKAGE_VERSION}"}`)).toBe(1);
    expect(sample(text, 'coxswain_microservices{phase="Healthy"}')).toBe(names.length - 1);
    expect(sample(text, 'coxswain_microservices{phase="Paused"}')).toBe(1);
    expect(sample(text, 'coxswain_microservices{phase="Degraded"}')).toBe(1);
    expect(sample(text, 'coxswain_microservices{phase="Progressing"}')).toBe(0);
    expect(sample(text, `coxswain_rollout_weight{namespace="${ns}",name="alpha"}`)).toBe(50);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(text).toMatch(/^# TYPE coxswain_reconcile_duration_seconds histogram$/m);
  });
});
