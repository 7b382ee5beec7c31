// Benchmark: the dashboard at BENCH_N Microservices (1,000) in one namespace: the overview's first
// paint and the time until every row is drawn, in Debian's headless Chromium; how long a search
// takes to redraw while 100 of them change 5 times each; and the dashboard process's RSS. The
// Microservices have no operator behind them (their rows need none to be drawn; bench/scale.ts
// measures the operator at this size). Prints numbers; asserts nothing. `make bench-dashboard`.
import { execFileSync, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import puppeteer from 'puppeteer-core';
import { MICROSERVICES } from '../src/kube/resources.js';
import { createNamespace, deleteNamespace, installCRD, KUBECONFIG, ROOT } from '../test/e2e/harness.js';
import { applyAll, benchClient, mib, processStats, table } from './lib.js';

const N = Number(process.env.BENCH_N ?? 1000);
const ROLLING = 100;

const ms = (namespace: string, i: number, image: string) => ({
  apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', metadata: { name: `app-${i}`, namespace },
  spec: { image, replicas: 1 },
});

async function main() {
  await installCRD();
  const client = await benchClient();
  const ns = await createNamespace('bench-dash');
  const executablePath = execFileSync(resolve(ROOT, 'hack/tools/chromium/chromium.sh'), { encoding: 'utf8' }).trim();
  const dash = spawn(process.execPath, [resolve(ROOT, 'dist/cli/plugin.js'), 'dashboard', '--kubeconfig', KUBECONFIG, '-n', ns], { stdio: ['ignore', 'pipe', 'inherit'] });
  const browser = await puppeteer.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    await applyAll(client, () => MICROSERVICES, Array.from({ length: N }, (_, i) => ms(ns, i, 'registry.example/app:1')), 8);
    const url = await new Promise<string>((r) => dash.stdout.on('data', (d: Buffer) => { const m = /(http:\/\/\S+)/.exec(d.toString()); if (m) r(m[1]!); }));
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    await page.goto(url);
    await page.waitForSelector('#overview tbody tr', { timeout: 60_000 });
    const firstRows = await page.evaluate(() => performance.now());
    const paint = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN);
    const shown = await page.$$eval('#overview tbody tr', (rows) => rows.length);
    await page.click('#show-all');
    const t0 = Date.now();
    await page.waitForFunction((n) => (globalThis as any).document.querySelectorAll('#overview tbody tr').length === n, { polling: 'raf', timeout: 60_000 }, N);
    const allRows = Date.now() - t0;

    // 100 of them change 5 times each (new images, as a rollout's status would) while a search is typed.
    const changes = (async () => {
      for (let round = 2; round <= 6; round++) {
        await applyAll(client, () => MICROSERVICES, Array.from({ length: ROLLING }, (_, i) => ms(ns, i, `registry.example/app:${round}`)), 8);
      }
    })();
    const searches: number[] = [];
    for (const query of ['app-9', 'app-1', 'app-42', 'app-']) {
      const t0 = Date.now();
      await page.$eval('input[type=search]', (el) => { (el as any).value = ''; });
      await page.type('input[type=search]', query);
      const want = Array.from({ length: N }, (_, i) => `app-${i}`).filter((n) => n.includes(query)).length;
      await page.waitForFunction((n) => (globalThis as any).document.querySelectorAll('#overview tbody tr').length === n, { polling: 'raf', timeout: 60_000 }, want);
      searches.push(Date.now() - t0);
    }
    await changes;
    await page.waitForFunction((q) => (globalThis as any).document.querySelector(`tr[data-key="${q}/app-0"] td.mono`)?.textContent === 'registry.example/app:6', { timeout: 60_000 }, ns)
      .catch(() => undefined);
    const rss = processStats(dash.pid!).rssMiB;
    process.stdout.write(`\nThe dashboard at ${N} Microservices (one namespace, one watch), Chromium ${await browser.version()}\n`);
    process.stdout.write(table(['what', 'value'], [
      ['first contentful paint ("Loading…")', `${paint.toFixed(0)} ms`],
      [`the overview's first ${shown} rows drawn, from navigation`, `${firstRows.toFixed(0)} ms`],
      [`"Show all": all ${N} rows drawn`, `${allRows} ms`],
      [`search typed and redrawn while ${ROLLING} change (4 queries)`, searches.map((s) => `${s} ms`).join(', ')],
      ['dashboard process RSS', mib(rss)],
    ]));
  } finally {
    await browser.close();
    dash.kill('SIGTERM');
    await deleteNamespace(ns);
    client.close();
  }
}

main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
