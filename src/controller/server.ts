// The health server, plain HTTP for the kubelet: /healthz (work makes progress), /readyz (caches
// synced), and /metrics (Prometheus text format) only with --metrics-secure=false; otherwise
// /metrics is served over HTTPS to authorized scrapers on its own port (src/metrics/server.ts).
import * as http from 'node:http';
import type { Registry } from 'prom-client';

export interface Probes {
  live(): boolean;
  ready(): boolean;
  /** Served as plain /metrics when given. */
  registry?: Registry;
}

/** Serves on `listen` (host:port); returns the server, to close on shutdown. */
export function serveHealth(listen: string, probes: Probes): http.Server {
  const [host, port] = splitHostPort(listen);
  const server = http.createServer((req, res) => {
    const reply = (code: number, body: string, type = 'text/plain') => { res.writeHead(code, { 'Content-Type': type }); res.end(body); };
    if (req.url === '/healthz') return probes.live() ? reply(200, 'ok\n') : reply(500, 'work queue is stuck\n');
    if (req.url === '/readyz') return probes.ready() ? reply(200, 'ok\n') : reply(503, 'caches not synced\n');
    const registry = probes.registry;
    if (req.url === '/metrics' && registry) {
      void registry.metrics().then((m) => reply(200, m, registry.contentType));
      return;
    }
    reply(404, 'not found\n');
  });
  server.listen(port, host || undefined);
  return server;
}

export function splitHostPort(addr: string): [string, number] {
  const i = addr.lastIndexOf(':');
  return [addr.slice(0, i), Number(addr.slice(i + 1))];
}
