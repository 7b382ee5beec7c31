// Issue 8, class 4: what serves follows the stable revision. A port renamed and renumbered in a
// new revision must not rewire `<name>` before promotion (the stable pods do not have the new
// port: that would be an outage); the NetworkPolicy admits both ports while both revisions run,
// `<name>-preview` follows the candidate. Abort puts everything back; promotion moves it over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, createNamespace, deleteNamespace, eventually, getJSON, installCRD, microservice, Operator } from './harness.js';
import { admittedPorts, current, healthyAt, msOf, pluginIn, servicePorts, slotsOf } from './rollout-harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-c-serving');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

const name = 'relay';
const oldPorts = [{ name: 'http', port: 8080, servicePort: 80 }];
const newPorts = [{ name: 'web', port: 9090, servicePort: 80 }];
const spec = (image: string, ports: unknown[]) => ({
  image, replicas: 2, ports,
  strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: {} }], maxSurge: 1, maxUnavailable: 0 }, progressDeadlineSeconds: 600 },
});
const oldService = [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }];
const newService = [{ name: 'web', port: 80, targetPort: 'web', protocol: 'TCP' }];

const service = async (svc: string) => servicePorts(await getJSON('service', '-n', ns, svc));
const policy = async () => admittedPorts(await getJSON('networkpolicy', '-n', ns, name));
const atPause = async () => {
  const o = await current(ns, name);
  return o?.status?.phase === 'Paused' && o.status.rollout?.step === 1 ? o : undefined;
};

describe('a port renamed and renumbered during a canary', () => {
  let stableRevision: string;

  it('leaves <name> on the stable ports; the policy admits both; the preview has the new ones', async () => {
    await apply(microservice(name, spec('registry.example/relay:1', oldPorts), ns));
    const v1 = await eventually('v1 live', healthyAt(ns, name, 'registry.example/relay:1'), 120_000);
    stableRevision = v1.status.stableRevision;
    expect(await service(name)).toEqual(oldService);

    await apply(microservice(name, spec('registry.example/relay:2', newPorts), ns));
    await eventually('the canary at its pause, both revisions running', atPause, 120_000);
    expect.soft(await service(name), `${name}: the stable pods have no port "web"`).toEqual(oldService);
    expect.soft(await policy(), 'the NetworkPolicy while both run').toEqual(['8080/TCP', '9090/TCP']);
    expect.soft(await service(`${name}-preview`), `${name}-preview follows the candidate`).toEqual(newService);
  });

  it('is all back on the stable ports after kubectl coxswain abort', async () => {
    const abort = await pluginIn(ns)('abort', name);
    expect(abort.stderr).toBe('');
    await eventually('aborted, the candidate at 0', async () => {
      const o = await current(ns, name);
      const cand = o?.status?.rollout?.candidateSlot ?? (o && (o.status.activeSlot === 'blue' ? 'green' : 'blue'));
      return o?.status?.rollout?.abortedRevision && (await slotsOf(ns, name))[cand]?.replicas === 0;
    }, 60_000);
    expect.soft(await service(name)).toEqual(oldService);
    await eventually('the NetworkPolicy on the stable port only', async () => (await policy()).join() === '8080/TCP', 30_000)
      .catch(async (err: Error) => { throw new Error(`${err.message}: ${(await policy()).join(', ')}`); });
    expect((await msOf(ns, name)).status.stableRevision).toBe(stableRevision);
  });

  it('moves <name> and the policy to the new ports on promotion', async () => {
    const retry = await pluginIn(ns)('retry', name);
    expect(retry.stderr).toBe('');
    await eventually('the retried canary at its pause', atPause, 120_000);
    expect.soft(await service(name), 'still the stable ports before promotion').toEqual(oldService);
    const promote = await pluginIn(ns)('promote', name);
    expect(promote.stderr).toBe('');
    await eventually('v2 live', healthyAt(ns, name, 'registry.example/relay:2'), 120_000);
    expect(await service(name)).toEqual(newService);
    await eventually('the NetworkPolicy on the new port only, once the old slot is at 0', async () => (await policy()).join() === '9090/TCP', 30_000)
      .catch(async (err: Error) => { throw new Error(`${err.message}: ${(await policy()).join(', ')}`); });
  });
});
