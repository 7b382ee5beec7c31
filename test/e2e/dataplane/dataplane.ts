// The data plane for one test file: Traefik (built from its Go module, hack/tools/traefik/) as the
// Gateway controller, a GatewayClass and a Gateway on a loopback port, the process that answers for
// the pods (pods.ts), and a load generator that sends steady traffic through the gateway and keeps
// every answer. hack/dataplane.sh runs these files inside a network namespace of their own, with
// the pod range routed to its loopback; outside one they skip.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { apply, eventually, getJSON, k, KUBECONFIG, ROOT, sleep } from '../harness.js';
import type { KubeClient } from '../../../src/kube/client.js';
import { installGatewayAPI } from '../gateway.js';

/** Set by hack/dataplane.sh: the network namespace the tests run in. */
export const NETNS = process.env.COXSWAIN_DATAPLANE_NETNS;
export const SKIP_REASON = 'the data-plane tests run inside a network namespace: run them with hack/dataplane.sh (as root)';

/** The Gateway's listener and Traefik's entry point (inside the namespace; from this project's test port range). */
export const GATEWAY_PORT = 23500;
export const GATEWAY_NAMESPACE = 'gateways';
export const GATEWAY_NAME = 'public';
export const LISTENER = 'web';
/** The container port every test pod listens on; pods.ts answers it on every pod address. */
export const APP_PORT = 8080;
export const parentRefs = [{ name: GATEWAY_NAME, namespace: GATEWAY_NAMESPACE, sectionName: LISTENER }];

function traefikBinary(): Promise<string> {
  return new Promise((done, fail) => {
    execFile(resolve(ROOT, 'hack/tools/traefik/traefik.sh'), { maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
      err ? fail(new Error(`hack/tools/traefik/traefik.sh failed: ${stderr}`)) : done(stdout.trim()));
  });
}

/** A child process whose output is kept, to read after a failure. */
class Child {
  output = '';
  readonly exit: Promise<void>;
  constructor(readonly proc: ChildProcess) {
    proc.stdout?.on('data', (d: Buffer) => { this.output += d; });
    proc.stderr?.on('data', (d: Buffer) => { this.output += d; });
    this.exit = new Promise((r) => proc.once('close', () => r()));
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM');
    await this.exit;
  }
}

export interface DataPlane {
  traefik: Child;
  pods: Child;
  stop(): Promise<void>;
}

/**
 * Starts the data plane for the pods of `namespace`: the Gateway API CRDs, Traefik, the
 * GatewayClass `traefik` and Gateway `gateways/public` (listener `web` on GATEWAY_PORT, routes from
 * every namespace), and pods.ts; returns once the Gateway is Programmed and pods.ts listens.
 */
export async function startDataPlane(namespace: string): Promise<DataPlane> {
  await installGatewayAPI();
  // providersThrottleDuration: Traefik applies a new configuration at most this often; its 2 s
  // default kept sending to deleted pods long after their EndpointSlice had dropped them.
  const traefik = new Child(spawn(await traefikBinary(), [
    '--global.checkNewVersion=false', '--global.sendAnonymousUsage=false', '--log.level=INFO',
    `--entryPoints.${LISTENER}.address=127.0.0.1:${GATEWAY_PORT}`,
    '--providers.kubernetesGateway=true', '--providers.kubernetesGateway.throttleDuration=100ms',
    '--providers.providersThrottleDuration=100ms',
  ], { env: { ...process.env, KUBECONFIG }, stdio: ['ignore', 'pipe', 'pipe'] }));

  await k('create', 'namespace', GATEWAY_NAMESPACE).catch(() => undefined);
  const applied = await apply({ apiVersion: 'v1', kind: 'List', items: [
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'traefik' }, spec: { controllerName: 'traefik.io/gateway-controller' } },
    {
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: GATEWAY_NAME, namespace: GATEWAY_NAMESPACE },
      spec: { gatewayClassName: 'traefik', listeners: [{ name: LISTENER, protocol: 'HTTP', port: GATEWAY_PORT, allowedRoutes: { namespaces: { from: 'All' } } }] },
    },
  ] });
  if (applied.code !== 0) throw new Error(`the Gateway: ${applied.stderr}`);
  await eventually('the Gateway Programmed by Traefik', async () => {
    const gw = await getJSON('gateway', '-n', GATEWAY_NAMESPACE, GATEWAY_NAME);
    return gw?.status?.conditions?.some((c: any) => c.type === 'Programmed' && c.status === 'True');
  }, 60_000).catch((err) => { throw new Error(`${(err as Error).message}\nTraefik said:\n${traefik.output.slice(-4000)}`); });

  // One process (tsx as a loader, not its wrapper), so stopping it stops the listeners.
  const podsProc = spawn(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, 'pods.ts'), KUBECONFIG, namespace, String(APP_PORT)], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pods = new Child(podsProc);
  await new Promise<void>((done, fail) => {
    createInterface({ input: podsProc.stdout! }).on('line', (l) => { if (l === 'ready') done(); });
    podsProc.once('close', () => fail(new Error(`pods.ts exited: ${pods.output}`)));
  });
  return { traefik, pods, stop: async () => { await pods.stop(); await traefik.stop(); } };
}

/** One request's outcome, as the load generator saw it. */
export interface Answer {
  /** When it was sent and when its answer (or error) came, ms since the epoch. */
  sent: number;
  done: number;
  code?: number;
  slot?: string;
  revision?: string;
  pod?: string;
  terminating?: boolean;
  /** The gateway's body when it was not the application answering (Traefik's "no available server"). */
  body?: string;
  error?: string;
}

export const failed = (a: Answer) => a.error !== undefined || a.code === undefined || a.code >= 500;

/**
 * Steady traffic through the gateway for host `host`: `rps` requests a second, each sent on time
 * whatever the ones before it are doing (an open loop, so a slow or lost answer cannot hold the
 * rate down), every answer kept.
 */
export class LoadGenerator {
  readonly answers: Answer[] = [];
  private timer?: NodeJS.Timeout;
  private inflight = new Set<Promise<void>>();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  /** `headers`: sent with every request (a header route's match). */
  constructor(readonly host: string, readonly rps = 100, readonly headers: Record<string, string> = {}) {}

  start(): this {
    const every = 1000 / this.rps;
    let next = Date.now();
    // A timer a little faster than the rate, sending whatever is due: timers slip under load.
    this.timer = setInterval(() => {
      while (next <= Date.now()) {
        next += every;
        const p = this.send().finally(() => this.inflight.delete(p));
        this.inflight.add(p);
      }
    }, Math.max(1, Math.floor(every / 2)));
    return this;
  }

  async stop(): Promise<Answer[]> {
    clearInterval(this.timer);
    await Promise.all(this.inflight);
    this.agent.destroy();
    return this.answers;
  }

  /** The answers sent in [from, to). */
  between(from: number, to: number): Answer[] {
    return this.answers.filter((a) => a.sent >= from && a.sent < to);
  }

  private send(): Promise<void> {
    const a: Answer = { sent: Date.now(), done: 0 };
    this.answers.push(a);
    return new Promise((done) => {
      const req = request({ host: '127.0.0.1', port: GATEWAY_PORT, path: '/', headers: { ...this.headers, host: this.host }, agent: this.agent, timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => { body += d; });
        res.on('end', () => {
          a.done = Date.now();
          a.code = res.statusCode;
          try {
            const j = JSON.parse(body) as { pod: string; slot: string; revision: string; terminating: boolean };
            Object.assign(a, { pod: j.pod, slot: j.slot, revision: j.revision, terminating: j.terminating });
          } catch {
            a.body = body.slice(0, 200);
          }
          done();
        });
        res.on('error', (err) => { a.done = Date.now(); a.error = err.message; done(); });
      });
      req.on('timeout', () => req.destroy(new Error('no answer in 10 s')));
      req.on('error', (err) => { a.done = Date.now(); a.error = err.message; done(); });
      req.end();
    });
  }
}

/** How the failed answers look, grouped: "503 no available server x3, ECONNRESET x1". */
export function failures(answers: readonly Answer[]): string {
  const by = new Map<string, number>();
  for (const a of answers.filter(failed)) {
    const key = a.error ?? `${a.code} ${a.body ?? a.pod ?? ''}`.trim();
    by.set(key, (by.get(key) ?? 0) + 1);
  }
  return [...by].map(([k, n]) => `${k} x${n}`).join(', ') || 'none';
}

// What the scenarios share: names, waits and the accounts they print.

/** The hostname a test routes for Microservice `name`. */
export const host = (name: string) => `${name}.example.com`;

/** The Microservice as the API server has it. */
export const msOf = (ns: string, name: string) => getJSON('microservice', '-n', ns, name);

/** Healthy on `image`, status caught up, the route (if any) accepted: the Microservice, else undefined. */
export const healthyAt = (ns: string, name: string, image: string, routed = true) => async () => {
  const o = await msOf(ns, name);
  return o?.status?.phase === 'Healthy' && o.status.observedGeneration === o.metadata.generation && (!routed || o.status.traffic?.accepted === 'True')
    && o.status.slots?.[o.status.activeSlot]?.image === image ? o : undefined;
};

/** `kubectl coxswain ACTION`, as the plugin writes it: the action annotation with a fresh id. */
export const act = (ns: string, name: string, action: string) =>
  k('annotate', '--overwrite', '-n', ns, 'microservice', name, `coxswain.dev/action=${action}:${Date.now().toString(36)}`);

/** The route's weights by slot, sampled until stopped, with whether Traefik accepted that generation. */
export function routeSamples(client: KubeClient, ns: string, name: string) {
  const samples: Array<{ at: number; weights: Record<string, number>; accepted: boolean }> = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const route = await client.request<any>('GET', `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes/${name}`).catch(() => undefined);
      const weighted = route?.spec.rules.find((r: any) => r.name === 'weighted');
      if (weighted) {
        samples.push({
          at: Date.now(),
          weights: Object.fromEntries(weighted.backendRefs.map((b: any) => [b.name.slice(name.length + 1), b.weight])),
          accepted: (route.status?.parents ?? []).some((p: any) => p.conditions?.some((c: any) => c.type === 'Accepted' && c.status === 'True' && c.observedGeneration === route.metadata.generation)),
        });
      }
      await sleep(200);
    }
  })();
  return { samples, stop: async () => { running = false; await loop; } };
}

/** Spans of time the route held one weight for `slot`, accepted, as [from, to, weight]. */
export function spans(samples: ReturnType<typeof routeSamples>['samples'], slot: string): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (const s of samples) {
    const w = s.weights[slot]!;
    const last = out.at(-1);
    if (last && last[2] === w) last[1] = s.at;
    else if (s.accepted) out.push([s.at, s.at, w]);
  }
  return out;
}

/** A one-line account of the traffic, for the log and docs/performance.md. */
export function account(what: string, answers: readonly Answer[]): string {
  const secs = (answers.at(-1)!.sent - answers[0]!.sent) / 1000;
  const terminating = answers.filter((a) => a.terminating).length;
  return `${what}: ${answers.length} requests over ${secs.toFixed(1)} s (${(answers.length / secs).toFixed(0)}/s), `
    + `${answers.filter(failed).length} failed (${failures(answers)}), ${terminating} answered by terminating pods`;
}
