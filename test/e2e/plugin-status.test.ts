// `kubectl coxswain status` (issue 18), run as the README writes it: one exit code per outcome, on
// a real cluster with the real operator, and never a verdict from a status that has not caught up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, createNamespace, deleteNamespace, eventually, installCRD, k, kubectlCoxswain, microservice, Operator } from './harness.js';
import { healthyAt, msOf } from './rollout-harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-status');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

const coxswain = (...args: string[]) => kubectlCoxswain(ns, args);
const canary = (image: string, steps: unknown[], extra: Record<string, unknown> = {}) => ({
  image, replicas: 2, ports: [{ name: 'http', port: 8080 }],
  strategy: { type: 'Canary', canary: { steps, maxSurge: 1, maxUnavailable: 0 }, progressDeadlineSeconds: 120 }, ...extra,
});
async function live(name: string, spec: Record<string, unknown>) {
  await apply(microservice(name, spec, ns));
  await eventually(`${name} live`, healthyAt(ns, name, spec.image as string), 120_000);
}

describe('kubectl coxswain status', () => {
  it('0: waits through a canary to its end, a line per change; never passes on the status from before the apply', async () => {
    await live('done', canary('registry.example/done:1', [{ setWeight: 50 }]));
    // The operator down, so status cannot catch up: the previous release is Healthy, but this
    // generation is not observed, and nothing is decided on it. (With the operator up, KWOK's pods
    // can carry the canary to its end within a second, so a look then may rightly say 0.)
    await operator.stop();
    await apply(microservice('done', canary('registry.example/done:2', [{ setWeight: 50 }]), ns));
    const now = await coxswain('status', 'done', '--watch=false');
    expect(now.code, now.stdout).toBe(6);
    expect(now.stdout).toContain('waiting for the operator to observe generation');
    operator = new Operator(['--namespaces', ns]).start();
    const r = await coxswain('status', 'done', '--timeout', '2m');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/done Healthy/);
    expect((await msOf(ns, 'done')).status.slots).toBeDefined();
  });

  it('3 at an indefinite pause; 0 with --until paused; then 2 once aborted', async () => {
    const steps = [{ setWeight: 50 }, { pause: {} }];
    await live('wait', canary('registry.example/wait:1', steps));
    await apply(microservice('wait', canary('registry.example/wait:2', steps), ns));
    const waiting = await coxswain('status', 'wait', '--timeout', '2m');
    expect(waiting.code, waiting.stdout).toBe(3);
    expect(waiting.stdout).toMatch(/Paused step 1\/2/);
    expect((await coxswain('status', 'wait', '--until', 'paused')).code).toBe(0);
    expect((await coxswain('status', 'wait', '--until', 'step=1')).code).toBe(0);
    expect((await coxswain('abort', 'wait')).code).toBe(0);
    const failed = await coxswain('status', 'wait', '-o', 'json');
    expect(failed.code).toBe(2);
    const out = JSON.parse(failed.stdout.trim().split('\n').at(-1)!);
    expect(out).toMatchObject({ code: 2, microservices: [{ name: 'wait', code: 2 }] });
  });

  it('4 when the time runs out while progressing; 6 for a look with --watch=false; 5 when another revision is desired', async () => {
    const steps = [{ setWeight: 50 }, { pause: { duration: '10m' } }];
    await live('slow', canary('registry.example/slow:1', steps));
    await apply(microservice('slow', canary('registry.example/slow:2', steps), ns));
    const pinned = await eventually('the new revision observed', async () => {
      const o = await msOf(ns, 'slow');
      return o?.status?.observedGeneration === o?.metadata.generation && o.status.desiredRevision !== o.status.stableRevision ? o.status.desiredRevision as string : undefined;
    }, 60_000);
    const timedOut = await coxswain('status', 'slow', '--timeout', '3s');
    expect(timedOut.code, timedOut.stdout).toBe(4);
    expect((await coxswain('status', 'slow', '--watch=false')).code).toBe(6);
    await apply(microservice('slow', canary('registry.example/slow:3', steps), ns));
    const superseded = await coxswain('status', 'slow', '--revision', pinned, '--timeout', '1m');
    expect(superseded.code, superseded.stdout).toBe(5);
  });

  it('several at once by label: the worst code wins; 1 for a name that does not exist', async () => {
    await k('label', '-n', ns, 'microservice', 'done', 'wait', 'slow', 'team=e2e');
    const r = await coxswain('status', '-l', 'team=e2e', '--watch=false');
    // done is Healthy (0), wait is aborted (2), slow progresses (6): the worst is 2.
    expect(r.code, r.stdout).toBe(2);
    expect((await coxswain('status', 'done', 'slow', '--watch=false')).code).toBe(6);
    const missing = await coxswain('status', 'nothing-here');
    expect(missing.code).toBe(1);
    expect(missing.stdout + missing.stderr).toContain('nothing-here');
  });
});
