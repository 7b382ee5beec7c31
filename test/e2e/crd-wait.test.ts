// Issue 16, defect 9: waiting for a CRD right after creating it. A CRD is created with
// status.conditions null, and `kubectl wait --for condition=Established` then fails at once
// (".status.conditions accessor error: <nil> ...") instead of waiting, so a fresh clone's first
// end-to-end file (and `make run`) failed on a brand-new cluster. hack/wait-condition.sh, which the
// harness and the Makefile use, waits through it. The null is made to last here, on an object of a
// CRD of the test's own, so the test does not depend on winning a race.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crdsEstablished, k, kubectl, KUBECONFIG, ROOT, run } from './harness.js';

const GROUP = 'waits.e2e.coxswain.dev';
const created: string[] = [];

/** A CRD of its own (no status subresource, so a test may write status as it likes). */
function probeCRD(plural: string) {
  const kind = `P${plural}`;
  return {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${GROUP}` },
    spec: {
      group: GROUP, scope: 'Cluster', names: { plural, singular: plural, kind, listKind: `${kind}List` },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  };
}

async function createCRD(): Promise<string> {
  const plural = `p${randomBytes(4).toString('hex')}`;
  const r = await kubectl(['create', '-f', '-'], JSON.stringify(probeCRD(plural)));
  expect(r.code, r.stderr).toBe(0);
  created.push(`${plural}.${GROUP}`);
  return plural;
}

let plural: string;
beforeAll(async () => {
  plural = await createCRD();
  await crdsEstablished(`${plural}.${GROUP}`);
});
afterAll(async () => {
  if (created.length) await kubectl(['delete', '--wait=false', ...created.map((c) => `crd/${c}`)]);
});

const waitCondition = (...args: string[]) =>
  run(resolve(ROOT, 'hack/wait-condition.sh'), args, { env: { ...process.env, KUBECONFIG, WAIT_TIMEOUT_SECONDS: '30' } });

describe('hack/wait-condition.sh', () => {
  it('waits on an object whose status.conditions is null, where kubectl wait fails at once', async () => {
    const name = 'fresh';
    // `kubectl create` sends the object as it is, null included (apply would drop it).
    const obj = { apiVersion: `${GROUP}/v1`, kind: `P${plural}`, metadata: { name }, status: { conditions: null } };
    const made = await kubectl(['create', '-f', '-', '-o', 'jsonpath={.status}'], JSON.stringify(obj));
    expect(made.stdout).toBe('{"conditions":null}');

    // What the harness and `make run` used to run.
    const started = Date.now();
    const old = await kubectl(['wait', '--for', 'condition=Established', '--timeout=20s', `${plural}/${name}`]);
    expect(old.code).not.toBe(0);
    expect(old.stderr).toMatch(/\.status\.conditions accessor error: <nil>/);
    expect(Date.now() - started, 'kubectl failed at once instead of waiting').toBeLessThan(10_000);

    let finished = false;
    const waiting = waitCondition('Established', `${plural}/${name}`).finally(() => { finished = true; });
    await new Promise((r) => setTimeout(r, 3000));
    expect(finished, 'still waiting while the conditions are null').toBe(false);
    await k('patch', `${plural}/${name}`, '--type=merge', '-p', JSON.stringify({ status: { conditions: [{ type: 'Established', status: 'True' }] } }));
    const done = await waiting;
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    expect(done.stdout).toBe(`${plural}/${name}: Established\n`);
  });

  it('waits for an object that has no status yet, and gives up at the deadline naming what it saw', async () => {
    const name = 'bare';
    const r = await kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: `${GROUP}/v1`, kind: `P${plural}`, metadata: { name } }));
    expect(r.code, r.stderr).toBe(0);
    const gaveUp = await run(resolve(ROOT, 'hack/wait-condition.sh'), ['Established', `${plural}/${name}`], {
      env: { ...process.env, KUBECONFIG, WAIT_TIMEOUT_SECONDS: '2' },
    });
    expect(gaveUp.code).toBe(1);
    expect(gaveUp.stderr).toBe(`timed out after 2s waiting for ${plural}/${name} to be Established; last seen: no conditions\n`);
  });

  it('sees a CRD Established straight after creating it, every time', async () => {
    for (let i = 0; i < 5; i++) await crdsEstablished(`${await createCRD()}.${GROUP}`);
  });
});

describe('the repository', () => {
  it('waits for a condition with kubectl wait nowhere it may run before the status exists', () => {
    // Makefile, scripts, harnesses, tests, benchmarks and docs; this file shows the old command on purpose.
    const self = relative(ROOT, import.meta.filename);
    const skip = new Set(['node_modules', '.git', 'dist', '.cluster', '.kind']);
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir)) {
        if (skip.has(entry)) continue;
        const path = join(dir, entry);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.(ts|mjs|sh|md|yaml|json)$|^Makefile$/.test(entry) && relative(ROOT, path) !== self) {
          readFileSync(path, 'utf8').split('\n').forEach((line, i) => {
            const code = !/^\s*(\/\/|#|\*|@#)/.test(line); // comments may say why not
            if (code && /\bwait\b.*--for[ =',]*condition=Established/.test(line)) offenders.push(`${relative(ROOT, path)}:${i + 1}: ${line.trim()}`);
          });
        }
      }
    };
    walk(ROOT);
    expect(offenders).toEqual([]);
  });
});
