// Issue 22, part 4: `kubectl coxswain eject`, the way out. A Microservice serving 4 replicas is
// handed back to a plain Deployment with the Ready pods behind its Service watched (never fewer
// than 4: maxUnavailable is 0); afterwards `kubectl get` shows a plain Deployment and Service
// serving, no Microservice, and nothing orphaned but what was meant to stay. A second eject is
// killed twice mid-way (and the operator once, between) and run again, and finishes the same; the
// operator, once it has answered the eject annotation, writes nothing (audit log). A third is
// SIGKILLed at seeded random instants three runs in a row (the seed printed, COXSWAIN_E2E_SEED
// replays it), and the fourth run finishes it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as yaml from 'js-yaml';
import {
  apply, auditMark, condition, createNamespace, deleteNamespace, eventually, getJSON, hasAuditLog, installCRD, kubectl, kubectlCoxswain, kubectlCoxswainStream, microservice,
  Operator, operatorRequests, seeded, sleep, WRITE_VERBS,
} from './harness.js';
import { current, msOf, servingPods, story, watchServing } from './rollout-harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-eject');
  // Secrets tracked (docs/secrets.md): the pods read the revision's copy of Secret db, which the
  // eject must leave with the plain Deployment, not delete with the Microservice.
  await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: ns }, stringData: { password: 'pw' } });
  operator = new Operator(['--namespaces', ns, '--track-secrets']).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

/** A Microservice at 4 Ready replicas, with a ConfigMap of its own (spec.config) and a label of the user's. */
async function serving(name: string, more: Record<string, unknown> = {}): Promise<any> {
  const spec = { image: `registry.example/${name}:1`, replicas: 4, ports: [{ name: 'http', port: 8080 }], config: { data: { GREETING: 'hello' } }, pod: { labels: { team: 'payments' } },
    env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }], ...more };
  expect((await apply(microservice(name, spec, ns))).stderr).toBe('');
  return eventually(`${name} serving 4 Ready pods`, async () => {
    const o = await current(ns, name);
    return condition(o, 'Ready')?.status === 'True' && o.status?.activeSlot && (await servingPods(ns, name))?.pods.length === 4 && o;
  }, 120_000);
}

const names = (list: any) => (list?.items ?? []).map((o: any) => o.metadata.name).sort();

/** What is left in the namespace after the eject of `name` to the Deployment `to`. */
async function expectOnlyPlainLeft(name: string, serviceUid: string, to = name): Promise<void> {
  expect(await getJSON('microservice', '-n', ns, name)).toBeUndefined();
  // Slots, revisions, PDB, NetworkPolicy: gone with the Microservice. The Deployment, its pods, the Service and the config stay.
  await eventually('the slots\' pods gone', async () => (await getJSON('pods', '-n', ns, '-l', `app.kubernetes.io/name=${name}`))?.items.every((p: any) => !p.metadata.labels['coxswain.dev/slot']), 90_000);
  const left = async (kind: string) => names(await getJSON(kind, '-n', ns, '-l', `app.kubernetes.io/name=${name}`)).filter((n: string) => n.startsWith(name));
  expect(await left('deployments')).toEqual([to]);
  expect(await left('services')).toEqual([name]);
  expect(await left('controllerrevisions')).toEqual([]);
  expect(await left('poddisruptionbudgets')).toEqual([]);
  expect(await left('networkpolicies')).toEqual([]);
  expect(await getJSON('hpa', '-n', ns, name).then((h) => h?.spec.scaleTargetRef.kind ?? 'none')).not.toBe('Microservice');
  const rsOwners = (await getJSON('replicasets', '-n', ns))?.items.filter((r: any) => r.metadata.name.startsWith(name)).map((r: any) => r.metadata.ownerReferences?.[0]?.name);
  expect(new Set(rsOwners)).toEqual(new Set([to]));
  // The config the pods read: owned by the plain Deployment now, not the Microservice.
  const configMaps = (await getJSON('configmaps', '-n', ns))?.items.filter((c: any) => c.metadata.name.startsWith(name));
  expect(configMaps.map((c: any) => [c.data.GREETING, c.metadata.ownerReferences.map((r: any) => `${r.kind}/${r.name}`)])).toEqual([['hello', [`Deployment/${to}`]]]);

  // The Secret copy the pods read: kept, owned by the plain Deployment, which still names it.
  const copies = (await getJSON('secrets', '-n', ns))?.items.filter((c: any) => c.metadata.name.startsWith(`${name}-secret-`));
  expect(copies.map((c: any) => c.metadata.ownerReferences.map((r: any) => `${r.kind}/${r.name}`))).toEqual([[`Deployment/${to}`]]);
  const d = await getJSON('deployment', '-n', ns, to);
  expect(d.spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name).toBe(copies[0].metadata.name);
  expect([d.spec.replicas, d.status.readyReplicas]).toEqual([4, 4]);
  expect(d.spec.template.metadata.labels).toEqual({ 'app.kubernetes.io/name': name, team: 'payments' });
  expect(d.metadata.ownerReferences).toBeUndefined();
  const svc = await getJSON('service', '-n', ns, name);
  // The very Service that served before: handed over, never recreated.
  expect([svc.metadata.ownerReferences, svc.spec.selector, svc.metadata.uid]).toEqual([undefined, { 'app.kubernetes.io/name': name }, serviceUid]);
  const serving = await servingPods(ns, name);
  expect(serving?.pods.map((p) => p.slot)).toEqual([undefined, undefined, undefined, undefined]);
}

/** The eject's printed manifests: a Deployment, the Service and the ConfigMap, as kubectl takes them back. */
async function expectManifests(stdout: string, name: string, more: string[] = [], to = name): Promise<void> {
  const docs = yaml.loadAll(stdout) as any[];
  expect(docs.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([`Deployment/${to}`, `Service/${name}`, ...more.map((k) => `${k}/${name}`), expect.stringMatching(new RegExp(`^ConfigMap/${name}-`))]);
  expect(stdout).not.toMatch(/coxswain\.dev|uid:|resourceVersion|managedFields|status:|clusterIP/);
  // As a user would re-apply them from Git: nothing changes, nothing is refused.
  const r = await kubectl(['apply', '--server-side', '--dry-run=server', '--field-manager=git', '--force-conflicts', '-f', '-'], stdout);
  expect([r.code, r.stderr]).toEqual([0, '']);
}

describe('kubectl coxswain eject', () => {
  it('hands a 4-replica Microservice back to a plain Deployment with 4 Ready pods behind its Service throughout, its HPA moved over', async () => {
    const name = 'shop';
    await serving(name, { autoscaling: { minReplicas: 4, maxReplicas: 8 } });
    const serviceUid = (await getJSON('service', '-n', ns, name)).metadata.uid;
    const watch = await watchServing(ns, name);
    const out = await kubectlCoxswain(ns, ['eject', name]);
    expect(out.code, out.stderr).toBe(0);
    await expectOnlyPlainLeft(name, serviceUid);
    const timeline = await watch.stop();
    expect(Math.min(...timeline.map((t) => t.pods.length)), `Ready pods behind service/${name} at each of ${timeline.length} changes: ${story(timeline)}`).toBeGreaterThanOrEqual(4);
    expect(timeline.some((t) => t.pods.some((p) => p.slot === 'blue') && t.pods.some((p) => p.slot === undefined)), 'slot and plain pods served side by side').toBe(true);
    await expectManifests(out.stdout, name, ['HorizontalPodAutoscaler']);
    // The one HPA scales the plain Deployment now, and is no one's.
    const hpas = (await getJSON('hpa', '-n', ns))?.items.map((h: any) => [h.metadata.name, h.spec.scaleTargetRef.kind, h.spec.scaleTargetRef.name, h.spec.minReplicas, h.metadata.ownerReferences]);
    expect(hpas).toEqual([[name, 'Deployment', name, 4, undefined]]);
    // Done is done: again, it only prints what is left; another name is refused.
    const again = await kubectlCoxswain(ns, ['eject', name]);
    expect([again.code, again.stdout]).toEqual([0, out.stdout]);
    expect((await kubectlCoxswain(ns, ['eject', 'nothing'])).code).toBe(2);
  });

  it('killed mid-way, twice, finishes when run again, with 4 Ready pods behind the Service throughout', async () => {
    const [name, to] = ['crash', 'crash-plain'];
    await serving(name);
    const serviceUid = (await getJSON('service', '-n', ns, name)).metadata.uid;
    const watch = await watchServing(ns, name);
    const killedAt: string[] = [];
    let mark = 0;
    // Each kill point is one the eject waits at, so the kill lands there, not a step later: the new
    // pods becoming Ready (seconds on KWOK), then the Microservice's deletion, held by a finalizer
    // of the test's own (a slow garbage collector or another controller's finalizer does that). The
    // steps between take milliseconds; killed at a log line there, the run could have finished first.
    const hold = (finalizers: string[]) => kubectl(['patch', 'microservice', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ metadata: { finalizers } })]);
    for (const at of [`waiting for deployment/${to} to be Ready`, `deleting microservice/${name}`]) {
      if (mark) expect((await hold(['e2e.coxswain.dev/hold'])).code).toBe(0);
      const run = kubectlCoxswainStream(ns, ['eject', name, '--to', `deployment/${to}`], () => {});
      await eventually(`the eject at "${at}"`, async () => run.stderr().includes(at), 120_000, 20);
      if (mark) await eventually('the deletion asked', async () => !!(await msOf(ns, name))?.metadata.deletionTimestamp, 30_000, 50);
      await run.stop();
      killedAt.push(run.stderr().trim().split('\n').at(-1) ?? '');
      // Interrupted, not done: the Microservice is there, and the operator leaves it alone. (Read as
      // stored: a deletion asked bumps the generation, which a Microservice being ejected never observes.)
      const o = await msOf(ns, name);
      expect([o?.metadata.annotations?.['coxswain.dev/eject'], condition(o, 'Stalled')?.reason]).toEqual([to, 'Ejecting']);
      if (!mark) {
        // The operator answered: from now on it writes nothing in the namespace, a new one after a SIGKILL neither.
        await operator.stop('SIGKILL');
        mark = auditMark();
        // As it was started: without --track-secrets the tests after this one would have no Secret copies to check.
        operator = new Operator(['--namespaces', ns, '--track-secrets']).start();
      }
    }
    // The held deletion goes on; run again, the eject finds the Microservice gone and prints what is left.
    expect((await hold([])).code).toBe(0);
    const out = await kubectlCoxswain(ns, ['eject', name, '--to', `deployment/${to}`, '--timeout', '2m']);
    if (hasAuditLog) {
      // Read once the audit log has written its last line out whole.
      const requests = await eventually('the audit log flushed', async () => { try { return operatorRequests(mark, ns); } catch { return undefined; } }, 30_000);
      const writes = requests.filter((e) => WRITE_VERBS.has(e.verb));
      expect(writes.map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.subresource ?? ''}${e.objectRef?.name}`)).toEqual([]);
    }
    expect(out.code, out.stderr).toBe(0);
    await expectOnlyPlainLeft(name, serviceUid, to);
    const timeline = await watch.stop();
    console.log(`killed at: ${killedAt.join('; ')}; Ready pods: ${story(timeline)}`);
    expect(Math.min(...timeline.map((t) => t.pods.length)), `killed at ${killedAt.join('; ')}; Ready pods: ${story(timeline)}`).toBeGreaterThanOrEqual(4);
    await expectManifests(out.stdout, name, [], to);
  });

  it('killed (SIGKILL) at seeded random instants, up to three runs in a row, finishes when run again, with 4 Ready pods behind the Service throughout', async () => {
    const { seed, random } = seeded('eject kills');
    const name = 'random';
    await serving(name);
    const serviceUid = (await getJSON('service', '-n', ns, name)).metadata.uid;
    const watch = await watchServing(ns, name);
    const killed: string[] = [];
    for (let i = 0; i < 3 && (await current(ns, name)); i++) {
      // An eject takes some 3 s here: each run is killed within its first 3, from wherever the last one left it.
      const at = Math.floor(random() * 3000);
      const run = kubectlCoxswainStream(ns, ['eject', name], () => {});
      await sleep(at);
      await run.stop('SIGKILL');
      killed.push(`${at} ms (${run.stderr().trim().split('\n').at(-1) || 'nothing said yet'})`);
    }
    const replay = `seed ${seed}: killed at ${killed.join('; ')}`;
    const out = await kubectlCoxswain(ns, ['eject', name, '--timeout', '2m']);
    expect(out.code, `${replay}: ${out.stderr}`).toBe(0);
    await expectOnlyPlainLeft(name, serviceUid);
    const timeline = await watch.stop();
    console.log(`${replay}; Ready pods: ${story(timeline)}`);
    expect(Math.min(...timeline.map((t) => t.pods.length)), `${replay}; Ready pods: ${story(timeline)}`).toBeGreaterThanOrEqual(4);
    await expectManifests(out.stdout, name);
  });

  it('waits for the new pods to be Ready: until they are, the Service stays on the slot\'s pods and the Microservice stays', async () => {
    const name = 'slow';
    await serving(name);
    const watch = await watchServing(ns, name);
    // The state an eject interrupted after creating the Deployment leaves, but with pods that do not
    // become Ready: what no real part does on demand on KWOK (a node gone bad, say), so played here.
    const slot = await getJSON('deployment', '-n', ns, `${name}-blue`);
    const labels = { 'app.kubernetes.io/name': name, team: 'payments' };
    const plain = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns, labels: { 'app.kubernetes.io/name': name }, annotations: { 'coxswain.dev/ejected-from': name } },
      spec: { replicas: 4, selector: { matchLabels: { 'app.kubernetes.io/name': name } }, template: { metadata: { labels: { ...labels, 'coxswain.dev/e2e-ready': 'false' } }, spec: slot.spec.template.spec } } };
    expect((await apply(plain)).stderr).toBe('');
    const unready = (value: string | null) => kubectl(['patch', 'deployment', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { template: { metadata: { labels: { 'coxswain.dev/e2e-ready': value } } } } })]);
    const timedOut = await kubectlCoxswain(ns, ['eject', name, '--timeout', '15s']);
    expect([timedOut.code, timedOut.stderr.split('\n').at(-2)]).toEqual([2, `cannot eject ${name}: timed out waiting for deployment/${name} Ready; run the same command again to go on from here`]);
    const svc = await getJSON('service', '-n', ns, name);
    expect([svc.spec.selector['app.kubernetes.io/managed-by'], svc.metadata.ownerReferences?.[0]?.kind]).toEqual(['coxswain', 'Microservice']);
    expect(await current(ns, name)).toBeDefined();
    // Ready again: run again, it finishes.
    expect((await unready(null)).code).toBe(0);
    const out = await kubectlCoxswain(ns, ['eject', name]);
    expect(out.code, out.stderr).toBe(0);
    const timeline = await watch.stop();
    expect(Math.min(...timeline.map((t) => t.pods.length)), story(timeline)).toBeGreaterThanOrEqual(4);
    expect(await getJSON('microservice', '-n', ns, name)).toBeUndefined();
  });

  it('refuses while a rollout is under way, writing nothing', async () => {
    const name = 'busy';
    const canary = (image: string) => ({ strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: {} }] } }, image });
    await serving(name, canary(`registry.example/${name}:1`));
    expect((await apply(microservice(name, { ...canary(`registry.example/${name}:2`), replicas: 4, ports: [{ name: 'http', port: 8080 }], config: { data: { GREETING: 'hello' } }, pod: { labels: { team: 'payments' } } }, ns))).stderr).toBe('');
    await eventually('the canary paused', async () => (await current(ns, name))?.status?.phase === 'Paused', 90_000);
    const before = (await current(ns, name)).metadata.annotations;
    const out = await kubectlCoxswain(ns, ['eject', name]);
    expect([out.code, out.stdout]).toEqual([2, '']);
    expect(out.stderr).toMatch(/a rollout is under way; finish it \(kubectl coxswain promote busy --full\) or abort it first/);
    expect((await current(ns, name)).metadata.annotations).toEqual(before);
    expect(await getJSON('deployment', '-n', ns, name)).toBeUndefined();
  });
});
