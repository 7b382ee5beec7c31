// Issue 19: `kubectl coxswain dashboard` against the local cluster, over plain HTTP and in a real
// browser: Debian's Chromium (hack/tools/chromium/chromium.sh installs it through apt where
// missing), driven headless by puppeteer-core. Screenshots go to .e2e-output/dashboard/.
// (`globalThis as any` in functions run in the page: this file is type-checked without the DOM.)
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { resolve } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply, createNamespace, deleteNamespace, eventually, installCRD, k, kubectlCoxswain, kubectlCoxswainStream, microservice, Operator, ROOT,
} from './harness.js';
import { healthyAt, msOf } from './rollout-harness.js';
import { serviceAccountKubeconfig } from './production-harness.js';

const OUT = resolve(ROOT, '.e2e-output/dashboard');
const STEPS = [{ setWeight: 25 }, { pause: {} }, { setWeight: 50 }, { pause: {} }, { setWeight: 75 }];
const canary = (image: string) => ({ image, replicas: 4, strategy: { type: 'Canary', canary: { steps: STEPS } } });

let nsA: string;
let nsB: string;
let operator: Operator;
let browser: Browser;
const running: Array<{ stop: () => Promise<void> }> = [];

/** `kubectl coxswain dashboard ARGS -n NS` as a user starts it; resolves with the URL it prints. */
async function dashboard(ns: string, ...args: string[]): Promise<{ url: URL; stderr: () => string }> {
  let printed: (url: string) => void;
  const url = new Promise<string>((r) => { printed = r; });
  const proc = kubectlCoxswainStream(ns, ['dashboard', ...args], (line) => { const m = /(http:\/\/\S+)/.exec(line); if (m) printed(m[1]!); });
  running.push(proc);
  const timeout = new Promise<string>((_, fail) => setTimeout(() => fail(new Error(`no URL from the dashboard: ${proc.stderr()}`)), 30_000));
  return { url: new URL(await Promise.race([url, timeout])), stderr: proc.stderr };
}

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** A raw HTTP request, Host and Origin as given (fetch would not let a test set Host). */
function call(url: URL, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((done, fail) => {
    const req = request({ host: url.hostname, port: url.port, path, method: opts.method ?? 'GET', headers: { Host: url.host, ...opts.headers } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d; });
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', fail);
    req.end(opts.body);
  });
}

/** The cookie a browser keeps after opening the printed URL. */
async function cookieOf(url: URL): Promise<string> {
  const first = await call(url, `/${url.search}`);
  return String(first.headers['set-cookie']).split(';')[0]!;
}

const postAction = (url: URL, cookie: string, ns: string, name: string, headers: Record<string, string> = {}) => call(url, `/api/microservices/${ns}/${name}/action`, {
  method: 'POST', body: JSON.stringify({ action: 'promote' }),
  headers: { Cookie: cookie, 'Content-Type': 'application/json', Origin: url.origin, 'x-coxswain-request': '1', ...headers },
});

/** The first event of the dashboard's stream (after `retry:`), resuming from `lastId` if given. */
function firstEvent(url: URL, cookie: string, lastId?: string): Promise<{ id: string; event: string; data: any }> {
  return new Promise((done, fail) => {
    const req = request({ host: url.hostname, port: url.port, path: '/api/stream', headers: { Host: url.host, Cookie: cookie, ...(lastId ? { 'Last-Event-ID': lastId } : {}) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d;
        const frame = text.split('\n\n').find((f) => f.startsWith('id: '));
        if (!frame) return;
        const field = (name: string) => frame.split('\n').find((l) => l.startsWith(`${name}: `))!.slice(name.length + 2);
        done({ id: field('id'), event: field('event'), data: JSON.parse(field('data')) });
        req.destroy();
      });
    });
    req.on('error', (err) => { if (!req.destroyed) fail(err); });
    req.end();
  });
}

async function textOf(page: Page, selector: string, includes: string, timeout = 60_000): Promise<void> {
  await page.waitForFunction((sel, text) => (globalThis as any).document.querySelector(sel)?.textContent?.includes(text), { timeout, polling: 100 }, selector, includes);
}

async function open(url: URL, hash = ''): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 720 });
  page.on('dialog', (d) => void d.accept());
  await page.goto(url.href);
  if (hash) await page.evaluate((h) => { (globalThis as any).location.hash = h; }, hash);
  return page;
}

beforeAll(async () => {
  const executablePath = execFileSync(resolve(ROOT, 'hack/tools/chromium/chromium.sh'), { encoding: 'utf8' }).trim();
  mkdirSync(OUT, { recursive: true });
  await installCRD();
  nsA = await createNamespace('e2e-dash-a');
  nsB = await createNamespace('e2e-dash-b');
  operator = new Operator(['--namespaces', `${nsA},${nsB}`]).start();
  await apply(microservice('orders', canary('registry.example/orders:1'), nsA));
  await apply(microservice('ledger', { image: 'registry.example/ledger:1', replicas: 2 }, nsB));
  await eventually('orders live', healthyAt(nsA, 'orders', 'registry.example/orders:1'));
  await eventually('ledger live', healthyAt(nsB, 'ledger', 'registry.example/ledger:1'));
  // Root in a container has no user namespaces for Chromium's sandbox.
  browser = await puppeteer.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
});

afterAll(async () => {
  await browser?.close();
  for (const p of running) await p.stop();
  await operator?.stop();
  if (nsA) await deleteNamespace(nsA);
  if (nsB) await deleteNamespace(nsB);
});

describe('kubectl coxswain dashboard over HTTP', () => {
  it('answers only its own Host, only with the token, keeps the token in a strict cookie, and refuses cross-site POSTs', async () => {
    const { url } = await dashboard(nsA, '-A');
    expect(url.hostname).toBe('127.0.0.1');
    expect((await call(url, `/${url.search}`, { headers: { Host: `evil.example:${url.port}` } })).status).toBe(403);
    const anonymous = await call(url, '/');
    expect(anonymous.status).toBe(401);
    expect((await call(url, '/?token=wrong')).status).toBe(401);

    const first = await call(url, `/${url.search}`);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/');
    expect(String(first.headers['set-cookie'])).toMatch(/; HttpOnly; SameSite=Strict; Path=\/$/);
    expect(first.headers['content-security-policy']).toContain("default-src 'none'");
    const cookie = await cookieOf(url);
    const page = await call(url, '/', { headers: { Cookie: cookie } });
    expect(page.status).toBe(200);
    expect(page.body).not.toMatch(/https?:\/\//); // nothing loaded from outside

    expect((await postAction(url, cookie, nsA, 'orders', { Origin: 'https://evil.example' })).status).toBe(403);
    expect((await postAction(url, cookie, nsA, 'orders', { 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    expect((await postAction(url, cookie, nsA, 'orders', { 'x-coxswain-request': '' })).status).toBe(403);
    expect((await postAction(url, 'coxswain_dashboard=nope', nsA, 'orders')).status).toBe(401);
  });

  it('resumes a stream from Last-Event-ID with only what changed since, and sends everything for an id it never gave', async () => {
    const { url } = await dashboard(nsA, '-A');
    const cookie = await cookieOf(url);
    const first = await firstEvent(url, cookie);
    expect(first.event).toBe('snapshot');
    expect(first.data.upserts.map((s: { name: string }) => s.name)).toEqual(expect.arrayContaining(['orders', 'ledger']));
    const resumed = await firstEvent(url, cookie, first.id);
    expect(resumed).toMatchObject({ event: 'change', data: { snapshot: false, upserts: [], deletes: [] } });
    expect((await firstEvent(url, cookie, '999999')).event).toBe('snapshot');
  });

  it('binds another address than loopback only with --allow-remote', async () => {
    const refused = await kubectlCoxswain(undefined, ['dashboard', '--address', '0.0.0.0']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--allow-remote');
  });
});

describe('kubectl coxswain dashboard in a browser', () => {
  let url: URL;
  let page: Page;

  beforeAll(async () => {
    ({ url } = await dashboard(nsA, '-A'));
    page = await open(url);
  });

  it('lists the Microservices of both namespaces', async () => {
    await page.waitForSelector(`tr[data-key="${nsA}/orders"]`);
    await page.waitForSelector(`tr[data-key="${nsB}/ledger"]`);
    expect(page.url()).toBe(`${url.origin}/`); // the token left the address bar for the cookie
  });

  it("shows a canary's step change without a reload", async () => {
    await k('-n', nsA, 'patch', 'microservice', 'orders', '--type', 'merge', '-p', JSON.stringify({ spec: { image: 'registry.example/orders:2' } }));
    await textOf(page, `tr[data-key="${nsA}/orders"] td.step`, '1/5');
    await page.evaluate(() => { (globalThis as any).sameDocument = true; });
    await page.screenshot({ path: resolve(OUT, 'overview.png'), clip: { x: 0, y: 0, width: 1280, height: 220 } });
    const promoted = await kubectlCoxswain(nsA, ['promote', 'orders']);
    expect(promoted.code).toBe(0);
    const answered = Date.now();
    await textOf(page, `tr[data-key="${nsA}/orders"] td.step`, '3/5');
    console.log(`step change on the open page ${Date.now() - answered} ms after the operator's answer`);
    expect(await page.evaluate(() => (globalThis as any).sameDocument)).toBe(true);
  });

  it('promotes from the page, naming the revision, and shows the answer and the command', async () => {
    const detail = await open(url, `#/${nsA}/orders`);
    await textOf(detail, '#plan tr.current', 'pause until promoted');
    await detail.setViewport({ width: 1280, height: 1000 });
    await detail.screenshot({ path: resolve(OUT, 'detail.png') });
    const desired = (await msOf(nsA, 'orders')).status.desiredRevision as string;
    // The kept revisions as `kubectl coxswain history` lists them, and the candidate's pods.
    await textOf(detail, '#revisions', `${desired}registry.example/orders:2desired`);
    await textOf(detail, '#pods', `green${desired}Running`);
    let asked = '';
    detail.removeAllListeners('dialog');
    detail.on('dialog', (d) => { asked = d.message(); void d.accept(); });
    await detail.click('button[data-action="promote"]');
    await textOf(detail, '#answer', `kubectl coxswain promote orders -n ${nsA}`);
    expect(asked).toContain(desired);
    await eventually('orders:2 live after the promote from the page', healthyAt(nsA, 'orders', 'registry.example/orders:2'));
    await textOf(detail, '#title', 'Healthy');
  });
  it("shows a new Event of a Microservice on its open page, with no change to the Microservice itself", async () => {
    const detail = await open(url, `#/${nsA}/orders`);
    await detail.waitForSelector('#events');
    const before = (await msOf(nsA, 'orders')).metadata.resourceVersion;
    await apply({
      apiVersion: 'v1', kind: 'Event', metadata: { name: 'orders.dashboard-e2e', namespace: nsA },
      involvedObject: { apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', name: 'orders', namespace: nsA },
      type: 'Normal', reason: 'DashboardSaw', message: 'an Event the page learns of from its watch', source: { component: 'e2e' },
    });
    await textOf(detail, '#events', 'DashboardSaw', 30_000);
    expect((await msOf(nsA, 'orders')).metadata.resourceVersion).toBe(before);
    await detail.close();
  });
});

describe('kubectl coxswain dashboard as a user who may only view', () => {
  it('disables the buttons with the reason, and the API server refuses a forged POST', async () => {
    await apply({
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'dashboard-viewer', namespace: nsA },
      rules: [
        { apiGroups: ['coxswain.dev'], resources: ['microservices'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['pods', 'events'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['apps'], resources: ['controllerrevisions'], verbs: ['get', 'list', 'watch'] },
      ],
    });
    await k('-n', nsA, 'create', 'serviceaccount', 'viewer');
    await k('-n', nsA, 'create', 'rolebinding', 'viewer', '--role', 'dashboard-viewer', `--serviceaccount=${nsA}:viewer`);
    const kubeconfig = await serviceAccountKubeconfig(nsA, 'viewer');
    // No cluster-wide list for this account: the dashboard falls back to the namespace given.
    const { url } = await dashboard(nsA, '--kubeconfig', kubeconfig);
    const page = await open(url, `#/${nsA}/orders`);
    await textOf(page, '#denied', `you may not patch microservice orders in namespace ${nsA}`);
    expect(await page.$$eval('#actions button', (bs) => bs.map((b) => (b as any).disabled as boolean))).toEqual(Array(8).fill(true));
    const forged = await postAction(url, await cookieOf(url), nsA, 'orders');
    expect(forged.status).toBe(403);
    await page.close();
  });
});

describe('kubectl coxswain dashboard --read-only', () => {
  it('has no route that changes anything, and says why the buttons are off', async () => {
    const { url } = await dashboard(nsA, '-A', '--read-only');
    const cookie = await cookieOf(url);
    const before = (await msOf(nsA, 'orders')).metadata.resourceVersion;
    const refused = await postAction(url, cookie, nsA, 'orders');
    expect(refused.status).toBe(404);
    expect((await msOf(nsA, 'orders')).metadata.resourceVersion).toBe(before);
    const page = await open(url, `#/${nsA}/orders`);
    await textOf(page, '#denied', 'read-only');
    await page.close();
  });
});
