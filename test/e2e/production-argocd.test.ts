// The Argo CD health check (docs/argocd/health.lua) against Microservices in every state the
// operator really reports, on the cluster: each object is read with kubectl and evaluated by Argo
// CD's own Lua runtime with the keys of docs/argocd/argocd-cm.yaml (hack/tools/argocd).
//
// COXSWAIN_ARGOCD_FIXTURES=docs/argocd/testdata refreshes the fixtures the Go test
// (`make test-argocd`) checks, from these very objects.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, condition, createNamespace, deleteNamespace, eventually, getJSON, installCRD, k, microservice, must, ROOT } from './harness.js';
import { RunningOperator } from './production-harness.js';

const CM = resolve(ROOT, 'docs/argocd/argocd-cm.yaml');
const FIXTURES = process.env.COXSWAIN_ARGOCD_FIXTURES;
let ns: string;
let op: RunningOperator;
let tool: string;
const dir = mkdtempSync(join(tmpdir(), 'coxswain-argocd-'));

const base = { image: 'registry.example/app:1', replicas: 2, ports: [{ port: 8080 }] };
const neverReady = { pod: { labels: { 'coxswain.dev/e2e-ready': 'false' } } };
const crashing = { pod: { labels: { 'coxswain.dev/e2e-fail': 'true' } } };
const canary = (image: string, extra: object = {}) => ({ ...base, image, ...extra, strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: {} }] } } });

const get = (name: string) => getJSON('microservice', '-n', ns, name);
const current = (o: any) => o?.status?.observedGeneration === o?.metadata.generation;

/** What Argo CD would say about the object, and the object as a fixture (no managedFields). */
async function health(name: string, fixture: string): Promise<{ status: string; message: string }> {
  const obj = await get(name);
  delete obj.metadata.managedFields;
  const file = join(dir, `${fixture}.yaml`);
  const text = yaml.dump(obj, { noRefs: true, lineWidth: -1 });
  writeFileSync(file, text);
  if (FIXTURES) writeFileSync(resolve(ROOT, FIXTURES, `${fixture}.yaml`), `# Captured by test/e2e/production-argocd.test.ts from the local cluster.\n${text}`);
  const { status, message } = JSON.parse(await must(tool, ['-cm', CM, 'health', file])) as { status: string; message: string };
  return { status, message };
}

beforeAll(async () => {
  tool = (await must(resolve(ROOT, 'hack/tools/argocd/argocd.sh'), [])).trim();
  await installCRD();
  ns = await createNamespace('e2e-prod-argocd');
}, 900_000); // a cold build of Argo CD's Lua runtime (make test-argocd warms it first)
afterAll(async () => {
  await op?.stop();
  await deleteNamespace(ns);
});

describe('the Argo CD health check, on what the operator really reports', () => {
  it('says Progressing before the operator has written any status', async () => {
    await apply(microservice('fresh', base, ns));
    try {
      expect(await health('fresh', 'no-status')).toEqual({ status: 'Progressing', message: 'Waiting for Coxswain to report status' });
    } finally {
      op = await new RunningOperator({ args: ['--namespaces', ns] }).start();
    }
  });

  it('says Healthy for a Microservice that is Ready', async () => {
    await eventually('fresh Ready', async () => current(await get('fresh')) && condition(await get('fresh'), 'Ready')?.status === 'True', 120_000);
    expect(await health('fresh', 'healthy')).toMatchObject({ status: 'Healthy', message: expect.stringMatching(/^Available: revision \w+ is available/) });
  });

  it('says Progressing for a first revision whose pods are not Ready yet (phase Pending)', async () => {
    await apply(microservice('starting', { ...base, ...neverReady }, ns));
    await eventually('starting Pending', async () => current(await get('starting')) && (await get('starting'))?.status?.phase === 'Pending', 120_000);
    expect(await health('starting', 'pending')).toMatchObject({ status: 'Progressing' });
  });

  it('says Progressing while a new revision rolls out (phase Progressing)', async () => {
    await apply(microservice('rolling', base, ns));
    await eventually('rolling Ready', async () => condition(await get('rolling'), 'Ready')?.status === 'True', 120_000);
    await apply(microservice('rolling', { ...base, image: 'registry.example/app:2', ...neverReady }, ns));
    await eventually('rolling Progressing', async () => current(await get('rolling')) && (await get('rolling'))?.status?.phase === 'Progressing', 120_000);
    expect(await health('rolling', 'progressing')).toMatchObject({ status: 'Progressing', message: expect.stringMatching(/^Progressing: /) });
  });

  it('says Suspended for a rollout paused by spec.paused', async () => {
    const steps = { strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { setWeight: 100 }] } } };
    await apply(microservice('held', { ...base, ...steps }, ns));
    await eventually('held Ready', async () => condition(await get('held'), 'Ready')?.status === 'True', 120_000);
    await apply(microservice('held', { ...base, ...steps, image: 'registry.example/app:2', paused: true }, ns));
    await eventually('held Paused', async () => current(await get('held')) && (await get('held'))?.status?.phase === 'Paused', 120_000);
    expect(await health('held', 'paused-spec')).toMatchObject({ status: 'Suspended', message: 'paused by spec.paused' });
  });

  it('says Suspended for a canary waiting at a pause step for promotion', async () => {
    await apply(microservice('canary', base, ns));
    await eventually('canary Ready', async () => condition(await get('canary'), 'Ready')?.status === 'True', 120_000);
    await apply(microservice('canary', canary('registry.example/app:2'), ns));
    await eventually('canary paused at 50%', async () => {
      const o = await get('canary');
      return current(o) && o?.status?.phase === 'Paused' && o?.status?.rollout?.weight === 50;
    }, 120_000);
    expect(await health('canary', 'paused-canary')).toMatchObject({ status: 'Suspended' });
  });

  it('says Degraded for a canary aborted by itself (crash-looping candidate)', async () => {
    await apply(microservice('aborted', base, ns));
    await eventually('aborted Ready', async () => condition(await get('aborted'), 'Ready')?.status === 'True', 120_000);
    await apply(microservice('aborted', canary('registry.example/app:2', crashing), ns));
    await eventually('aborted', async () => condition(await get('aborted'), 'Stalled')?.reason === 'RolloutAborted', 120_000);
    expect(await health('aborted', 'degraded-aborted')).toMatchObject({ status: 'Degraded', message: expect.stringMatching(/^RolloutAborted: /) });
  });

  it('says Degraded for a name conflict', async () => {
    await k('create', 'service', 'clusterip', 'taken', '--tcp=80:80', '-n', ns);
    await apply(microservice('taken', base, ns));
    await eventually('NameConflict', async () => condition(await get('taken'), 'Stalled')?.reason === 'NameConflict', 120_000);
    expect(await health('taken', 'degraded-nameconflict')).toMatchObject({ status: 'Degraded', message: expect.stringMatching(/^NameConflict: Service .*taken exists/) });
  });

  it('says Degraded when the API server refuses what the spec renders to', async () => {
    await apply(microservice('refused', { ...base, probes: { readiness: { httpGet: { port: 0 } } } }, ns));
    await eventually('ApplyFailed', async () => condition(await get('refused'), 'Stalled')?.reason === 'ApplyFailed', 120_000);
    expect(await health('refused', 'degraded-applyfailed')).toMatchObject({ status: 'Degraded', message: expect.stringMatching(/^ApplyFailed: /) });
  });

  it('says Progressing when the spec changed and the operator has not caught up (observedGeneration behind)', async () => {
    await op.stop();
    await apply(microservice('fresh', { ...base, image: 'registry.example/app:3' }, ns));
    const o = await get('fresh');
    expect(o.status.observedGeneration).toBeLessThan(o.metadata.generation);
    expect(o.status.phase).toBe('Healthy'); // what the status still says, about the old generation
    expect(await health('fresh', 'stale-generation')).toEqual({ status: 'Progressing', message: `Waiting for Coxswain to observe generation ${o.metadata.generation}` });
  });
});
