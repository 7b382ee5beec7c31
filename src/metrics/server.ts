// /metrics over HTTPS, for scrapers the API server vouches for (auth.ts), with a certificate that
// can be replaced while serving (certificate.ts). Health and readiness stay on the plain HTTP port
// (src/controller/server.ts), so the kubelet needs neither TLS nor a token.
import * as https from 'node:https';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { splitHostPort } from '../controller/server.js';
import { MetricsAuth, type Reviewer } from './auth.js';
import { CertificateWatcher } from './certificate.js';

export interface SecureMetricsOptions {
  /** host:port; port 0 lets the system choose. */
  listen: string;
  /** tls.crt and tls.key; unset: a self-signed certificate made at start. */
  certDir?: string;
  registry: Registry;
  reviewer: Reviewer;
  log: Logger;
}

export interface SecureMetricsServer {
  server: https.Server;
  /** Reads the certificate directory now, as the watcher does on a change. */
  reloadCertificate(): Promise<void>;
  close(): Promise<void>;
}

export async function serveSecureMetrics(opts: SecureMetricsOptions): Promise<SecureMetricsServer> {
  const auth = new MetricsAuth(opts.reviewer);
  let server: https.Server | undefined;
  const { pair, watcher } = await CertificateWatcher.start(opts.certDir, opts.log, (next) => server?.setSecureContext({ cert: next.cert, key: next.key }));
  server = https.createServer({ cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' }, (req, res) => {
    const reply = (code: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(code, { 'Content-Type': 'text/plain', ...headers });
      res.end(body);
    };
    const path = new URL(req.url ?? '/', 'https://metrics').pathname;
    if (path !== '/metrics') return reply(404, 'not found\n');
    void auth.check(req.method ?? 'GET', path, req.headers.authorization).then(async (verdict) => {
      if (verdict.error) opts.log.warn({ err: verdict.error }, 'metrics: could not review a scrape');
      if (verdict.status === 401) return reply(401, `${verdict.message}\n`, { 'WWW-Authenticate': 'Bearer' });
      if (verdict.status !== 200) return reply(verdict.status, `${verdict.message}\n`);
      reply(200, await opts.registry.metrics(), { 'Content-Type': opts.registry.contentType });
    }).catch((err: unknown) => reply(500, `${err instanceof Error ? err.message : String(err)}\n`));
  });
  const [host, port] = splitHostPort(opts.listen);
  await new Promise<void>((resolve, reject) => {
    server!.once('error', reject);
    server!.listen(port, host || undefined, () => resolve());
  });
  return {
    server,
    reloadCertificate: async () => watcher?.reload(),
    close: () => new Promise<void>((resolve) => {
      watcher?.stop();
      server!.close(() => resolve());
      server!.closeAllConnections();
    }),
  };
}
