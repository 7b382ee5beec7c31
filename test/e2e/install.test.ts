// Issue 16, defect 7: every way the README installs or runs the two commands works. A fresh build
// (`npm run build`, which `make build` runs) leaves package.json's bins executable; the README's
// symlink of the plugin onto PATH, `npm install -g .` in the checkout, and `npx coxswain` each run
// against the cluster or print what they should. The commands are read from the README, so the
// test follows what it says.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, createNamespace, deleteNamespace, installCRD, KUBECONFIG, microservice, PACKAGE_VERSION, ROOT, run } from './harness.js';

const BINS = (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin;
const README = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
/** The project's Node 24 first, as the Makefile puts it. */
const PATH_WITH_NODE = `${resolve(ROOT, 'node_modules/.bin')}:${process.env.PATH}`;

let ns: string;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'coxswain-install-'));
  await installCRD();
  ns = await createNamespace('e2e-install');
  // No operator: `list` shows the Microservice as it is.
  const r = await apply(microservice('ferry', { image: 'registry.example/ferry:1' }, ns));
  expect(r.code, r.stderr).toBe(0);
});
afterAll(async () => {
  await deleteNamespace(ns);
  rmSync(scratch, { recursive: true, force: true });
});

const isExecutable = (file: string) => (statSync(file).mode & 0o111) === 0o111;

/** `kubectl coxswain list -n NS` with `bin` first on PATH: kubectl finds the plugin there or nowhere. */
async function listThrough(bin: string) {
  const r = await run('kubectl', ['coxswain', 'list', '-n', ns], { env: { ...process.env, PATH: `${bin}:${PATH_WITH_NODE}`, KUBECONFIG } });
  expect(r.stderr, `kubectl coxswain through ${bin}`).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^NAME +STRATEGY +PHASE/);
  expect(r.stdout).toMatch(/^ferry +RollingUpdate .* registry\.example\/ferry:1$/m);
}

describe('a fresh build', () => {
  it("leaves every one of package.json's bins executable, and they run where a symlink puts them", async () => {
    // A checkout as a fresh clone has it, without dist/ (the dependencies shared, not installed again).
    const clone = join(scratch, 'clone');
    mkdirSync(clone);
    // What `npm run build` reads: the TypeScript, and the script that bundles the dashboard's page.
    for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'hack/build-dashboard.mjs']) cpSync(resolve(ROOT, f), join(clone, f), { recursive: true });
    symlinkSync(resolve(ROOT, 'node_modules'), join(clone, 'node_modules'));
    const build = await run('npm', ['run', '--silent', 'build'], { cwd: clone, env: { ...process.env, PATH: PATH_WITH_NODE } });
    expect(build.code, build.stderr + build.stdout).toBe(0);

    expect(Object.keys(BINS).sort()).toEqual(['coxswain', 'kubectl-coxswain']);
    for (const [bin, file] of Object.entries(BINS)) expect(isExecutable(join(clone, file)), `${bin}: ${file} is executable`).toBe(true);

    const bin = join(scratch, 'fresh-bin');
    mkdirSync(bin);
    symlinkSync(join(clone, BINS['kubectl-coxswain']!), join(bin, 'kubectl-coxswain'));
    symlinkSync(join(clone, BINS.coxswain!), join(bin, 'coxswain'));
    await listThrough(bin);
    const version = await run('coxswain', ['version'], { env: { ...process.env, PATH: `${bin}:${PATH_WITH_NODE}` } });
    expect(version).toMatchObject({ code: 0, stdout: `${PACKAGE_VERSION}\n` });
  });
});

describe("the README's ways to install the plugin", () => {
  it('the symlink onto PATH, as the README types it', async () => {
    const line = /`(ln -s \$PWD\/dist\/cli\/plugin\.js ~\/bin\/kubectl-coxswain)`/.exec(README)?.[1];
    expect(line, 'the README shows the symlink install').toBeDefined();
    const home = join(scratch, 'home');
    mkdirSync(join(home, 'bin'), { recursive: true });
    const ln = await run('sh', ['-c', line!], { cwd: ROOT, env: { ...process.env, HOME: home } });
    expect(ln.code, ln.stderr).toBe(0);
    await listThrough(join(home, 'bin'));
  });

  it('npm install -g . in the checkout (into a prefix of its own, not this machine\'s)', async () => {
    expect(/`npm install -g \.` in this\s+checkout/.test(README), 'the README shows npm install -g .').toBe(true);
    const prefix = join(scratch, 'prefix');
    const install = await run('npm', ['install', '-g', '.', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: ROOT, env: { ...process.env, PATH: PATH_WITH_NODE, npm_config_prefix: prefix },
    });
    expect(install.code, install.stderr).toBe(0);
    await listThrough(join(prefix, 'bin'));
    const version = await run(join(prefix, 'bin', 'coxswain'), ['version'], { env: { ...process.env, PATH: PATH_WITH_NODE } });
    expect(version).toMatchObject({ code: 0, stdout: `${PACKAGE_VERSION}\n` });
  });

  it('npx coxswain in the checkout, as the README types it', async () => {
    const line = /`(npx coxswain render -f examples\/orders\.yaml)`/.exec(README)?.[1];
    expect(line, 'the README shows npx coxswain render').toBeDefined();
    const r = await run('sh', ['-c', line!], { cwd: ROOT, env: { ...process.env, PATH: PATH_WITH_NODE, npm_config_offline: 'true' } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^kind: Deployment$/m);
  });
});
