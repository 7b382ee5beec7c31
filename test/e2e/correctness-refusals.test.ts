// Issue 8, class 8: specs that the API server would refuse further down (server-side apply of the
// Deployment or the Service fails on them) are refused at `kubectl apply` already, with a message
// that names the field, instead of being admitted and retried for ever. And one that got in all
// the same (a CRD older than the rule) is reported in status, for its generation, not retried
// for ever behind a status that still says Healthy. Issue 16, defect 4: a config more than a
// ConfigMap holds is refused at apply too; one that got in all the same (multi-byte characters,
// which the rule counts as one each) gives its revision no pods, and no promotion. Files run one
// at a time, so this one may swap the CRD, and puts it back.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, condition, crdsEstablished, createNamespace, deleteNamespace, eventually, getJSON, installCRD, k, kubectl, microservice, Operator, ROOT, sleep } from './harness.js';
import { healthyAt, msOf, pluginIn, recordSplits } from './rollout-harness.js';

let ns: string;
let operator: Operator;
beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-c-refuse');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await installCRD(); // today's CRD, every rule in it
  await deleteNamespace(ns);
});

/** Two values of 600 kB: each fits a string's maxLength, together they are more than a ConfigMap holds. */
const tooBig = { A: 'a'.repeat(600_000), B: 'b'.repeat(600_000) };

const bad: Array<[string, Record<string, unknown>, RegExp]> = [
  ['two env entries with the same name', {
    image: 'x:1', env: [{ name: 'MODE', value: 'a' }, { name: 'MODE', value: 'b' }],
  }, /spec\.env\b/],
  ['two ports on the same servicePort', {
    image: 'x:1', ports: [{ name: 'http', port: 8080, servicePort: 80 }, { name: 'admin', port: 8081, servicePort: 80 }],
  }, /spec\.ports\b.*servicePort|servicePort.*spec\.ports\b/],
];

describe('kubectl apply of a spec the objects could not hold', () => {
  it.each(bad)('refuses %s, naming the field', async (_what, spec, message) => {
    // A server-side dry run: the API server's whole validation, nothing stored.
    const r = await apply(microservice('twice', spec, ns), '--dry-run=server');
    expect(r.code, `kubectl apply said: ${r.stdout}${r.stderr}`).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('refuses a config more than a ConfigMap holds, naming spec.config.data', async () => {
    // Server-side: a client-side apply would also copy it into an annotation, refused for its own size.
    const r = await apply(microservice('bulky', { image: 'x:1', config: { data: tooBig } }, ns), '--server-side', '--dry-run=server');
    expect(r.code, `kubectl apply said: ${r.stdout}${r.stderr}`).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.config\.data\b.*at most 1048576 characters in all/);
  });

  it('still accepts one port number on two protocols, and distinct servicePorts', async () => {
    const ok = await apply(microservice('fine', {
      image: 'x:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }],
      ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }, { name: 'http', port: 8080, servicePort: 80 }],
    }, ns), '--dry-run=server');
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
  });
});

/**
 * The generated CRD without anything that could refuse a duplicate: no CEL rules, no list-map
 * keys, no uniqueItems. What a cluster with a CRD older than the rule has.
 */
function permissive(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(permissive);
  if (node === null || typeof node !== 'object') return node;
  const drop = new Set(['x-kubernetes-validations', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'uniqueItems']);
  return Object.fromEntries(Object.entries(node).filter(([key]) => !drop.has(key)).map(([key, v]) => [key, permissive(v)]));
}

describe('a duplicate env name that got past an older CRD', () => {
  it('is Stalled for its generation, naming spec.env, instead of being retried for ever', async () => {
    const name = 'dupe';
    const spec = (env: unknown[]) => ({ image: 'registry.example/dupe:1', replicas: 1, ports: [{ name: 'http', port: 8080 }], env });
    await apply(microservice(name, spec([{ name: 'MODE', value: 'a' }]), ns));
    await eventually('Healthy', healthyAt(ns, name, 'registry.example/dupe:1'), 120_000);

    const today = yaml.load(readFileSync(resolve(ROOT, 'crds/coxswain.dev_microservices.yaml'), 'utf8'));
    const older = await kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], JSON.stringify(permissive(today)));
    expect(older.code, older.stderr).toBe(0);
    await crdsEstablished('microservices.coxswain.dev');
    // The API server may take a moment to serve the new schema.
    await eventually('the older CRD to admit the duplicate', async () =>
      (await apply(microservice(name, spec([{ name: 'MODE', value: 'a' }, { name: 'MODE', value: 'b' }]), ns))).code === 0, 30_000);

    const stalled = await eventually('Stalled at the new generation', async () => {
      const o = await msOf(ns, name);
      return o?.status?.observedGeneration === o?.metadata.generation && condition(o, 'Stalled')?.status === 'True' ? o : undefined;
    }, 60_000).catch(async (err: Error) => {
      const o = await msOf(ns, name);
      throw new Error(`${err.message}; generation ${o?.metadata.generation}, observedGeneration ${o?.status?.observedGeneration}, phase ${o?.status?.phase}`);
    });
    expect(['ApplyFailed', 'InvalidSpec']).toContain(condition(stalled, 'Stalled')!.reason);
    expect(condition(stalled, 'Stalled')!.message).toMatch(/spec\.env/);
    expect(stalled.status.phase).toBe('Degraded');
    expect(operator.alive).toBe(true);
  });
});

describe('a config that fits the CRD\'s count of characters but not a ConfigMap\'s bytes', () => {
  // 600,000 two-byte characters: the CRD's rule (and its twin) count 600,000, the API server
  // refuses the ConfigMap at 1,200,000 bytes. What an older CRD would let in looks the same.
  const multiByte = { GREETING: 'é'.repeat(600_000) };

  it('gives its revision no pods, refuses to promote it, and says why', async () => {
    await installCRD(); // today's, every rule in it
    const name = 'bulky';
    const spec = (data: Record<string, string>) => ({
      image: 'registry.example/bulky:1', replicas: 2, ports: [{ name: 'http', port: 8080 }], config: { data },
      // A pause first: a promote would go past it at once, with no pod of the candidate needed.
      strategy: { type: 'Canary', canary: { steps: [{ pause: {} }, { setWeight: 50 }, { pause: {} }] } },
    });
    // Server-side throughout: the config is too large for client-side apply's annotation.
    expect((await apply(microservice(name, spec({ SIZE: 'small' }), ns), '--server-side')).code).toBe(0);
    const healthy = await eventually('Healthy', healthyAt(ns, name, 'registry.example/bulky:1'), 120_000);
    const stable = healthy.status.stableRevision as string;

    const splits = recordSplits(ns, name);
    const admitted = await apply(microservice(name, spec(multiByte), ns), '--server-side');
    expect(admitted.code, admitted.stderr).toBe(0);
    const stalled = await eventually('Stalled at the new generation', async () => {
      const o = await msOf(ns, name);
      return o?.status?.observedGeneration === o?.metadata.generation && condition(o, 'Stalled')?.status === 'True' ? o : undefined;
    }, 60_000);
    const candidate = stalled.status.desiredRevision as string;
    expect(candidate).not.toBe(stable);
    // Soft: a failure shows every way it went wrong. Why, in the API server's words, naming the ConfigMap.
    expect.soft(condition(stalled, 'Stalled')).toMatchObject({ reason: 'ApplyFailed' });
    expect.soft(condition(stalled, 'Stalled')!.message).toMatch(/^spec\.config\.data: Too long: .*1048576 bytes \(the API server refused ConfigMap bulky-config-[0-9a-f]+\)$/);
    expect.soft(stalled.status.rollout?.message).toBe(`revision ${candidate} gets no pods: ${condition(stalled, 'Stalled')!.message}`);

    const promote = await pluginIn(ns)('promote', name);
    expect.soft(promote.code, `promote answered: ${promote.stdout}${promote.stderr}`).not.toBe(0);
    expect.soft(promote.stderr).toMatch(/gets no pods: spec\.config\.data: Too long: .*ConfigMap bulky-config-[0-9a-f]+\); nothing to promote/);
    const full = await pluginIn(ns)('promote', '--full', name);
    expect.soft(full.code, `promote --full answered: ${full.stdout}${full.stderr}`).not.toBe(0);
    // Time for a candidate to come up and be promoted, had it been given pods.
    await sleep(15_000);
    await splits.stop();

    // Watched all along: no slot ever ran the candidate, and the stable slot stayed whole.
    const seen = (f: (s: (typeof splits.samples)[number]) => string[]) => [...new Set(splits.samples.flatMap(f))];
    expect.soft(seen((s) => Object.entries(s).filter(([, st]) => st.revision === candidate).map(([slot, st]) => `${slot}: ${st.replicas} replicas`))).toEqual([]);
    expect.soft(seen((s) => (s.blue?.revision === stable && s.blue.replicas === 2 ? [] : [`blue: ${JSON.stringify(s.blue)}`]))).toEqual([]);
    const pods = await getJSON('pods', '-n', ns, '-l', `coxswain.dev/revision=${candidate}`);
    expect.soft(pods?.items ?? []).toEqual([]);
    const after = await msOf(ns, name);
    expect.soft([after.status.stableRevision, after.status.phase, condition(after, 'Stalled')?.reason]).toEqual([stable, 'Degraded', 'ApplyFailed']);
    expect(operator.alive).toBe(true);
  });
});
