// The Argo CD resource actions (docs/argocd/argocd-cm.yaml) on the cluster. At each state a
// rollout really passes through, Argo CD's own Lua runtime (hack/tools/argocd: util/lua of the
// Argo CD module) says which actions it offers for the live object; every action it disables is
// then pressed as Argo CD presses one (the merge patch between the live object and the one the
// action returns, sent to the API server) and the operator must refuse it, and the one the walk
// goes on with must be offered and carried out. So discovery and the operator stay in step.
//
// COXSWAIN_ARGOCD_FIXTURES=docs/argocd/testdata also writes the objects judged here to
// docs/argocd/actions/testdata, the fixtures of `make test-argocd`.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, condition, createNamespace, deleteNamespace, eventually, getJSON, installCRD, k, microservice, must, Operator, ROOT } from './harness.js';

const CM = resolve(ROOT, 'docs/argocd/argocd-cm.yaml');
const FIXTURES = process.env.COXSWAIN_ARGOCD_FIXTURES && resolve(ROOT, process.env.COXSWAIN_ARGOCD_FIXTURES, '../actions/testdata');
const ACTIONS = ['promote', 'promote-full', 'abort', 'retry', 'undo', 'pause', 'resume', 'restart'];
const KEY = 'coxswain.dev/action';
const dir = mkdtempSync(join(tmpdir(), 'coxswain-argocd-actions-'));
let ns: string;
let operator: Operator;
let tool: string;

const base = { image: 'registry.example/shop:1', replicas: 2, ports: [{ port: 8080 }] };
const canary = { strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: {} }] } } };
const get = (name: string) => getJSON('microservice', '-n', ns, name);
const current = (o: any) => o?.status?.observedGeneration === o?.metadata.generation;

/** Writes the object for the tool (and, with COXSWAIN_ARGOCD_FIXTURES, as a fixture). */
function save(obj: any, fixture?: string): string {
  delete obj.metadata.managedFields;
  const text = yaml.dump(obj, { noRefs: true, lineWidth: -1 });
  const file = join(dir, `${fixture ?? 'live'}.yaml`);
  writeFileSync(file, text);
  if (fixture && FIXTURES) writeFileSync(join(FIXTURES, `${fixture}.yaml`), `# Captured by test/e2e/argocd-actions.test.ts from the local cluster.\n${text}`);
  return file;
}

/** The actions Argo CD offers for the live object: name -> enabled. */
async function offered(name: string, fixture: string): Promise<Record<string, boolean>> {
  const file = save(await get(name), fixture);
  const { actions } = JSON.parse(await must(tool, ['-cm', CM, 'discover', file])) as { actions: Array<{ name: string; disabled?: boolean }> };
  return Object.fromEntries(actions.map((a) => [a.name, !a.disabled]));
}

/**
 * Presses an action as Argo CD does and waits for the operator's answer (recorded and the
 * annotation cleared). `written` is the object right after the press, the request pending.
 */
async function press(name: string, action: string, params: Record<string, string> = {}): Promise<{ ok: boolean; message: string; written: any }> {
  const file = save(await get(name));
  const flags = Object.entries(params).flatMap(([p, v]) => ['-param', `${p}=${v}`]);
  const { patch } = JSON.parse(await must(tool, ['-cm', CM, ...flags, 'run', action, file])) as { patch: any };
  const value: string = patch.metadata.annotations[KEY];
  expect(patch, 'Argo CD patches the one annotation, never the spec').toEqual({ metadata: { annotations: { [KEY]: value } } });
  const id = value.slice(value.indexOf(':') + 1);
  const written = JSON.parse(await k('patch', 'microservice', name, '-n', ns, '--type', 'merge', '-p', JSON.stringify(patch), '-o', 'json'));
  const last = await eventually(`${action} answered`, async () => {
    const o = await get(name);
    return o?.status?.lastAction?.id === id && !o.metadata.annotations?.[KEY] ? o.status.lastAction : undefined;
  }, 60_000);
  return { ok: last.ok, message: last.message, written };
}

/** Every action discovery disables is refused by the operator; returns what it offers. */
async function judge(name: string, fixture: string, want: string[]): Promise<void> {
  const offer = await offered(name, fixture);
  expect(ACTIONS.filter((a) => offer[a]), `offered at ${fixture}`).toEqual(want);
  for (const action of ACTIONS.filter((a) => !offer[a])) {
    const answer = await press(name, action);
    expect(answer.ok, `${action}, disabled at ${fixture}, was carried out: ${answer.message}`).toBe(false);
  }
}

/** Presses an action discovery offers: the operator carries it out. */
async function go(name: string, action: string, params: Record<string, string> = {}): Promise<any> {
  const answer = await press(name, action, params);
  expect(answer.ok, `${action}: ${answer.message}`).toBe(true);
  return answer;
}

const waitingAtPause = (name: string) => eventually(`${name} waiting for promotion`, async () => {
  const o = await get(name);
  return current(o) && o?.status?.phase === 'Paused' && o.status.rollout?.message?.startsWith('waiting for promotion') && !o.status.rollout?.unreadySince;
}, 120_000);
const healthy = (name: string, image: string) => eventually(`${name} Healthy at ${image}`, async () => {
  const o = await get(name);
  return current(o) && o?.status?.phase === 'Healthy' && condition(o, 'Ready')?.status === 'True' && o.spec.image === image
    && o.status.stableRevision === o.status.desiredRevision;
}, 120_000);

beforeAll(async () => {
  tool = (await must(resolve(ROOT, 'hack/tools/argocd/argocd.sh'), [])).trim();
  await installCRD();
  ns = await createNamespace('e2e-argocd-actions');
  operator = new Operator(['--namespaces', ns]).start();
}, 900_000); // a cold build of Argo CD's Lua runtime (make test-argocd warms it first)
afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(ns);
});

describe('Argo CD actions: what discovery offers is what the operator carries out', () => {
  it('walks a canary through every action', async () => {
    const name = 'shop';
    await apply(microservice(name, { ...base, ...canary }, ns));
    await healthy(name, base.image);
    await judge(name, 'steady', ['pause', 'restart']);
    const rev1 = (await get(name)).status.stableRevision as string;

    await apply(microservice(name, { ...base, ...canary, image: 'registry.example/shop:2' }, ns));
    await waitingAtPause(name);
    await judge(name, 'paused-step', ['promote', 'promote-full', 'abort', 'undo', 'pause', 'restart']);
    // Right after a press the request is pending: nothing is offered until the operator answers.
    save((await go(name, 'pause')).written, 'pending');
    await judge(name, 'held', ['promote', 'promote-full', 'abort', 'undo', 'resume', 'restart']);
    await go(name, 'resume');
    await waitingAtPause(name);
    await go(name, 'abort');
    await eventually('aborted', async () => current(await get(name)) && condition(await get(name), 'Stalled')?.reason === 'RolloutAborted', 60_000);
    await judge(name, 'aborted', ['retry', 'pause', 'restart']);
    await go(name, 'retry');
    await waitingAtPause(name);
    await go(name, 'promote');
    await healthy(name, 'registry.example/shop:2');
    await judge(name, 'promoted', ['undo', 'pause', 'restart']);

    // Undo to a kept revision by its hash: Argo CD 3.1+'s action parameter.
    const undo = await go(name, 'undo', { revision: rev1 });
    expect(undo.message).toContain(`rolled back to revision ${rev1}`);
    await eventually('undone', async () => current(await get(name)) && (await get(name)).status.stableRevision === rev1, 60_000);
    await judge(name, 'undone', ['retry', 'pause', 'restart']);
    await go(name, 'restart');
  }, 600_000);

  it('offers promote at a blue-green preview once it is Ready', async () => {
    const name = 'preview';
    const bg = { ...base, replicas: 1, strategy: { type: 'BlueGreen', blueGreen: {} } };
    await apply(microservice(name, bg, ns));
    await healthy(name, base.image);
    await apply(microservice(name, { ...bg, image: 'registry.example/shop:2' }, ns));
    await eventually('preview waiting', async () => {
      const o = await get(name);
      return current(o) && o?.status?.phase === 'Paused' && o.status.rollout?.message?.includes('waiting for promotion');
    }, 120_000);
    await judge(name, 'blue-green-preview', ['promote', 'promote-full', 'abort', 'undo', 'pause', 'restart']);
    await go(name, 'promote');
    await healthy(name, 'registry.example/shop:2');
  }, 300_000);

  it('offers only pause and restart for a RollingUpdate', async () => {
    const name = 'plain';
    await apply(microservice(name, { ...base, image: 'registry.example/plain:1' }, ns));
    await healthy(name, 'registry.example/plain:1');
    await judge(name, 'rolling-update', ['pause', 'restart']);
    await go(name, 'pause');
    await judge(name, 'rolling-update-paused', ['resume', 'restart']);
    await go(name, 'resume');
  }, 300_000);
});
