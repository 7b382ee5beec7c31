// An operator at rest writes nothing: not while idle, not after a restart, and it stops cleanly
// on SIGTERM. Counted in the API server's audit log, the ground truth of what it sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply, auditMark, condition, createNamespace, deleteNamespace, eventually, getJSON, hasAuditLog, installCRD, microservice,
  Operator, operatorRequests, PACKAGE_VERSION, sleep, WRITE_VERBS,
} from './harness.js';

let ns: string;
let operator: Operator;
const names = ['alpha', 'beta'];

const allReady = async () => {
  for (const n of names) {
    const o = await getJSON('microservice', '-n', ns, n);
    if (!(o?.status?.observedGeneration === o?.metadata.generation && condition(o, 'Ready')?.status === 'True')) return false;
  }
  return true;
};

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-quiet');
  operator = new Operator(['--namespaces', ns, '--resync', '5']).start();
  await apply(microservice('alpha', { image: 'registry.example/alpha:1', replicas: 2, ports: [{ port: 8080 }], config: { data: { A: '1' } } }, ns));
  await apply(microservice('beta', { image: 'registry.example/beta:1', replicas: 1, autoscaling: { maxReplicas: 3 }, resources: { requests: { cpu: '0.5', memory: '1024Mi' } } }, ns));
  await eventually('both Microservices Ready', allReady, 120_000);
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

describe.skipIf(!hasAuditLog)('an operator at rest (audit log)', () => {
  it('sends no writes while idle, though it resyncs every 5s', async () => {
    await sleep(3000); // let the last status writes land before counting
    const mark = auditMark();
    await sleep(12_000);
    const requests = operatorRequests(mark, ns);
    expect(requests.filter((e) => WRITE_VERBS.has(e.verb))).toEqual([]);
    // It did resync meanwhile: the reconciles ran, they just found nothing to do.
    const reconciles = operator.lines().filter((l) => l.msg === 'reconciled' && l.result === 'unchanged');
    expect(reconciles.length).toBeGreaterThanOrEqual(4);
  });

  it('exits 0 on SIGTERM, and after a restart changes nothing that was right', async () => {
    expect(await operator.stop('SIGTERM')).toBe(0);
    const mark = auditMark();
    operator = new Operator(['--namespaces', ns]).start();
    await eventually('the restarted operator to reconcile both', async () =>
      operator.lines().filter((l) => l.msg === 'reconciled').length >= names.length);
    await sleep(3000);
    const writes = operatorRequests(mark, ns).filter((e) => WRITE_VERBS.has(e.verb));
    expect(writes).toEqual([]);
    expect(await allReady()).toBe(true);
    // It says who it is, as kubectl does: name, version and platform in the User-Agent.
    const version = PACKAGE_VERSION;
    const agents = [...new Set(operatorRequests(mark).map((e) => e.userAgent))];
    expect(agents).toEqual([expect.stringMatching(new RegExp(`^coxswain/${version.replaceAll('.', '\\.')} \\(linux/\\w+\\) node/`))]);
    expect(operator.lines().find((l) => l.msg === 'starting')).toMatchObject({ version });
  });
});
