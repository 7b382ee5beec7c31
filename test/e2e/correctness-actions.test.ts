// Issue 8, class 10: actions are never lost or misreported. A second `kubectl coxswain` action
// while one is pending is refused with a message, not written over the first; two actions close
// together each get their answer; and a bare `coxswain.dev/action=<action>` annotation works
// every time it is set, not only the first time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, createNamespace, deleteNamespace, eventually, installCRD, k, kubectlCoxswain, microservice, Operator } from './harness.js';
import { current, healthyAt, msOf } from './rollout-harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-c-actions');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

const ACTION = 'coxswain.dev/action';
const spec = (image: string, steps: unknown[] = [{ setWeight: 50 }, { pause: {} }]) => ({
  image, replicas: 4, ports: [{ name: 'http', port: 8080 }], strategy: { type: 'Canary', canary: { steps } },
});
const annotation = async (name: string) => (await msOf(ns, name))?.metadata.annotations?.[ACTION] as string | undefined;

/** A bare annotation, as a person would type it; resolves with the answer once it is recorded and cleared. */
async function bare(name: string, action: string) {
  const before = (await msOf(ns, name))?.status?.lastAction;
  await k('annotate', '-n', ns, `microservice/${name}`, `${ACTION}=${action}`, '--overwrite');
  return eventually(`the bare ${action} carried out and cleared`, async () => {
    const o = await msOf(ns, name);
    const last = o?.status?.lastAction;
    const answered = last && last.action === action && (last.at !== before?.at || last.message !== before?.message || last.id !== before?.id);
    return answered && !o.metadata.annotations?.[ACTION] ? last : undefined;
  }, 60_000).catch(async (err: Error) => {
    throw new Error(`${err.message}; annotation ${await annotation(name)}, lastAction ${JSON.stringify((await msOf(ns, name))?.status?.lastAction)}`);
  });
}

describe('a second action while one is pending', () => {
  it('is refused with a message, and the pending one is kept and carried out', async () => {
    const name = 'pilot';
    await apply(microservice(name, spec('registry.example/pilot:1'), ns));
    await eventually('v1 live', healthyAt(ns, name, 'registry.example/pilot:1'), 120_000);

    await operator.stop(); // nothing carries the first action out for now
    let pending: string | undefined;
    try {
      const first = await kubectlCoxswain(ns, ['pause', name], { COXSWAIN_ACTION_TIMEOUT_SECONDS: '2' });
      expect(first.stderr).toMatch(/no answer from the operator yet/);
      pending = await annotation(name);
      expect(pending).toMatch(/^pause:/);

      const second = await kubectlCoxswain(ns, ['resume', name], { COXSWAIN_ACTION_TIMEOUT_SECONDS: '2' });
      expect.soft(await annotation(name), 'the pending action is not overwritten').toBe(pending);
      expect.soft(second.code).not.toBe(0);
      expect.soft(second.stderr, 'the refusal names the pending action').toMatch(/pause/);
      expect.soft(second.stderr).not.toMatch(/no answer from the operator yet/);
    } finally {
      operator = new Operator(['--namespaces', ns]).start();
    }
    const done = await eventually('the pending pause carried out', async () => {
      const o = await msOf(ns, name);
      return !o?.metadata.annotations?.[ACTION] && o?.status?.lastAction ? o : undefined;
    }, 60_000);
    expect(done.status.lastAction).toMatchObject({ action: 'pause', ok: true, id: pending!.slice('pause:'.length) });
    expect(done.status.rollout?.paused).toBe(true);
  });
});

describe('two kubectl coxswain actions close together', () => {
  it('each gets an answer (done, or refused while the other is pending), never "no answer"', async () => {
    const name = 'pilot';
    for (let round = 0; round < 3; round++) {
      const env = { COXSWAIN_ACTION_TIMEOUT_SECONDS: '20' };
      const [a, b] = await Promise.all([kubectlCoxswain(ns, ['resume', name], env), kubectlCoxswain(ns, ['pause', name], env)]);
      const said = `resume: ${a.stdout}${a.stderr} / pause: ${b.stdout}${b.stderr}`;
      expect(`${a.stderr}${b.stderr}`, `round ${round}: ${said}`).not.toMatch(/no answer from the operator/);
      expect(a.stdout + a.stderr, said).not.toBe('');
      expect(b.stdout + b.stderr, said).not.toBe('');
      await eventually('the annotation cleared', async () => !(await annotation(name)), 30_000);
    }
  });
});

describe('a bare coxswain.dev/action annotation', () => {
  it('works for pause, then resume, then pause again', async () => {
    const name = 'bosun';
    await apply(microservice(name, spec('registry.example/bosun:1'), ns));
    await eventually('v1 live', healthyAt(ns, name, 'registry.example/bosun:1'), 120_000);
    expect(await bare(name, 'pause')).toMatchObject({ ok: true });
    expect((await msOf(ns, name)).status.rollout?.paused).toBe(true);
    expect(await bare(name, 'resume')).toMatchObject({ ok: true });
    expect((await msOf(ns, name)).status.rollout?.paused).toBeUndefined();
    expect(await bare(name, 'pause')).toMatchObject({ ok: true });
    expect((await msOf(ns, name)).status.rollout?.paused).toBe(true);
    expect(await bare(name, 'resume')).toMatchObject({ ok: true });
  });

  it('works for promote at one pause, then promote again at the next', async () => {
    const name = 'purser';
    const steps = [{ setWeight: 25 }, { pause: {} }, { setWeight: 50 }, { pause: {} }];
    await apply(microservice(name, spec('registry.example/purser:1', steps), ns));
    await eventually('v1 live', healthyAt(ns, name, 'registry.example/purser:1'), 120_000);
    await apply(microservice(name, spec('registry.example/purser:2', steps), ns));
    const atStep = (step: number) => async () => {
      const o = await current(ns, name);
      return o?.status?.phase === 'Paused' && o.status.rollout?.step === step;
    };
    await eventually('waiting at step 1', atStep(1), 120_000);
    expect(await bare(name, 'promote')).toMatchObject({ ok: true });
    await eventually('waiting at step 3', atStep(3), 120_000);
    expect(await bare(name, 'promote')).toMatchObject({ ok: true });
    await eventually('v2 live', healthyAt(ns, name, 'registry.example/purser:2'), 120_000);
  });
});
