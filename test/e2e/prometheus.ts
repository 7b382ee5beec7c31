// A real Prometheus for the analysis tests, and the application's metrics it scrapes.
//
// Prometheus is the server pinned in hack/tools/prometheus/go.mod, built from its Go module once
// and cached (hack/tools/prometheus/prometheus.sh), run on loopback with a 1 s scrape interval.
// What it scrapes is the one thing no real part can do here: KWOK's pods serve nothing, so the
// test plays the application itself, an exporter on loopback that publishes
// http_requests_total{namespace,name,revision,code} and a latency histogram per revision, with
// the request and error rates each test sets. The data-plane tests instead have it find the pods
// through its Kubernetes service discovery (`podsScrape`) and scrape each pod's own /metrics,
// which test/e2e/dataplane/pods.ts answers with the requests that pod really served.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { podLabelMeta, TARGET_LABELS } from '../../src/render/monitoring.js';
import { ROOT, sleep } from './harness.js';

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = net.createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => done(port));
    });
  });
}

interface Traffic {
  /** Requests per second. */
  rps: number;
  /** Share of them answered 500. */
  errorRate: number;
  /** Latency of every request, in seconds. */
  latency: number;
}

/** The application's /metrics: counters that grow with the time since the last scrape, at the rates set. */
export class Exporter {
  private readonly series = new Map<string, { labels: { namespace: string; name: string; revision: string }; traffic: Traffic; ok: number; errors: number; at: number; buckets: number[]; sum: number }>();
  private server?: http.Server;
  port = 0;
  static readonly BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5];

  /** Sets the traffic of one revision of a Microservice (from now on). */
  set(namespace: string, name: string, revision: string, traffic: Partial<Traffic>): void {
    const key = `${namespace}/${name}/${revision}`;
    const s = this.series.get(key);
    const t = { rps: 20, errorRate: 0, latency: 0.08, ...s?.traffic, ...traffic };
    if (s) { this.advance(s); s.traffic = t; } else {
      this.series.set(key, { labels: { namespace, name, revision }, traffic: t, ok: 0, errors: 0, at: Date.now(), buckets: Exporter.BUCKETS.map(() => 0), sum: 0 });
    }
  }

  private advance(s: NonNullable<ReturnType<typeof this.series.get>>): void {
    const now = Date.now();
    const n = Math.round(((now - s.at) / 1000) * s.traffic.rps);
    s.at = now;
    const bad = Math.round(n * s.traffic.errorRate);
    s.errors += bad;
    s.ok += n - bad;
    Exporter.BUCKETS.forEach((b, i) => { if (s.traffic.latency <= b) s.buckets[i]! += n; });
    s.sum += n * s.traffic.latency;
  }

  private render(): string {
    const lines = ['# TYPE http_requests_total counter'];
    const hist = ['# TYPE http_request_duration_seconds histogram'];
    for (const s of this.series.values()) {
      this.advance(s);
      const l = `namespace="${s.labels.namespace}",name="${s.labels.name}",revision="${s.labels.revision}"`;
      lines.push(`http_requests_total{${l},code="200"} ${s.ok}`, `http_requests_total{${l},code="500"} ${s.errors}`);
      Exporter.BUCKETS.forEach((b, i) => hist.push(`http_request_duration_seconds_bucket{${l},le="${b}"} ${s.buckets[i]}`));
      hist.push(`http_request_duration_seconds_bucket{${l},le="+Inf"} ${s.ok + s.errors}`, `http_request_duration_seconds_sum{${l}} ${s.sum}`, `http_request_duration_seconds_count{${l}} ${s.ok + s.errors}`);
    }
    return [...lines, ...hist, ''].join('\n');
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      if (req.url === '/metrics') { res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }); res.end(this.render()); return; }
      res.writeHead(404); res.end();
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** The cached Prometheus binary, built first if need be. */
export function prometheusBinary(): string {
  return execFileSync(resolve(ROOT, 'hack/tools/prometheus/prometheus.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/**
 * A scrape job over the pods of `namespace` found by Prometheus' Kubernetes service discovery (role
 * pod), one target per pod on its container port `port`, labelled as the Prometheus Operator labels
 * a PodMonitor's targets (namespace, pod) plus the relabelling Coxswain's PodMonitor asks for
 * (revision, slot and role from the pod's labels, src/render/monitoring.ts): what a query written
 * for a real install selects, this selects.
 */
export function podsScrape(kubeconfig: string, namespace: string, port: string): string[] {
  const keep = (label: string, regex: string) => `      - { action: keep, source_labels: [${label}], regex: "${regex}" }`;
  const copy = (from: string, to: string) => `      - { action: replace, source_labels: [${from}], target_label: ${to} }`;
  return [
    '  - job_name: pods',
    '    scrape_interval: 1s',
    `    kubernetes_sd_configs: [ { role: pod, kubeconfig_file: "${kubeconfig}", namespaces: { names: ["${namespace}"] } } ]`,
    '    relabel_configs:',
    keep('__meta_kubernetes_pod_container_port_name', port),
    keep('__meta_kubernetes_pod_ip', '.+'),
    copy('__meta_kubernetes_namespace', 'namespace'),
    copy('__meta_kubernetes_pod_name', 'pod'),
    ...TARGET_LABELS.map(([target, label]) => copy(podLabelMeta(label), target)),
  ];
}

export class Prometheus {
  private child?: ChildProcess;
  private readonly dir = mkdtempSync(join(tmpdir(), 'coxswain-prometheus-'));
  port = 0;
  output = '';

  /** `scrape`: a static target (host:port), or scrape jobs of its own (`podsScrape`). */
  constructor(private readonly binary: string, private readonly scrape: string | string[]) {}

  get address(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts it (again, on the same port and data when restarted) and waits until it is ready. */
  async start(): Promise<this> {
    this.port ||= await freePort();
    writeFileSync(join(this.dir, 'prometheus.yml'), [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      ...(typeof this.scrape !== 'string' ? this.scrape : [
        '  - job_name: app',
        '    honor_labels: true',
        '    scrape_interval: 1s',
        `    static_configs: [ { targets: ["${this.scrape}"] } ]`,
      ]),
      '',
    ].join('\n'));
    this.child = spawn(this.binary, [
      `--config.file=${join(this.dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(this.dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${this.port}`, '--log.level=warn',
      // The tests' time is compressed (scrapes every 1 s, not 15-30 s), and so is the wait before
      // a newly discovered pod is scraped: 1 s, not the 5 s default, which alone could hold a
      // candidate's first data past a 10 s analysis interval on a loaded machine.
      '--scrape.discovery-reload-interval=1s',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (d) => (this.output += d));
    this.child.stderr?.on('data', (d) => (this.output += d));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ok = await fetch(`${this.address}/-/ready`).then((r) => r.ok, () => false);
      if (ok) return this;
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error(`Prometheus did not start: ${this.output}`);
      await sleep(200);
    }
  }

  /** An instant query, as a test reads it (the operator has its own client). */
  async query(q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const r = await fetch(`${this.address}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: q }) });
    const doc = (await r.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    return doc.data.result;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((r) => { child.once('close', () => r()); child.kill('SIGTERM'); });
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The error-rate query of the docs, over 5 s windows (the scrape interval is 1 s). */
export const ERROR_RATE = 'sum(rate(http_requests_total{namespace="{{namespace}}",name="{{name}}",revision="{{revision}}",code=~"5.."}[5s]))'
  + ' / sum(rate(http_requests_total{namespace="{{namespace}}",name="{{name}}",revision="{{revision}}"}[5s]))';
export const P99_LATENCY = 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="{{namespace}}",name="{{name}}",revision="{{revision}}"}[5s])))';
