// One HTTP request to a metric provider, with a deadline: never longer than timeoutMs, whatever
// the server does (slow headers, a body that trickles), and never more than MAX_BODY bytes read.
import * as http from 'node:http';
import * as https from 'node:https';

export interface HttpRequest {
  url: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** PEM of the CA(s) to trust for https, instead of the system's. */
  ca?: string;
}

export interface HttpResponse {
  status: number;
  body: string;
}

const MAX_BODY = 4 << 20;

export function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      reject(new Error(`not a URL: ${req.url}`));
      return;
    }
    const lib = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
    if (!lib) {
      reject(new Error(`unsupported scheme ${url.protocol} in ${req.url}`));
      return;
    }
    const timer = setTimeout(() => r.destroy(new Error(`timed out after ${req.timeoutMs / 1000}s`)), req.timeoutMs);
    const r = lib.request(url, {
      method: req.method,
      headers: { 'User-Agent': 'coxswain-analysis', ...(req.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(req.body)) } : {}), ...req.headers },
      ...(req.ca ? { ca: req.ca } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) r.destroy(new Error(`response larger than ${MAX_BODY} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => { clearTimeout(timer); reject(err); });
    });
    r.on('error', (err) => { clearTimeout(timer); reject(err); });
    r.end(req.body);
  });
}

/** The error of a failed request, as status shows it. */
export function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return errorText(err.errors[0]);
  return err instanceof Error ? err.message || err.name : String(err);
}
