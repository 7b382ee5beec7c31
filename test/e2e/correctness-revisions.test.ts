// Issue 8, class 3 (kept revisions) and DESIGN.md "Revisions are kept": every revision is an
// apps/v1 ControllerRevision `<name>-<revision>` owned by the Microservice; `kubectl coxswain
// history` lists them; `kubectl coxswain undo --to-revision` goes back to any of them, rebuilt from
// its ControllerRevision even when no slot holds it any more.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, createNamespace, deleteNamespace, eventually, getJSON, installCRD, microservice, Operator } from './harness.js';
import { healthyAt, msOf, pluginIn, slotsOf } from './rollout-harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-c-history');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

const name = 'archive';
const spec = (n: number) => ({
  image: `registry.example/archive:${n}`, replicas: 2, ports: [{ name: 'http', port: 8080 }],
  config: { data: { GENERATION: String(n) } },
  strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }] } },
});
/** Revisions in the order they went live. */
const revisions: string[] = [];

describe('kept revisions', () => {
  it('are ControllerRevisions <name>-<revision>, labelled and owned by the Microservice', async () => {
    for (const n of [1, 2, 3]) {
      await apply(microservice(name, spec(n), ns));
      const o = await eventually(`v${n} live`, healthyAt(ns, name, `registry.example/archive:${n}`), 120_000);
      revisions.push(o.status.stableRevision);
    }
    // v1 is in no slot any more: blue had v1, green v2, blue v3.
    expect(Object.values(await slotsOf(ns, name)).map((s) => s.revision)).not.toContain(revisions[0]);
    const uid = (await msOf(ns, name)).metadata.uid;
    for (const rev of revisions) {
      const cr = await getJSON('controllerrevisions.apps', '-n', ns, `${name}-${rev}`);
      expect(cr, `ControllerRevision ${name}-${rev}`).toBeDefined();
      expect(cr.metadata.labels?.['coxswain.dev/revision']).toBe(rev);
      expect(cr.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Microservice', name, uid, controller: true });
    }
  });

  it('are listed by kubectl coxswain history', async () => {
    expect(revisions).toHaveLength(3);
    const history = await pluginIn(ns)('history', name);
    expect(history.stderr).toBe('');
    expect(history.code).toBe(0);
    for (const rev of revisions) expect(history.stdout).toContain(rev);
  });

  it('can be gone back to with kubectl coxswain undo --to-revision, from its ControllerRevision', async () => {
    const target = revisions[0]!;
    const undo = await pluginIn(ns)('undo', name, '--to-revision', target);
    expect(undo.stderr).toBe('');
    expect(undo.code).toBe(0);
    const back = await eventually(`revision ${target} stable and serving`, async () => {
      const o = await msOf(ns, name);
      const slot = (await slotsOf(ns, name))[o?.status?.activeSlot];
      return o?.status?.stableRevision === target && slot?.revision === target && slot.ready === 2 ? o : undefined;
    }, 120_000);
    const slot = await getJSON('deployment', '-n', ns, `${name}-${back.status.activeSlot}`);
    expect(slot.spec.template.spec.containers[0].image).toBe('registry.example/archive:1');
    // The config is part of the revision: v1's ConfigMap is back.
    const cm = slot.spec.template.spec.containers[0].envFrom?.[0]?.configMapRef?.name;
    expect((await getJSON('configmap', '-n', ns, cm))?.data).toEqual({ GENERATION: '1' });
  });
});
