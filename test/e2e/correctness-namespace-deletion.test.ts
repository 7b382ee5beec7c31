// Issue 16, defect 8: deleting a namespace is an ordinary thing to do, not an error. The namespace
// controller deletes one kind after another, in no set order: when it reaches Deployments or
// ConfigMaps before Microservices, the operator hears of each deletion and reconciles a
// Microservice that is still there, and the API server refuses to create anything in a
// terminating namespace (403, NamespaceTerminating). Those reconciles must count as no error (the
// README's error alert would fire on every namespace deletion), retry nothing, and create nothing.
// The order is made certain here: an admission policy holds the Microservices back until the
// namespace controller has been through every other kind, then lets them go.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, auditMark, condition, createNamespace, deleteNamespace, eventually, getJSON, hasAuditLog, installCRD, k, kubectl, microservice, operatorRequests, sleep } from './harness.js';
import { RunningOperator, sample } from './production-harness.js';

let ns: string;
let op: RunningOperator;
beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-c-nsdel');
  op = await new RunningOperator({ args: ['--namespaces', ns] }).start();
});
afterAll(async () => {
  await op.stop();
  await release();
  await deleteNamespace(ns);
});

const policy = () => `e2e-hold-microservices-${ns}`;

/** A ValidatingAdmissionPolicy that refuses every deletion of a Microservice in the namespace. */
async function holdMicroservices(): Promise<void> {
  const name = policy();
  const manifests = [
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name }, spec: {
      failurePolicy: 'Fail',
      matchConstraints: { resourceRules: [{ apiGroups: ['coxswain.dev'], apiVersions: ['*'], operations: ['DELETE'], resources: ['microservices'] }] },
      validations: [{ expression: 'false', message: 'held by the test until every other kind is gone' }],
    } },
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name }, spec: {
      policyName: name, validationActions: ['Deny'],
      matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } },
    } },
  ];
  for (const m of manifests) expect((await apply(m)).code).toBe(0);
  // In force once the API server has loaded it.
  await eventually('the policy to hold', async () => {
    const r = await kubectl(['delete', 'microservice', 'svc-0', '-n', ns, '--dry-run=server']);
    return r.code !== 0 && r.stderr.includes('held by the test');
  }, 60_000);
}

async function release(): Promise<void> {
  await kubectl(['delete', 'validatingadmissionpolicybinding,validatingadmissionpolicy', policy(), '--ignore-not-found']);
}

const metric = async (series: string) => {
  const res = await op.get('/metrics');
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return sample(res.body, series) ?? 0;
};
const ERRORS = 'coxswain_reconcile_total{result="error"}';

describe('a namespace deleted with its Microservices in it', () => {
  it('counts no reconcile error, retries nothing, and creates no child once its deletion began', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `svc-${i}`);
    for (const n of names) {
      const spec = { image: `registry.example/${n}:1`, replicas: 1, ports: [{ name: 'http', port: 8080 }], config: { data: { NAME: n } } };
      expect((await apply(microservice(n, spec, ns))).code).toBe(0);
    }
    await eventually('every Microservice Ready', async () => {
      const list = (await getJSON('microservices', '-n', ns))?.items ?? [];
      return list.filter((o: unknown) => condition(o, 'Ready')?.status === 'True').length === names.length;
    }, 180_000);
    await holdMicroservices();
    const before = await metric(ERRORS);
    const linesBefore = op.lines().length;
    const mark = auditMark();

    await k('delete', 'namespace', ns, '--wait=false');
    // The namespace controller goes through every other kind: the children go, the Microservices stay.
    const managed = ['-n', ns, '-l', 'app.kubernetes.io/managed-by=coxswain'];
    await eventually('every child deleted, the Microservices still there', async () => {
      const children = await getJSON('deployments,configmaps,services,networkpolicies,controllerrevisions', ...managed);
      const left = (await getJSON('microservices', '-n', ns))?.items ?? [];
      return children?.items.length === 0 && left.length === names.length;
    }, 120_000, 1000);
    // Long enough for the operator to have heard of each deletion, and to have retried what failed.
    await sleep(10_000);
    await release();
    await eventually('the namespace to be gone', async () => (await kubectl(['get', 'namespace', ns])).code !== 0, 240_000, 1000);
    // Every deletion heard and reconciled, and long enough for a retry with backoff to have come.
    await eventually('the work queue to be empty', async () => (await metric('coxswain_queue_depth')) === 0, 30_000);
    await sleep(5_000);

    const after = op.lines().slice(linesBefore);
    expect(after.filter((l) => l.msg === 'reconcile failed; retrying with backoff').map((l) => `${l.key}: ${l.err}`)).toEqual([]);
    expect(after.filter((l) => l.level === 40 || l.level === 50).map((l) => l.msg)).toEqual([]);
    expect(await metric(ERRORS)).toBe(before);
    if (hasAuditLog) {
      // A server-side apply that creates answers 201; none may have, once the deletion began.
      const created = operatorRequests(mark, ns).filter((e) => e.responseStatus?.code === 201);
      expect(created.map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name}`)).toEqual([]);
    }
  });
});
