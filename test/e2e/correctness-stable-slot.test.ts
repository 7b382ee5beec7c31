// Issue 8, class 3: the stable slot is rebuilt from its own revision, never only resized. Deleted
// or edited mid-canary it comes back as the stable revision; and a RollingUpdate caught mid-roll,
// switched to Canary and aborted, puts the stable revision's template back in the stable slot
// instead of leaving the aborted one rolling there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, createNamespace, deleteNamespace, eventually, getJSON, installCRD, k, microservice, Operator } from './harness.js';
import { current, healthyAt, msOf, pluginIn, podsOfRevision, servingPods } from './rollout-harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-c-stable');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

const canary = { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: {} }], maxSurge: 1, maxUnavailable: 0 }, progressDeadlineSeconds: 600 };
const spec = (image: string, extra: Record<string, unknown> = {}) => ({ image, replicas: 2, ports: [{ name: 'http', port: 8080 }], strategy: canary, ...extra });

/** v1 live, then v2 waiting at the indefinite pause; returns the stable slot and revision. */
async function midCanary(name: string) {
  await apply(microservice(name, spec(`registry.example/${name}:1`), ns));
  const v1 = await eventually(`${name} v1 live`, healthyAt(ns, name, `registry.example/${name}:1`), 120_000);
  await apply(microservice(name, spec(`registry.example/${name}:2`), ns));
  await eventually(`${name} at the pause`, async () => {
    const o = await current(ns, name);
    return o?.status?.phase === 'Paused' && o.status.rollout?.step === 1;
  }, 120_000);
  return { slot: v1.status.activeSlot as string, revision: v1.status.stableRevision as string };
}

/** The slot Deployment holds the revision's template with its image, and has Ready pods. */
const holds = (name: string, slot: string, revision: string, image: string) => async () => {
  const d = await getJSON('deployment', '-n', ns, `${name}-${slot}`);
  const t = d?.spec.template;
  return t?.metadata.labels['coxswain.dev/revision'] === revision && t.spec.containers[0].image === image && (d.status.readyReplicas ?? 0) > 0 ? d : undefined;
};

/** What the slot and the Microservice say, for a failure message. */
async function state(name: string, slot: string): Promise<string> {
  const d = await getJSON('deployment', '-n', ns, `${name}-${slot}`);
  const o = await msOf(ns, name);
  const dep = d ? `revision ${d.spec.template.metadata.labels['coxswain.dev/revision']}, image ${d.spec.template.spec.containers[0].image}, ${d.status.readyReplicas ?? 0}/${d.spec.replicas} ready` : 'not found';
  return `${name}-${slot}: ${dep}; status: phase ${o?.status?.phase}, stableRevision ${o?.status?.stableRevision}, ready ${o?.status?.ready}, ${o?.status?.rollout?.message}`;
}
const explained = (name: string, slot: string) => async (err: Error) => { throw new Error(`${err.message}; ${await state(name, slot)}`); };

describe('the stable slot, mid-canary', () => {
  it('is recreated from the stable revision when its Deployment is deleted', async () => {
    const name = 'atlas';
    const stable = await midCanary(name);
    await k('delete', 'deployment', '-n', ns, `${name}-${stable.slot}`, '--wait=true');
    await eventually(`${name}-${stable.slot} recreated with revision ${stable.revision}`,
      holds(name, stable.slot, stable.revision, `registry.example/${name}:1`), 90_000).catch(explained(name, stable.slot));
    const o = await msOf(ns, name);
    expect(o.status.stableRevision).toBe(stable.revision);
    // And the stable revision serves again behind <name>.
    await eventually('a stable pod behind the Service', async () =>
      (await servingPods(ns, name))?.pods.some((p) => p.revision === stable.revision), 60_000);
  });

  it('gets its template back when its image is edited', async () => {
    const name = 'boreas';
    const stable = await midCanary(name);
    await k('set', 'image', '-n', ns, `deployment/${name}-${stable.slot}`, `${name}=registry.example/tampered:0`);
    await eventually(`${name}-${stable.slot} back on the stable image`,
      holds(name, stable.slot, stable.revision, `registry.example/${name}:1`), 90_000).catch(explained(name, stable.slot));
    // The tampered pods are gone again.
    await eventually('no tampered pod left', async () => {
      const pods = (await getJSON('pods', '-n', ns, '-l', `app.kubernetes.io/name=${name}`))?.items ?? [];
      return pods.filter((p: any) => !p.metadata.deletionTimestamp && p.spec.containers[0].image === 'registry.example/tampered:0').length === 0;
    }, 90_000);
  });
});

describe('a RollingUpdate caught mid-roll, switched to Canary, then aborted', () => {
  it('puts the stable revision\'s template back in the stable slot', async () => {
    const name = 'cygnus';
    const rolling = (image: string, extra: Record<string, unknown> = {}) => ({ image, replicas: 2, ports: [{ name: 'http', port: 8080 }], ...extra });
    await apply(microservice(name, rolling('registry.example/cygnus:1'), ns));
    const v1 = await eventually('v1 live', healthyAt(ns, name, 'registry.example/cygnus:1'), 120_000);
    const stableRevision = v1.status.stableRevision as string;

    // v2's pods never become Ready: the slot's own rolling update stays half way.
    const unready = { pod: { labels: { 'coxswain.dev/e2e-ready': 'false' } } };
    await apply(microservice(name, rolling('registry.example/cygnus:2', unready), ns));
    const v2 = await eventually('v2 rolling in the active slot', async () => {
      const o = await current(ns, name);
      const rev = o?.status?.desiredRevision;
      return rev && rev !== stableRevision && (await podsOfRevision(ns, name, rev)).length > 0 ? o : undefined;
    }, 60_000);
    const badRevision = v2.status.desiredRevision as string;

    await apply(microservice(name, { ...rolling('registry.example/cygnus:2', unready), strategy: canary }, ns));
    await eventually('the switch to Canary taken up', async () => (await current(ns, name)) !== undefined);
    const abort = await pluginIn(ns)('abort', name);
    const aborted = await eventually('aborted', async () => {
      const o = await current(ns, name);
      return o?.status?.rollout?.abortedRevision === badRevision ? o : undefined;
    }, 60_000).catch((err: Error) => { throw new Error(`${err.message}; kubectl coxswain abort said: ${abort.stdout}${abort.stderr}`); });
    expect(aborted.status.stableRevision).toBe(stableRevision);

    const slot = aborted.status.activeSlot as string;
    await eventually(`${name}-${slot} back on revision ${stableRevision}`, async () => {
      const d = await getJSON('deployment', '-n', ns, `${name}-${slot}`);
      const o = await msOf(ns, name);
      return d?.spec.template.metadata.labels['coxswain.dev/revision'] === o.status.stableRevision
        && d.spec.template.spec.containers[0].image === 'registry.example/cygnus:1';
    }, 60_000).catch(explained(name, slot));
    // No pod of the aborted revision is left in the stable slot.
    await eventually('the aborted revision\'s pods gone from the stable slot', async () => {
      const pods = (await getJSON('pods', '-n', ns, '-l', `app.kubernetes.io/name=${name},coxswain.dev/slot=${slot},coxswain.dev/revision=${badRevision}`))?.items ?? [];
      return pods.filter((p: any) => !p.metadata.deletionTimestamp).length === 0;
    }, 60_000);
  });
});
