// A Microservice that got past an older CRD, one without today's CEL rules, is not acted on: the
// operator checks the rules again, says Stalled/InvalidSpec naming the field, and leaves what was
// live as it was. Files run one at a time, so this one may swap the CRD, and puts it back.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply, condition, crdsEstablished, createNamespace, deleteNamespace, eventually, getJSON, installCRD, kubectl, microservice, Operator, ROOT,
} from './harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-oldcrd');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await installCRD(); // today's CRD, CEL rules and all
  await deleteNamespace(ns);
});

/** The generated CRD with every x-kubernetes-validations removed: what a cluster with an older CRD has. */
function withoutCEL(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutCEL);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(Object.entries(node).filter(([key]) => key !== 'x-kubernetes-validations').map(([key, v]) => [key, withoutCEL(v)]));
}

const spec = (minReplicas: number, maxReplicas: number) =>
  ({ image: 'registry.example/api:1', ports: [{ port: 8080 }], autoscaling: { minReplicas, maxReplicas } });

/** Generations of the objects the operator keeps: they change only when a spec is written. */
async function generations(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const kind of ['deployments', 'services', 'horizontalpodautoscalers', 'networkpolicies', 'configmaps']) {
    for (const o of (await getJSON(kind, '-n', ns, '-l', 'app.kubernetes.io/name=api'))?.items ?? []) {
      out[`${o.kind}/${o.metadata.name}`] = o.metadata.generation ?? Number(o.metadata.resourceVersion);
    }
  }
  return out;
}

describe('a Microservice that an older CRD let in', () => {
  it('is Stalled with the CEL rule\'s message on its field, its objects untouched, until the spec is fixed', async () => {
    await apply(microservice('api', spec(2, 4), ns));
    const ready = async () => {
      const o = await getJSON('microservice', '-n', ns, 'api');
      return o?.status?.observedGeneration === o?.metadata.generation && condition(o, 'Ready')?.status === 'True' ? o : undefined;
    };
    await eventually('api Ready', ready, 120_000);
    const before = await generations();
    expect(Object.keys(before)).toContain('HorizontalPodAutoscaler/api');

    const today = yaml.load(readFileSync(resolve(ROOT, 'crds/coxswain.dev_microservices.yaml'), 'utf8'));
    const older = await kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], JSON.stringify(withoutCEL(today)));
    expect(older.code, older.stderr).toBe(0);
    await crdsEstablished('microservices.coxswain.dev');

    // The older CRD lets maxReplicas below minReplicas in (the API server may take a moment to
    // serve the new schema, so try until it does).
    await eventually('the older CRD to admit the bad spec', async () => (await apply(microservice('api', spec(5, 2), ns))).code === 0, 30_000);
    const stalled = await eventually('Stalled, reason InvalidSpec', async () => {
      const o = await getJSON('microservice', '-n', ns, 'api');
      return o?.status?.observedGeneration === o?.metadata.generation && condition(o, 'Stalled')?.reason === 'InvalidSpec' ? o : undefined;
    });
    expect(condition(stalled, 'Stalled')!.message).toContain('spec.autoscaling.maxReplicas: maxReplicas must be at least minReplicas');
    expect(condition(stalled, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(stalled.status.phase).toBe('Degraded');
    expect(await generations()).toEqual(before); // nothing rendered from the bad spec

    await apply(microservice('api', spec(3, 6), ns));
    const fixed = await eventually('Ready again with the fixed spec', ready, 120_000);
    expect(condition(fixed, 'Stalled')?.status).toBe('False');
    expect((await getJSON('hpa', '-n', ns, 'api'))?.spec).toMatchObject({ minReplicas: 3, maxReplicas: 6 });
  });
});
