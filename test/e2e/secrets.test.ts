// Secrets in the revision (issue 17, part 2), on the chart's RBAC and a ServiceAccount token: a
// changed Secret rolls out as a new revision; an abort serves the stable slot its own revision's
// copy; undo after promotion brings the old content back; the value is nowhere in the operator's
// log, Events or status. Without the opt-in (secrets.track=false, no --track-secrets) the
// operator makes no request for Secrets at all (audit log) and status says they are not tracked.
// Nothing is played: KWOK's pods carry the env as the kubelet would read it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply, auditEvents, auditMark, createNamespace, deleteNamespace, eventually, getJSON, hasAuditLog, installCRD, k, kubectl, kubectlCoxswain, microservice,
} from './harness.js';
import { installChartRBAC, RunningOperator, serviceAccountKubeconfig, suffix } from './production-harness.js';

const cleanups: Array<() => Promise<unknown>> = [];
beforeAll(installCRD);
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const NAME = 'orders';
// Values no other string in the cluster holds, so a match anywhere is a leak.
const value = (v: string) => `pw-${v}-${suffix()}${suffix()}`;
const b64 = (s: string) => Buffer.from(s).toString('base64');

const secret = (ns: string, password: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: ns }, type: 'Opaque', data: { password: b64(password) } });
const spec = {
  image: 'registry.example/orders:1', replicas: 2, trackSecrets: true,
  env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
  strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: {} }] } },
};

async function setUp(values: Record<string, unknown>, args: string[]) {
  const operatorNs = await createNamespace('e2e-secrets-op');
  const appNs = await createNamespace('e2e-secrets-app');
  cleanups.push(() => deleteNamespace(operatorNs), () => deleteNamespace(appNs));
  const rbac = await installChartRBAC(`secrets-${suffix()}`, operatorNs, { watchNamespaces: [appNs], ...values });
  cleanups.push(rbac.cleanup);
  const user = `system:serviceaccount:${operatorNs}:${rbac.sa}`;
  const can = async (...a: string[]) => (await kubectl(['auth', 'can-i', '--as', user, ...a])).stdout.trim();
  await eventually('the RBAC to be in force', async () => (await can('patch', 'microservices.coxswain.dev/status', '-n', appNs)) === 'yes', 15_000);
  const mark = auditMark();
  const op = await new RunningOperator({ kubeconfig: await serviceAccountKubeconfig(operatorNs, rbac.sa), args: ['--namespaces', appNs, '--log-level', 'debug', ...args] }).start();
  cleanups.push(() => op.stop());
  return { appNs, user, can, mark, op };
}

const ms = (ns: string) => getJSON('microservice', '-n', ns, NAME);
/** The DB_PASSWORD every Ready pod of a slot reads: the content of the Secret its env names. */
async function servedBy(ns: string, slot: string): Promise<string[]> {
  const pods = (await getJSON('pods', '-n', ns, '-l', `coxswain.dev/slot=${slot}`))?.items ?? [];
  const out: string[] = [];
  for (const p of pods) {
    if (p.metadata.deletionTimestamp || !p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')) continue;
    const ref = p.spec.containers[0].env.find((e: any) => e.name === 'DB_PASSWORD').valueFrom.secretKeyRef;
    const s = await getJSON('secret', '-n', ns, ref.name);
    out.push(Buffer.from(s.data[ref.key], 'base64').toString());
  }
  return out.sort();
}
const coxswain = (ns: string, ...args: string[]) => kubectlCoxswain(ns, args);

describe('Secrets in the revision, with secrets.track=true', () => {
  it('rolls a changed Secret out, aborts to the old content, undoes to it after promotion, and never shows the value', async () => {
    const { appNs, user, can, mark, op } = await setUp({ secrets: { track: true } }, ['--track-secrets']);
    expect(await can('watch', 'secrets', '-n', appNs)).toBe('yes');
    expect(await can('get', 'secrets', '-n', 'default')).toBe('no');
    const [v1, v2] = [value('one'), value('two')];
    await apply(secret(appNs, v1));
    await apply(microservice(NAME, spec, appNs));
    const first = await eventually('the first revision Healthy', async () => {
      const o = await ms(appNs);
      return o?.status?.phase === 'Healthy' && o.status.readyReplicas === 2 ? o : undefined;
    }, 120_000);
    const stableSlot = first.status.activeSlot;
    const candidateSlot = stableSlot === 'blue' ? 'green' : 'blue';
    expect(first.status.secrets).toMatchObject({ tracked: true, message: expect.stringMatching(/^tracked in the revision: db \(orders-secret-[0-9a-f]{10}\)$/) });
    expect(await servedBy(appNs, stableSlot)).toEqual([v1, v1]);

    // The Secret rotated: a new revision, rolled out by the canary's steps.
    await apply(secret(appNs, v2));
    const paused = await eventually('the new revision paused at 50%', async () => {
      const o = await ms(appNs);
      return o?.status?.phase === 'Paused' && o.status.rollout?.weight === 50 && o.status.desiredRevision !== first.status.stableRevision ? o : undefined;
    }, 120_000);
    expect(await servedBy(appNs, candidateSlot)).toEqual([v2]);
    expect(await servedBy(appNs, stableSlot)).toContain(v1);

    // An abort: the stable slot serves the old content, whatever the Secret holds now.
    expect((await coxswain(appNs, 'abort', NAME)).code).toBe(0);
    await eventually('aborted, the candidate gone', async () => {
      const o = await ms(appNs);
      return o?.status?.rollout?.abortedRevision === paused.status.desiredRevision && (await servedBy(appNs, candidateSlot)).length === 0 || undefined;
    }, 120_000);
    expect(await servedBy(appNs, stableSlot)).toEqual([v1, v1]);

    // Retried and promoted: v2 is stable; undo brings back v1's own copy.
    expect((await coxswain(appNs, 'retry', NAME)).code).toBe(0);
    await eventually('the retry paused at 50%', async () => ((await ms(appNs))?.status?.phase === 'Paused' && (await ms(appNs))?.status?.rollout?.abortedRevision === undefined) || undefined, 120_000);
    expect((await coxswain(appNs, 'promote', NAME, '--full')).code).toBe(0);
    await eventually('v2 stable and alone', async () => {
      const o = await ms(appNs);
      return o?.status?.phase === 'Healthy' && o.status.stableRevision === paused.status.desiredRevision
        && (await servedBy(appNs, candidateSlot)).join() === [v2, v2].join() || undefined;
    }, 120_000);
    expect((await coxswain(appNs, 'undo', NAME)).code).toBe(0);
    await eventually('undone to v1, served by Ready pods', async () => {
      const o = await ms(appNs);
      const slot = o?.status?.activeSlot;
      // The spec's revision is held back (not Healthy) until the spec changes or a retry.
      return o?.status?.stableRevision === first.status.stableRevision && (await servedBy(appNs, slot)).join() === [v1, v1].join() || undefined;
    }, 120_000);
    // The Secret itself was never touched: the user's object still holds v2.
    expect(Buffer.from((await getJSON('secret', '-n', appNs, 'db')).data.password, 'base64').toString()).toBe(v2);

    // Nowhere the operator speaks: its log, the Events, the status, the ControllerRevisions.
    const leaks = new RegExp([v1, v2, b64(v1), b64(v2)].map((s) => s.replace(/[+/=]/g, '\\$&')).join('|'));
    const said = [
      JSON.stringify(op.lines()),
      await k('get', 'events', '-n', appNs, '-o', 'json'),
      JSON.stringify((await ms(appNs)).status),
      await k('get', 'controllerrevisions', '-n', appNs, '-o', 'json'),
      await k('get', 'deployments', '-n', appNs, '-o', 'json'),
    ];
    expect(said[0]!.length).toBeGreaterThan(1000); // the log was read, and it is not empty
    for (const text of said) expect(text).not.toMatch(leaks);
    if (hasAuditLog) {
      const mine = auditEvents(mark).filter((e) => e.user?.username === user);
      expect(mine.filter((e) => e.responseStatus?.code === 403)).toEqual([]);
      // The audit log sees Secret requests (so their absence without the opt-in means something).
      expect(mine.filter((e) => e.objectRef?.resource === 'secrets').length).toBeGreaterThan(0);
    }
  }, 600_000);
});

describe('without the opt-in', () => {
  it('makes no request for Secrets, keeps today\'s behaviour, and says in status that Secrets are not tracked', async () => {
    const { appNs, user, can, mark, op } = await setUp({}, []);
    expect(await can('list', 'secrets', '-n', appNs)).toBe('no');
    await apply(secret(appNs, value('one')));
    await apply(microservice(NAME, spec, appNs));
    const healthy = await eventually('Healthy, with the Secret referenced as written', async () => {
      const o = await ms(appNs);
      return o?.status?.phase === 'Healthy' && o.status.readyReplicas === 2 ? o : undefined;
    }, 120_000);
    expect(healthy.status.secrets).toEqual({ tracked: false, message: expect.stringContaining('the operator runs without --track-secrets') });
    const pods = (await getJSON('pods', '-n', appNs, '-l', `coxswain.dev/slot=${healthy.status.activeSlot}`)).items;
    expect(pods.map((p: any) => p.spec.containers[0].env[0].valueFrom.secretKeyRef.name)).toEqual(['db', 'db']);
    await apply(secret(appNs, value('two')));
    // A rotation is no new revision here: a reconcile after it (a label asks for one) keeps the revision.
    const before = op.reconciled().length;
    await k('label', 'microservice', '-n', appNs, NAME, 'rotated=yes');
    await eventually('a reconcile after the rotation', async () => op.reconciled().length > before || undefined, 30_000);
    expect((await ms(appNs)).status.desiredRevision).toBe(healthy.status.stableRevision);
    expect(op.lines().filter((l) => /forbidden/i.test(JSON.stringify(l)))).toEqual([]);
    if (hasAuditLog) {
      const mine = auditEvents(mark).filter((e) => e.user?.username === user);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.filter((e) => e.objectRef?.resource === 'secrets')).toEqual([]);
    }
  }, 300_000);
});
