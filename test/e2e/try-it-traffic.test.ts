// The README's traffic demo (Try it), run as written: hack/demo/demo.sh up, as `make run` runs it,
// puts Traefik and a load generator in front of this cluster and applies examples/traffic/; the
// README's block then ships a release while curl asks the gateway on the host's loopback (through
// the demo's bridge into its network namespace): the stable revision answers before, the new one
// after promotion, and the demo's traffic log shows the split move with no request failed.
// Real: the control plane, KWOK's pods and EndpointSlices, Traefik, the operator, the bridges, curl.
// Played (test/e2e/dataplane/pods.ts, as in the data-plane tests): the application in the pods.
// Needs root, iproute2 and KWOK's nodes (the local cluster); elsewhere it skips and says why.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { condition, createNamespace, deleteNamespace, eventually, getJSON, installCRD, k, kubectl, Operator, ROOT, run } from './harness.js';

const README = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
const tryIt = README.slice(README.indexOf('## Try it'), README.indexOf('## Test it'));
/** The README's traffic block: curl through the gateway, a release, curl again. */
const block = /```sh\n(curl -s -H 'Host: storefront\.example\.com'[\s\S]*?)```/.exec(tryIt)?.[1]?.trim().split('\n') ?? [];
const README_URL = 'http://127.0.0.1:8088/';

const hasIp = (() => { try { execFileSync('ip', ['-V'], { stdio: 'ignore' }); return true; } catch { return false; } })();
const kwok = ((await getJSON('nodes'))?.items ?? []).some((n: any) => n.metadata.annotations?.['kwok.x-k8s.io/node']);
const skip = process.getuid?.() !== 0 ? 'it needs root (a network namespace)' : !hasIp ? 'it needs iproute2' : !kwok ? "the cluster's nodes are not KWOK's" : undefined;
if (skip) console.warn(`SKIPPED test/e2e/try-it-traffic.test.ts: ${skip}`);

let ns: string;
let dir: string;
let env: NodeJS.ProcessEnv;
let operator: Operator;
let url: string;
const demo = (verb: string) => run(resolve(ROOT, 'hack/demo/demo.sh'), [verb], { env });

interface Served { pod: string; slot: string; revision: string }
async function curl(command: string): Promise<Served> {
  const r = await run('sh', ['-c', command.replace(README_URL, url)], { env });
  expect(r.code, `${command}\n${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as Served;
}

/** The demo's lines since line `from`: answers by "slot revision", and failed requests. */
function traffic(from: number): { lines: string[]; by: Array<Record<string, number>>; failed: number } {
  const lines = readFileSync(join(dir, 'demo', 'traffic.log'), 'utf8').split('\n').filter((l) => / answers in /.test(l)).slice(from);
  const by = lines.map((l) => Object.fromEntries([...l.matchAll(/(blue|green) (\w+) (\d+)/g)].map((m) => [`${m[1]} ${m[2]}`, Number(m[3])])));
  return { lines, by, failed: lines.reduce((n, l) => n + Number(/failed (\d+)/.exec(l)?.[1] ?? NaN), 0) };
}

beforeAll(async () => {
  if (skip) return;
  await installCRD();
  ns = await createNamespace('e2e-try-traffic');
  // The README's commands name no namespace: a kubeconfig whose context is the test's (demo.sh puts the example there too).
  const config = JSON.parse(await k('config', 'view', '--raw', '--minify', '-o', 'json'));
  config.contexts[0].context.namespace = ns;
  dir = mkdtempSync(join(tmpdir(), 'coxswain-try-traffic-'));
  writeFileSync(join(dir, 'kubeconfig'), JSON.stringify(config), { mode: 0o600 });
  mkdirSync(join(dir, 'bin'));
  symlinkSync(resolve(ROOT, 'dist/cli/plugin.js'), join(dir, 'bin', 'kubectl-coxswain'));
  env = {
    ...process.env, KUBECONFIG: join(dir, 'kubeconfig'), PATH: `${join(dir, 'bin')}:${resolve(ROOT, 'node_modules/.bin')}:${process.env.PATH}`,
    COXSWAIN_DEMO_KUBECONFIG: join(dir, 'kubeconfig'), COXSWAIN_DEMO_DIR: join(dir, 'demo'), COXSWAIN_DEMO_PORT: '0',
  };
  // The same hostname claimed elsewhere (`make run`'s demo on this very cluster) would split the gateway's answers.
  const routes = await kubectl(['get', 'httproutes', '--all-namespaces', '-o', 'json']); // fails while the Gateway API is not installed
  const claimed = (routes.code === 0 ? JSON.parse(routes.stdout).items : [])
    .filter((r: any) => r.spec.hostnames?.includes('storefront.example.com')).map((r: any) => `${r.metadata.namespace}/${r.metadata.name}`);
  expect(claimed, 'HTTPRoutes that claim storefront.example.com already (make run\'s demo? make cluster-down first)').toEqual([]);
  const up = await demo('up');
  expect(up.code, up.stdout + up.stderr).toBe(0);
  url = /curl -s -H 'Host: storefront\.example\.com' (http:\/\/127\.0\.0\.1:\d+\/)/.exec(up.stdout)?.[1] ?? '';
  expect(url, up.stdout).not.toBe('');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  if (skip) return;
  await operator?.stop();
  const down = await demo('down');
  if (down.code !== 0) console.warn(`hack/demo/demo.sh down: ${down.stderr}`);
  await deleteNamespace(ns);
  // What the demo made outside the test's namespace, so the suite's cluster is left as it was found.
  await kubectl(['delete', '--ignore-not-found', '-n', 'gateways', 'gateway', 'public']);
  await kubectl(['delete', '--ignore-not-found', 'gatewayclass', 'traefik']);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(skip)("the README's traffic demo", () => {
  it('answers from the stable revision, then, once promoted, from the new one, with no request failed on the way', async () => {
    expect(block.length, 'the README has the traffic block').toBeGreaterThanOrEqual(6);
    expect(block.every((l) => !l.startsWith('curl') || l.includes(README_URL)), 'its curls ask the gateway the README names').toBe(true);
    const routed = await eventually('storefront Ready, its route accepted by Traefik', async () => {
      const o = await getJSON('microservice', '-n', ns, 'storefront');
      return condition(o, 'Ready')?.status === 'True' && o.status.traffic?.accepted === 'True' ? o : undefined;
    }, 120_000);
    const before = routed.status.stableRevision as string;
    // Before the release, a whole line of the stable revision alone (its first pods' start is no release).
    const from = await eventually('the demo serving the stable revision alone', async () => {
      const { lines, by } = traffic(0);
      const at = lines.findLastIndex((l, i) => Object.keys(by[i]!).join() === `blue ${before}` && l.endsWith('failed 0'));
      return at >= 0 ? at + 1 : undefined;
    }, 30_000);

    const answers: Served[] = [];
    for (const line of block) {
      const [command, comment = ''] = line.split(/\s+#\s*/, 2) as [string, string?];
      if (command.startsWith('curl')) { answers.push(await curl(command)); continue; }
      const expected = Number(/exit (\d)/.exec(comment)?.[1] ?? 0);
      const r = await run('sh', ['-c', command], { cwd: ROOT, env });
      expect(r.code, `${command}\n${r.stdout}${r.stderr}`).toBe(expected);
    }
    const after = await getJSON('microservice', '-n', ns, 'storefront');
    expect(after.status.phase).toBe('Healthy');
    expect(after.status.stableRevision).not.toBe(before);
    expect(answers[0]).toMatchObject({ revision: before, slot: 'blue' });
    // Traefik marks a route Accepted a moment before it serves it (README): the new revision
    // answers within a few seconds of `status`, and from then on it alone. One answer from it is
    // no proof that the route moved (the step before served it half the requests): five in a row.
    const t0 = Date.now();
    let inARow = answers.at(-1)!.revision === after.status.stableRevision ? 1 : 0;
    await eventually('curl answered by the new revision five times in a row', async () => {
      inARow = (await curl(block.at(-1)!)).revision === after.status.stableRevision ? inARow + 1 : 0;
      return inARow >= 5;
    }, 5_000, 20);
    console.log(`try-it-traffic: the new revision answered curl five times in a row ${Date.now() - t0} ms after status ended`);
    for (let i = 0; i < 20; i++) expect(await curl(block.at(-1)!)).toMatchObject({ revision: after.status.stableRevision, slot: 'green' });

    // The load generator's view: both revisions served at once on the way, then the new one alone, nothing failed.
    const promoted = traffic(0).lines.length;
    // The second line from now counts only requests sent after `status` ended.
    await eventually('two more lines of the traffic log', async () => traffic(0).lines.length >= promoted + 2, 15_000);
    const seen = traffic(from);
    console.log(`try-it-traffic: the demo's traffic log through the release:\n${seen.lines.join('\n')}`);
    expect(seen.by.some((b) => b[`blue ${before}`]! > 0 && b[`green ${after.status.stableRevision}`]! > 0), 'a line with both revisions').toBe(true);
    expect(traffic(promoted + 1).by[0]).toEqual({ [`green ${after.status.stableRevision}`]: expect.any(Number) });
    expect(seen.failed).toBe(0);
  }, 180_000);
});
