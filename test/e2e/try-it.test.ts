// The README's "Try it", run as written: `make run` applies examples/ (the checkout canary among
// them), and the release block's commands, typed into a shell with the plugin on PATH, end as the
// README's comments say (status exit 3 at the pause, 0 once promoted and Healthy), while
// `kubectl coxswain get checkout --watch` shows the pause live.
import { mkdtempSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { condition, createNamespace, deleteNamespace, eventually, getJSON, k, kubectlCoxswainStream, Operator, ROOT, run } from './harness.js';

const README = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
const tryIt = README.slice(README.indexOf('## Try it'), README.indexOf('## Test it'));
/** The lines of the README's release block: each command, and the exit code its comment names (0 unless it says). */
const releaseBlock = /```sh\n(kubectl coxswain set image checkout[\s\S]*?)```/.exec(tryIt)?.[1]?.trim().split('\n') ?? [];

let ns: string;
let operator: Operator;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  ns = await createNamespace('e2e-try-it');
  // The README's commands name no namespace: a kubeconfig whose context is the test's namespace.
  const config = JSON.parse(await k('config', 'view', '--raw', '--minify', '-o', 'json'));
  config.contexts[0].context.namespace = ns;
  const dir = mkdtempSync(join(tmpdir(), 'coxswain-try-it-'));
  writeFileSync(join(dir, 'kubeconfig'), JSON.stringify(config), { mode: 0o600 });
  mkdirSync(join(dir, 'bin'));
  symlinkSync(resolve(ROOT, 'dist/cli/plugin.js'), join(dir, 'bin', 'kubectl-coxswain'));
  env = { ...process.env, KUBECONFIG: join(dir, 'kubeconfig'), PATH: `${join(dir, 'bin')}:${resolve(ROOT, 'node_modules/.bin')}:${process.env.PATH}` };
  // What `make run` applies, as its recipe types it (with the namespaced kubeconfig).
  const makefile = readFileSync(resolve(ROOT, 'Makefile'), 'utf8');
  expect(makefile).toMatch(/^\t\$\(KUBECTL_LOCAL\) apply -f examples\/$/m);
  const applied = await run('kubectl', ['apply', '-f', 'examples/'], { cwd: ROOT, env });
  expect(applied.code, applied.stderr).toBe(0);
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(ns);
});

describe("the README's Try it", () => {
  it('ships the checkout canary: paused at 25% for a person, promoted, Healthy on the new image', async () => {
    expect(releaseBlock.length, 'the README has the release block').toBeGreaterThanOrEqual(4);
    await eventually('checkout Ready', async () => condition(await getJSON('microservice', '-n', ns, 'checkout'), 'Ready')?.status === 'True', 120_000);
    const before = (await getJSON('microservice', '-n', ns, 'checkout')).status.stableRevision as string;
    const watched: string[] = [];
    expect(tryIt).toContain('kubectl coxswain get checkout --watch');
    const watch = kubectlCoxswainStream(ns, ['get', 'checkout', '--watch'], (line) => watched.push(line));
    try {
      for (const line of releaseBlock) {
        const [command, comment = ''] = line.split(/\s+#\s*/, 2) as [string, string?];
        const expected = Number(/exit (\d)/.exec(comment)?.[1] ?? 0);
        const r = await run('sh', ['-c', command], { cwd: ROOT, env });
        expect(r.code, `${command}\n${r.stdout}${r.stderr}`).toBe(expected);
      }
      await eventually('the watch showed the pause', async () => watched.some((l) => /Paused - waiting for promotion at step 1/.test(l)), 10_000, 100);
    } finally {
      await watch.stop();
    }
    const after = await getJSON('microservice', '-n', ns, 'checkout');
    expect(after.status.phase).toBe('Healthy');
    expect(after.status.stableRevision).not.toBe(before);
    expect(after.spec.image).toBe('registry.example/checkout:1.1.0');
  }, 180_000);
});
