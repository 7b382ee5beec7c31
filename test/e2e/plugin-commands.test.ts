// Issue 16, defect 6: every `kubectl coxswain` command the README documents, run exactly as the
// README writes it (through kubectl's plugin mechanism, the built dist/cli/plugin.js symlinked
// onto PATH as kubectl-coxswain), with its effect checked as a user would check it. The commands
// other files already run are listed in COVERED with where; the ones no other file ran are here:
// list [-A], get --watch, promote --full, restart and set image.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply, createNamespace, deleteNamespace, eventually, getJSON, installCRD, kubectlCoxswain, kubectlCoxswainStream, microservice, Operator, ROOT,
} from './harness.js';
import { current, healthyAt, msOf, record, servingPods, slotsOf } from './rollout-harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-plugin');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

/** `kubectl coxswain ARGS -n NS`, as typed. */
const coxswain = (...args: string[]) => kubectlCoxswain(ns, args);
const rolling = (image: string) => ({ image, replicas: 2, ports: [{ name: 'http', port: 8080 }] });

/**
 * Each row of the README's command table, and where an end-to-end test runs it as written: this
 * file, or another file and what in it runs the command. A command added to the README without a
 * test fails here.
 */
const COVERED: Record<string, Array<[file: string, runs: RegExp]>> = {
  'kubectl coxswain list [-A]': [['plugin-commands.test.ts', /'list', '-A'/]],
  'kubectl coxswain get NAME [--watch]': [['rollout.test.ts', /coxswain\('get', 'pay'\)/], ['plugin-commands.test.ts', /'get', name, '--watch'/]],
  'kubectl coxswain promote NAME [--full]': [['rollout.test.ts', /coxswain\('promote', 'pay'\)/], ['plugin-commands.test.ts', /'promote', name, '--full'/]],
  'kubectl coxswain abort NAME': [['correctness-serving.test.ts', /pluginIn\(ns\)\('abort', name\)/]],
  'kubectl coxswain retry NAME': [['rollout.test.ts', /coxswain\('retry', 'search'\)/]],
  'kubectl coxswain undo NAME [--to-revision REV]': [
    ['rollout.test.ts', /coxswain\('undo', 'web'\)/], ['correctness-revisions.test.ts', /pluginIn\(ns\)\('undo', name, '--to-revision', target\)/],
  ],
  'kubectl coxswain history NAME': [['correctness-revisions.test.ts', /pluginIn\(ns\)\('history', name\)/]],
  'kubectl coxswain pause NAME` / `resume NAME': [['rollout.test.ts', /coxswain\('pause', 'notes'\)[\s\S]*coxswain\('resume', 'notes'\)/]],
  'kubectl coxswain restart NAME': [['plugin-commands.test.ts', /coxswain\('restart', name\)/]],
  'kubectl coxswain set image NAME IMAGE': [['plugin-commands.test.ts', /coxswain\('set', 'image', name, /]],
  'kubectl coxswain status NAME... [-l SELECTOR] [--until complete/paused/step=N] [--revision HASH] [--timeout 10m] [--watch=false] [-o json]': [
    ['plugin-status.test.ts', /coxswain\('status', 'done', '--timeout', '2m'\)/], ['plugin-status.test.ts', /coxswain\('status', '-l', /],
  ],
  'kubectl coxswain dashboard [--read-only]': [['dashboard.test.ts', /dashboard\(nsA, '-A'\)/], ['dashboard.test.ts', /dashboard\(nsA, '-A', '--read-only'\)/]],
  'kubectl coxswain adopt deployment/NAME [--service S] [--hpa H] [--container C]': [['adopt.test.ts', /kubectlCoxswain\(ns, \['adopt', `deployment\/\$\{name\}`, '--service', name, '--hpa', name\]\)/]],
  'kubectl coxswain eject NAME [--to deployment/NEW] [--timeout 5m]': [
    ['eject.test.ts', /kubectlCoxswain\(ns, \['eject', name\]\)/], ['eject.test.ts', /kubectlCoxswain\(ns, \['eject', name, '--to', `deployment\/\$\{to\}`, '--timeout', '2m'\]\)/],
  ],
};

describe("the README's command table", () => {
  it('has an end-to-end test for every command it lists', () => {
    const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| `(kubectl coxswain [^|]*?)` \|/gm)].map((m) => m[1]);
    expect(rows).toEqual(Object.keys(COVERED));
    for (const [row, places] of Object.entries(COVERED)) {
      for (const [file, runs] of places) expect(readFileSync(resolve(ROOT, 'test/e2e', file), 'utf8'), `${row} in ${file}`).toMatch(runs);
    }
  });
});

describe('kubectl coxswain list [-A]', () => {
  it('lists the Microservices of the namespace, and with -A of every namespace', async () => {
    await apply(microservice('ledger', rolling('registry.example/ledger:1'), ns));
    await eventually('ledger live', healthyAt(ns, 'ledger', 'registry.example/ledger:1'));

    const list = await coxswain('list');
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    const [header, ...rows] = list.stdout.trimEnd().split('\n');
    expect(header!.split(/\s+/)).toEqual(['NAME', 'STRATEGY', 'PHASE', 'READY', 'STEP', 'WEIGHT', 'IMAGE']);
    expect(rows.map((r) => r.split(/\s+/))).toContainEqual(['ledger', 'RollingUpdate', 'Healthy', '2/2', '-', '-', 'registry.example/ledger:1']);

    // -A, as the README writes it: no namespace given, every namespace listed.
    const all = await kubectlCoxswain(undefined, ['list', '-A']);
    expect(all.stderr).toBe('');
    expect(all.code).toBe(0);
    const [allHeader, ...allRows] = all.stdout.trimEnd().split('\n');
    expect(allHeader!.split(/\s+/)).toEqual(['NAMESPACE', 'NAME', 'STRATEGY', 'PHASE', 'READY', 'STEP', 'WEIGHT', 'IMAGE']);
    expect(allRows.map((r) => r.split(/\s+/).slice(0, 3))).toContainEqual([ns, 'ledger', 'RollingUpdate']);
  });
});

describe('kubectl coxswain set image NAME IMAGE', () => {
  it('changes spec.image of NAME, which then rolls out', async () => {
    const name = 'galley';
    await apply(microservice(name, rolling('registry.example/galley:1'), ns));
    await eventually('v1 live', healthyAt(ns, name, 'registry.example/galley:1'));

    const set = await coxswain('set', 'image', name, 'registry.example/galley:2');
    expect(set.stderr).toBe(''); // before the fix: "microservice image not found in namespace ..."
    expect(set.code).toBe(0);
    expect(set.stdout).toBe(`microservice ${name}: image set to registry.example/galley:2\n`);
    expect((await msOf(ns, name)).spec.image).toBe('registry.example/galley:2');
    const done = await eventually('v2 live', healthyAt(ns, name, 'registry.example/galley:2'));
    expect((await slotsOf(ns, name))[done.status.activeSlot]).toMatchObject({ image: 'registry.example/galley:2', ready: 2 });

    const missing = await coxswain('set', 'image', 'nobody', 'registry.example/nobody:2');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`microservice nobody not found in namespace ${ns}\n`);
    const malformed = await coxswain('set', 'image', name);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toBe('usage: kubectl coxswain set image NAME IMAGE\n');
    expect((await msOf(ns, name)).spec.image).toBe('registry.example/galley:2');
  });
});

describe('kubectl coxswain get NAME --watch', () => {
  it('redraws the tree as the Microservice changes', async () => {
    const name = 'galley';
    await eventually('galley live', healthyAt(ns, name, 'registry.example/galley:2'));
    let output = '';
    const watch = kubectlCoxswainStream(ns, ['get', name, '--watch'], (line) => { output += `${line}\n`; });
    try {
      // Each redraw clears the screen first; the frames are what a person sees one after another.
      const frames = () => output.split('\x1b[2J\x1b[H').filter(Boolean);
      await eventually('the first frame', async () => frames().some((f) => /^Name: +galley$/m.test(f) && /registry\.example\/galley:2/.test(f)), 30_000);
      expect(watch.stderr()).toBe('');

      expect((await coxswain('set', 'image', name, 'registry.example/galley:3')).code).toBe(0);
      await eventually('v3 live', healthyAt(ns, name, 'registry.example/galley:3'));
      const seen = await eventually('a frame with v3 live', async () =>
        frames().find((f) => /^Phase: +Healthy/m.test(f) && /\(stable\) +revision \S+ +registry\.example\/galley:3 +2\/2 ready/.test(f) && !/galley:2/.test(f)), 30_000)
        .catch((err: Error) => { throw new Error(`${err.message}; last frame:\n${frames().at(-1)}`); });
      expect(seen).toMatch(/^Namespace: +e2e-plugin-/m);
      expect(frames().length).toBeGreaterThan(2);
    } finally {
      await watch.stop();
    }
  });
});

describe('kubectl coxswain restart NAME', () => {
  it('replaces every pod of the current revision, without a new revision', async () => {
    const name = 'bilge';
    await apply(microservice(name, rolling('registry.example/bilge:1'), ns));
    const before = await eventually('v1 live', healthyAt(ns, name, 'registry.example/bilge:1'));
    const oldPods = (await servingPods(ns, name))!.pods.map((p) => p.name);
    expect(oldPods).toHaveLength(2);

    const restart = await coxswain('restart', name);
    expect(restart.stderr).toBe('');
    expect(restart.code).toBe(0);
    expect(restart.stdout).toBe(`${name}: restarting the pods of revision ${before.status.stableRevision}\n`);

    const served = await eventually('only new pods serving', async () => {
      const now = await servingPods(ns, name);
      return now?.pods.length === 2 && now.pods.every((p) => !oldPods.includes(p.name)) ? now : undefined;
    }, 90_000);
    expect(served.pods.map((p) => p.revision)).toEqual([before.status.stableRevision, before.status.stableRevision]);
    const after = await eventually('Healthy again', healthyAt(ns, name, 'registry.example/bilge:1'));
    expect(after.status.stableRevision).toBe(before.status.stableRevision);
    const deployment = await getJSON('deployment', '-n', ns, `${name}-${after.status.activeSlot}`);
    expect(deployment.spec.template.metadata.annotations?.['coxswain.dev/restartedAt']).toBeTruthy();
  });
});

describe('kubectl coxswain promote NAME --full', () => {
  it('takes a canary paused at its first step straight to 100%, past the pauses still ahead', async () => {
    const name = 'mast';
    const steps = [{ setWeight: 25 }, { pause: {} }, { setWeight: 50 }, { pause: {} }];
    const spec = (image: string) => ({ image, replicas: 4, ports: [{ name: 'http', port: 8080 }], strategy: { type: 'Canary', canary: { steps } } });
    await apply(microservice(name, spec('registry.example/mast:1'), ns));
    await eventually('v1 live', healthyAt(ns, name, 'registry.example/mast:1'));
    await apply(microservice(name, spec('registry.example/mast:2'), ns));
    await eventually('paused at step 1', async () => {
      const o = await current(ns, name);
      return o?.status?.phase === 'Paused' && o.status.rollout?.step === 1;
    }, 90_000);

    const phases = record(async () => {
      const o = await msOf(ns, name);
      return `${o?.status?.phase} ${o?.status?.rollout?.step ?? '-'}`;
    });
    const promote = await coxswain('promote', name, '--full');
    expect(promote.stderr).toBe('');
    expect(promote.code).toBe(0);
    expect(promote.stdout).toMatch(new RegExp(`^${name}: promoting revision \\w+ to 100% now\n$`));
    await eventually('v2 live without another promote', healthyAt(ns, name, 'registry.example/mast:2'), 90_000);
    await phases.stop();
    expect(phases.samples, 'never waiting at the second pause').not.toContain('Paused 3');
    expect((await msOf(ns, name)).status.lastAction).toMatchObject({ action: 'promote-full', ok: true });
  });
});
