// Who the dashboard answers, decided from the request alone: pure, so each rule has a test.
// Argo Rollouts' dashboard answers anyone on any interface (argo-rollouts #1323); this one answers
// only its own Host names (no DNS rebinding), only a browser holding the per-launch token, and
// changes state only on a same-origin POST carrying a header no cross-site form can send.
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { REQUEST_HEADER } from './protocol.js';

export const COOKIE = 'coxswain_dashboard';

/** Nothing from anywhere but the plugin itself; no inline script or style. */
export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
export const isLoopback = (address: string) => LOOPBACK.has(address) || /^127\./.test(address);

/** Whether the server may listen on `address`: loopback always, another address only with --allow-remote. */
export function bindProblem(address: string, allowRemote: boolean): string | undefined {
  if (address !== 'localhost' && isIP(address) === 0) return `--address ${address}: an IP address (127.0.0.1 by default)`;
  if (isLoopback(address) || allowRemote) return undefined;
  return `--address ${address} is not loopback: anyone who can reach it and learns the URL acts with your kubeconfig; add --allow-remote to mean it`;
}

/** The Host headers answered: localhost, 127.0.0.1 and [::1], or the address given, each with the port. */
export function allowedHosts(address: string, port: number): Set<string> {
  const names = ['localhost', '127.0.0.1', '[::1]', isIP(address) === 6 ? `[${address}]` : address];
  return new Set(names.map((n) => `${n}:${port}`));
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export interface RequestFacts {
  method: string;
  host?: string;
  cookie?: string;
  /** The `token` query parameter, on the URL the plugin printed. */
  queryToken?: string;
  origin?: string;
  secFetchSite?: string;
  customHeader?: string;
}

export type Verdict =
  | { allow: true; setCookie: boolean }
  | { allow: false; status: 401 | 403; message: string };

/** Whether to answer a request, and whether it just showed the token (then kept in the cookie). */
export function judge(req: RequestFacts, hosts: Set<string>, token: string): Verdict {
  if (!req.host || !hosts.has(req.host.toLowerCase())) return { allow: false, status: 403, message: `Host ${req.host ?? '(none)'} is not this dashboard's` };
  const fromCookie = parseCookies(req.cookie)[COOKIE];
  const cookieOk = fromCookie !== undefined && same(fromCookie, token);
  const queryOk = req.method === 'GET' && req.queryToken !== undefined && same(req.queryToken, token);
  if (!cookieOk && !queryOk) return { allow: false, status: 401, message: 'no dashboard token: open the URL kubectl coxswain dashboard printed' };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const origins = [...hosts].map((h) => `http://${h}`);
    if (req.origin !== undefined && !origins.includes(req.origin)) return { allow: false, status: 403, message: `cross-site request from ${req.origin}` };
    if (req.secFetchSite !== undefined && req.secFetchSite !== 'same-origin') return { allow: false, status: 403, message: `cross-site request (Sec-Fetch-Site: ${req.secFetchSite})` };
    if (req.customHeader !== '1') return { allow: false, status: 403, message: `a state-changing request needs the ${REQUEST_HEADER} header` };
  }
  return { allow: true, setCookie: !cookieOk };
}

export const tokenCookie = (token: string) => `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
