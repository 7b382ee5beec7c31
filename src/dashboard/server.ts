// The dashboard's HTTP server: the page, a server-sent event stream of the overview, a
// Microservice's page data, and (unless --read-only) the actions, all as the user of the
// kubeconfig. Every request passes security.ts first.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { ApiError, type KubeClient } from '../kube/client.js';
import { sendAction } from '../cli/actions.js';
import { AccessReviews } from './access.js';
import { actionRequest, commandFor } from './actions.js';
import type { Batch } from './journal.js';
import type { Live } from './live.js';
import { pageData } from './page-data.js';
import { REQUEST_HEADER } from './protocol.js';
import { allowedHosts, CSP, judge, tokenCookie } from './security.js';

export interface DashboardOptions {
  address: string;
  port: number;
  readOnly: boolean;
  /** How often an idle stream sends a comment, so proxies and the page know it is alive. */
  heartbeatMs?: number;
  actionTimeoutMs?: number;
}

const PAGE_DIR = fileURLToPath(new URL('./page/', import.meta.url));
const STATIC: Record<string, [file: string, type: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};
const DETAIL = /^\/api\/microservices\/([a-z0-9.-]+)\/([a-z0-9.-]+)(\/action)?$/;
const MAX_BODY = 4096;

export class Dashboard {
  readonly token = randomBytes(24).toString('base64url');
  private readonly server: Server;
  private readonly reviews: AccessReviews;
  private hosts = new Set<string>();
  private readonly streams = new Set<ServerResponse>();

  constructor(private readonly client: KubeClient, private readonly live: Live, private readonly opts: DashboardOptions, private readonly log: Logger) {
    this.reviews = new AccessReviews(client);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.log.error({ err }, 'request failed');
        if (!res.headersSent) json(res, err instanceof ApiError ? err.status : 500, { error: err instanceof Error ? err.message : String(err) });
        else res.end();
      });
    });
  }

  /** Listens; resolves with the URL to open, token included. */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.address, resolve);
    });
    const { port } = this.server.address() as { port: number };
    this.hosts = allowedHosts(this.opts.address, port);
    const host = this.opts.address.includes(':') ? `[${this.opts.address}]` : this.opts.address;
    return `http://${host}:${port}/?token=${this.token}`;
  }

  async close(): Promise<void> {
    for (const res of this.streams) res.end();
    await new Promise((r) => this.server.close(r));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const header = (name: string) => { const v = req.headers[name]; return Array.isArray(v) ? v[0] : v; };
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // The token is in the first URL: never sent on as a Referer.
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    const verdict = judge({
      method: req.method ?? 'GET', host: header('host'), cookie: header('cookie'), queryToken: url.searchParams.get('token') ?? undefined,
      origin: header('origin'), secFetchSite: header('sec-fetch-site'), customHeader: header(REQUEST_HEADER),
    }, this.hosts, this.token);
    if (!verdict.allow) return json(res, verdict.status, { error: verdict.message });
    if (verdict.setCookie) {
      // Keep the token in the cookie and take it out of the address bar (and the history).
      res.writeHead(303, { 'Set-Cookie': tokenCookie(this.token), Location: url.pathname }).end();
      return;
    }
    const method = req.method ?? 'GET';
    if (method === 'GET' && STATIC[url.pathname]) return this.serveStatic(res, ...STATIC[url.pathname]!);
    if (method === 'GET' && url.pathname === '/favicon.ico') return void res.writeHead(204).end();
    if (method === 'GET' && url.pathname === '/api/config') return json(res, 200, { readOnly: this.opts.readOnly, namespaces: this.live.namespaces ?? null });
    if (method === 'GET' && url.pathname === '/api/stream') return this.stream(req, res, url.searchParams.get('follow'));
    const m = DETAIL.exec(url.pathname);
    if (m && method === 'GET' && !m[3]) return this.detail(res, m[1]!, m[2]!);
    // --read-only: no route changes anything, whatever a page or a script sends.
    if (m && method === 'POST' && m[3] && !this.opts.readOnly) return this.act(req, res, m[1]!, m[2]!);
    json(res, 404, { error: `no route ${method} ${url.pathname}` });
  }

  private async serveStatic(res: ServerResponse, file: string, type: string): Promise<void> {
    try {
      res.writeHead(200, { 'Content-Type': type }).end(await readFile(PAGE_DIR + file));
    } catch {
      json(res, 404, { error: `${file} is not built: npm run build` });
    }
  }

  /**
   * Server-sent events: what changed since Last-Event-ID (or everything), then each batch, with
   * heartbeats; or, with `follow=NS/NAME` (a Microservice's page), a `touch` each time that
   * Microservice's pods, kept revisions or Events change.
   */
  private stream(req: IncomingMessage, res: ServerResponse, follow: string | null): void {
    const followed = follow === null ? undefined : /^([a-z0-9.-]+)\/([a-z0-9.-]+)$/.exec(follow);
    if (follow !== null && !followed) return json(res, 400, { error: 'follow: NAMESPACE/NAME' });
    // No buffering proxy may hold the stream back (a page stuck on "loading": argo-rollouts #3833).
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'X-Accel-Buffering': 'no', Connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    let unsubscribe: () => void;
    if (followed) {
      unsubscribe = this.live.follow(followed[1]!, followed[2]!, () => res.write('event: touch\ndata: {}\n\n'));
    } else {
      const send = (batch: Batch<unknown>) => res.write(`id: ${batch.seq}\nevent: ${batch.snapshot ? 'snapshot' : 'change'}\ndata: ${JSON.stringify(batch)}\n\n`);
      const lastId = req.headers['last-event-id'];
      send(this.live.journal.since(Array.isArray(lastId) ? lastId[0] : lastId));
      unsubscribe = this.live.subscribe(send);
    }
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), this.opts.heartbeatMs ?? 15_000);
    this.streams.add(res);
    res.on('close', () => { unsubscribe(); clearInterval(heartbeat); this.streams.delete(res); });
  }

  private async detail(res: ServerResponse, namespace: string, name: string): Promise<void> {
    const obj = this.live.get(namespace, name);
    if (!obj) return json(res, 404, { error: `microservice ${name} not found in namespace ${namespace}` });
    const access = this.opts.readOnly ? { allowed: false, reason: 'the dashboard runs with --read-only' } : await this.reviews.mayAct(namespace, name);
    json(res, 200, await pageData(this.client, obj, access, this.opts.readOnly));
  }

  private async act(req: IncomingMessage, res: ServerResponse, namespace: string, name: string): Promise<void> {
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return json(res, 415, { error: 'send JSON' });
    let body: { action?: unknown; revision?: unknown };
    try {
      body = JSON.parse(await readBody(req)) as typeof body;
    } catch (err) {
      return json(res, 400, { error: `body: ${err instanceof Error ? err.message : String(err)}` });
    }
    const request = actionRequest(body?.action, body?.revision);
    if (typeof request === 'string') return json(res, 400, { error: request });
    const command = commandFor(request, namespace, name);
    try {
      const result = await sendAction(this.client, namespace, name, request, this.opts.actionTimeoutMs ?? 30_000);
      const status = result.state === 'answered' ? 200 : result.state === 'pending' ? 409 : result.state === 'gone' ? 410 : 504;
      const message = result.state === 'waiting' ? `no answer from the operator yet; the ${request.action} request waits in the annotation until it runs` : result.message;
      json(res, status, { ...result, message, command });
    } catch (err) {
      if (err instanceof ApiError) return json(res, err.status, { error: err.message, command });
      throw err;
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error(`larger than ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8') || '{}';
}
