// Leader election on the real API server: two operators, each with its own ServiceAccount (so the
// audit log tells their requests apart), bound by the chart's RBAC. Only the Lease holder
// reconciles; killed with SIGKILL, the standby takes over within the lease duration (plus its
// retry period) and reconciles; stopped with SIGTERM, a leader hands over at once; a leader whose
// Lease is taken from it exits non-zero.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply, auditEvents, auditMark, condition, createNamespace, deleteNamespace, eventually, getJSON, hasAuditLog, installCRD, kubectl, microservice, WRITE_VERBS,
} from './harness.js';
import { installChartRBAC, RunningOperator, serviceAccountKubeconfig, suffix } from './production-harness.js';

const LEASE_SECONDS = 15;
const RETRY_SECONDS = 2 * 1.2; // the retry period with its jitter

let ns: string;
const kubeconfigs: Record<'a' | 'b', string> = { a: '', b: '' };
const users: Record<'a' | 'b', string> = { a: '', b: '' };
const operators: RunningOperator[] = [];

const lease = async () => (await getJSON('lease', '-n', ns, 'coxswain-leader'))?.spec as { holderIdentity?: string; acquireTime?: string; renewTime?: string; leaseTransitions?: number } | undefined;
const ready = (name: string) => async () => {
  const o = await getJSON('microservice', '-n', ns, name);
  return o?.status?.observedGeneration === o?.metadata.generation && condition(o, 'Ready')?.status === 'True';
};
const start = async (who: 'a' | 'b') => {
  const op = await new RunningOperator({ kubeconfig: kubeconfigs[who], args: ['--namespaces', ns, '--leader-elect', '--leader-election-namespace', ns] }).start();
  operators.push(op);
  return op;
};
const metric = async (op: RunningOperator, name: string) => {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec((await op.get('/metrics')).body);
  return m ? Number(m[1]) : undefined;
};
function writesBy(user: string, since: number) {
  return auditEvents(since).filter((e) => e.user?.username === user && WRITE_VERBS.has(e.verb));
}

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-prod-leader');
  for (const who of ['a', 'b'] as const) {
    const rbac = await installChartRBAC(`le-${who}-${suffix()}`, ns, { watchNamespaces: [ns] });
    kubeconfigs[who] = await serviceAccountKubeconfig(ns, rbac.sa);
    users[who] = `system:serviceaccount:${ns}:${rbac.sa}`;
  }
});
afterAll(async () => {
  for (const op of operators) await op.stop('SIGKILL');
  await deleteNamespace(ns);
});

describe('leader election with two operators', () => {
  let a: RunningOperator;
  let b: RunningOperator;

  it('lets only the Lease holder reconcile; the standby is ready and live, holding its queue', async () => {
    a = await start('a');
    await eventually('a to hold the Lease', async () => !!a.identity && (await lease())?.holderIdentity === a.identity);
    b = await start('b');
    await eventually('b ready (caches synced) though not leading', async () => (await b.get('/readyz')).status === 200);
    // Its log line comes through a pipe, and may arrive after /readyz answers.
    await eventually('b to log that it waits for the Lease', async () => b.lines().some((l) => l.msg === 'caches synced; waiting for the leader Lease'), 10_000);

    const mark = hasAuditLog ? auditMark() : 0;
    expect((await apply(microservice('first', { image: 'registry.example/first:1', replicas: 2, ports: [{ port: 8080 }] }, ns))).code).toBe(0);
    await eventually('first Ready', ready('first'), 120_000);
    // The reconcile's log line ends after its status write: it may reach us after kubectl sees Ready.
    await eventually('a to log the reconcile of first', async () => a.reconciled().includes(`${ns}/first`), 10_000);
    expect(b.reconciled()).toEqual([]);
    if (hasAuditLog) {
      expect(writesBy(users.a, mark).length).toBeGreaterThan(0);
      // Not one write from the standby: not to the Microservice, its objects, nor the Lease.
      expect(writesBy(users.b, mark)).toEqual([]);
    }
    expect(await metric(a, 'coxswain_leader')).toBe(1);
    expect(await metric(b, 'coxswain_leader')).toBe(0);
    expect(await metric(b, 'coxswain_queue_depth')).toBeGreaterThan(0); // keys wait for it, unworked
    expect((await b.get('/healthz')).status).toBe(200);
    expect((await b.get('/readyz')).status).toBe(200);
  });

  it('fails over to the standby when the leader is killed, within the lease duration plus a retry', async () => {
    const before = await lease();
    const killedAt = Date.now();
    expect((await a.stop('SIGKILL')).signal).toBe('SIGKILL');
    await eventually('b to take the Lease', async () => (await lease())?.holderIdentity === b.identity, 60_000, 100);
    const seenSeconds = (Date.now() - killedAt) / 1000;
    const after = await lease();
    // When b took it, as b recorded it (acquireTime, by its clock: the same machine's), not when this
    // test's poll (a kubectl get, up to a second on a loaded machine) happened to see it.
    const tookSeconds = (Date.parse(after!.acquireTime!) - killedAt) / 1000;
    console.log(`failover: the standby took the Lease ${tookSeconds.toFixed(1)}s after the leader was killed (seen ${seenSeconds.toFixed(1)}s after) `
      + `(${((Date.parse(after!.renewTime!) - Date.parse(before!.renewTime!)) / 1000).toFixed(1)}s after the leader's last renewal)`);
    // The standby waits until the record has not changed for a lease duration by its own clock,
    // noticed at its next try: at most LEASE + one retry after the last renewal it saw, which it
    // saw at most one retry after it happened.
    expect(tookSeconds).toBeLessThanOrEqual(LEASE_SECONDS + 2 * RETRY_SECONDS + 1);
    expect(after!.leaseTransitions).toBe((before!.leaseTransitions ?? 0) + 1);

    expect((await apply(microservice('second', { image: 'registry.example/second:1', replicas: 1 }, ns))).code).toBe(0);
    await eventually('second Ready, reconciled by the new leader', ready('second'), 120_000);
    await eventually('b to log the reconcile of second', async () => b.reconciled().includes(`${ns}/second`), 10_000);
    expect(await metric(b, 'coxswain_leader')).toBe(1);
  });

  it('hands over at once when the leader is stopped with SIGTERM (the Lease is released)', async () => {
    const c = await start('a'); // a new pod of the same Deployment, as it were
    await eventually('c ready', async () => (await c.get('/readyz')).status === 200);
    const stoppedAt = Date.now();
    expect((await b.stop('SIGTERM')).code).toBe(0);
    expect(b.lines().some((l) => l.msg === 'leader election: released the Lease')).toBe(true);
    await eventually('c to take the Lease', async () => (await lease())?.holderIdentity === c.identity, 30_000, 100);
    const tookSeconds = (Date.now() - stoppedAt) / 1000;
    console.log(`hand-over on SIGTERM: ${tookSeconds.toFixed(1)}s`);
    expect(tookSeconds).toBeLessThan(LEASE_SECONDS / 2);
    a = c;
  });

  it('exits non-zero when its Lease is taken from it', async () => {
    const spec = await lease();
    const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    const r = await kubectl(['patch', 'lease', '-n', ns, 'coxswain-leader', '--type=merge', '-p',
      JSON.stringify({ spec: { holderIdentity: 'intruder', renewTime: now, acquireTime: now, leaseDurationSeconds: 3600, leaseTransitions: (spec?.leaseTransitions ?? 0) + 1 } })]);
    expect(r.code).toBe(0);
    const exit = await Promise.race([a.exit!, new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), 30_000))]);
    expect(exit).toEqual({ code: 1, signal: null });
    expect(a.lines().some((l) => l.msg === 'leader election: lost the Lease')).toBe(true);
  });
});
