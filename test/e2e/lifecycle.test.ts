// A Microservice's life on a real cluster, checked as a user would with kubectl: created, Ready,
// rolled to a new image and a new config, scaled, drift undone, deleted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply, condition, createNamespace, deleteNamespace, eventually, getJSON, installCRD, k, kubectl, microservice, Operator,
} from './harness.js';

let ns: string;
let operator: Operator;
const name = 'shop';
const spec = {
  image: 'registry.example/shop:1.0.0',
  replicas: 3,
  ports: [{ name: 'http', port: 8080, servicePort: 80 }],
  config: { data: { LOG_LEVEL: 'info' } },
  autoscaling: { minReplicas: 2, maxReplicas: 6, targetCPUUtilizationPercentage: 70 },
};

const ms = () => getJSON('microservice', '-n', ns, name);
const deployment = () => getJSON('deployment', '-n', ns, `${name}-blue`);
const configMaps = async () => (await getJSON('configmaps', '-n', ns, '-l', `app.kubernetes.io/name=${name}`))?.items ?? [];

/** The Microservice is Ready for its current generation. */
const ready = async () => {
  const obj = await ms();
  return obj?.status?.observedGeneration === obj?.metadata.generation && condition(obj, 'Ready')?.status === 'True' ? obj : undefined;
};

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-life');
  operator = new Operator(['--namespaces', ns]).start();
});
afterAll(async () => {
  await operator.stop();
  await deleteNamespace(ns);
});

describe('a Microservice with RollingUpdate', () => {
  it('gets every object it should, owned by it, and becomes Ready', async () => {
    expect((await apply(microservice(name, spec, ns))).code).toBe(0);
    const wait = await kubectl(['wait', '-n', ns, '--for=condition=Ready', `microservice/${name}`, '--timeout=120s']);
    expect(wait.stderr).toBe('');
    expect(wait.code).toBe(0);

    const obj = await ms();
    const uid = obj.metadata.uid;
    for (const [kind, objName] of [['deployment', `${name}-blue`], ['service', name], ['hpa', name], ['networkpolicy', name]]) {
      const child = await getJSON(kind!, '-n', ns, objName!);
      expect(child, `${kind} ${objName}`).toBeDefined();
      expect(child.metadata.ownerReferences[0]).toMatchObject({ kind: 'Microservice', name, uid, controller: true });
      expect(child.metadata.labels['app.kubernetes.io/managed-by']).toBe('coxswain');
    }
    const cms = await configMaps();
    expect(cms).toHaveLength(1);
    expect(cms[0].immutable).toBe(true);

    expect(obj.status).toMatchObject({ phase: 'Healthy', readyReplicas: 3, replicas: 3, ready: '3/3', observedGeneration: obj.metadata.generation });
    expect(obj.status.stableRevision).toBe(obj.status.desiredRevision);
    expect(condition(obj, 'Stalled')?.status).toBe('False');
    expect(condition(obj, 'Reconciling')?.status).toBe('False');
    const pods = await getJSON('pods', '-n', ns, '-l', `app.kubernetes.io/name=${name}`);
    expect(pods.items.filter((p: any) => p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'))).toHaveLength(3);
    const hpa = await getJSON('hpa', '-n', ns, name);
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', name });
  });

  it('rolls out a new image: new pods, old ones gone, Ready again', async () => {
    const before = (await ms()).status.desiredRevision;
    await k('patch', '-n', ns, `microservice/${name}`, '--type=merge', '-p', JSON.stringify({ spec: { image: 'registry.example/shop:1.1.0' } }));
    const obj = await eventually('the new image to be live', async () => {
      const o = await ready();
      return o && o.status.desiredRevision !== before ? o : undefined;
    });
    expect(obj.status.stableRevision).toBe(obj.status.desiredRevision);
    const pods = (await getJSON('pods', '-n', ns, '-l', `app.kubernetes.io/name=${name}`)).items.filter((p: any) => !p.metadata.deletionTimestamp);
    expect(pods.map((p: any) => p.spec.containers[0].image)).toEqual(Array(3).fill('registry.example/shop:1.1.0'));
  });

  it('rolls out a config change as a new revision with a new ConfigMap, and deletes the old one', async () => {
    const [oldCm] = await configMaps();
    const before = (await ms()).status.desiredRevision;
    await k('patch', '-n', ns, `microservice/${name}`, '--type=merge', '-p', JSON.stringify({ spec: { config: { data: { LOG_LEVEL: 'debug' } } } }));
    await eventually('the config revision to be live', async () => {
      const o = await ready();
      return o && o.status.desiredRevision !== before ? o : undefined;
    });
    const cms = await eventually('the old ConfigMap to be deleted', async () => {
      const list = await configMaps();
      return list.length === 1 && list[0].metadata.name !== oldCm.metadata.name ? list : undefined;
    });
    expect(cms[0].data).toEqual({ LOG_LEVEL: 'debug' });
    const dep = await deployment();
    expect(dep.spec.template.spec.containers[0].envFrom).toEqual([{ configMapRef: { name: cms[0].metadata.name } }]);
  });

  it('scales through the /scale subresource, as kubectl scale and the HPA do', async () => {
    await k('scale', '-n', ns, `microservice/${name}`, '--replicas=5');
    const obj = await eventually('5 ready replicas', async () => {
      const o = await ready();
      return o?.status.readyReplicas === 5 ? o : undefined;
    });
    expect(obj.spec.replicas).toBe(5);
    expect((await deployment()).spec.replicas).toBe(5);
    const scale = JSON.parse(await k('get', '--raw', `/apis/coxswain.dev/v1alpha1/namespaces/${ns}/microservices/${name}/scale`));
    expect(scale.status.replicas).toBe(5);
    expect(scale.status.selector).toBe(`app.kubernetes.io/name=${name},app.kubernetes.io/managed-by=coxswain`);
  });

  it('undoes drift: an edited Deployment image comes back', async () => {
    const image = (await ms()).spec.image;
    await k('set', 'image', '-n', ns, `deployment/${name}-blue`, `${name}=registry.example/tampered:0`);
    await eventually('the image to come back', async () => (await deployment()).spec.template.spec.containers[0].image === image);
  });

  it('removes the HPA when autoscaling is removed from the spec', async () => {
    await k('patch', '-n', ns, `microservice/${name}`, '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/autoscaling' }]));
    await eventually('the HPA to be deleted', async () => (await getJSON('hpa', '-n', ns, name)) === undefined);
  });

  it('reports a spec the API server refuses downstream as Stalled, and recovers when it is fixed', async () => {
    // The CRD passes probes through as core/v1 Probe; the Deployment's validation refuses this one.
    await k('patch', '-n', ns, `microservice/${name}`, '--type=merge', '-p', JSON.stringify({ spec: { probes: { readiness: { httpGet: { port: 0 } } } } }));
    const stalled = await eventually('Stalled=True', async () => {
      const o = await ms();
      return condition(o, 'Stalled')?.status === 'True' && o.status.observedGeneration === o.metadata.generation ? o : undefined;
    });
    expect(condition(stalled, 'Stalled')).toMatchObject({ reason: 'ApplyFailed' });
    // Named as the Microservice's field, not the Deployment's.
    expect(condition(stalled, 'Stalled')!.message).toMatch(/spec\.probes\.readiness\.httpGet\.port/);
    expect(stalled.status.phase).toBe('Degraded');
    expect(operator.alive).toBe(true);
    await k('patch', '-n', ns, `microservice/${name}`, '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/probes' }]));
    await eventually('Ready again', ready);
  });

  it('is removed with all its objects when deleted', async () => {
    await k('delete', '-n', ns, `microservice/${name}`, '--wait=true');
    await eventually('owned objects to be garbage collected', async () => {
      const left = await getJSON('deployments,services,configmaps,hpa,networkpolicies', '-n', ns, '-l', `app.kubernetes.io/name=${name}`);
      return left.items.length === 0;
    });
  });
});

describe('a name conflict', () => {
  it('never touches an object it does not own, and says so in status', async () => {
    const foreign = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'legacy', namespace: ns, labels: { team: 'other' } }, spec: { ports: [{ port: 1234 }], selector: { app: 'legacy' } } };
    await apply(foreign);
    const before = await getJSON('service', '-n', ns, 'legacy');
    await apply(microservice('legacy', { image: 'registry.example/legacy:1', ports: [{ port: 8080 }] }, ns));
    const obj = await eventually('Stalled NameConflict', async () => {
      const o = await getJSON('microservice', '-n', ns, 'legacy');
      return condition(o, 'Stalled')?.reason === 'NameConflict' ? o : undefined;
    });
    expect(condition(obj, 'Stalled')!.message).toMatch(/Service .*legacy exists and is not owned/);
    expect(condition(obj, 'Ready')?.status).toBe('False');
    const after = await getJSON('service', '-n', ns, 'legacy');
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after.metadata.ownerReferences).toBeUndefined();
    // Events are created after the status write that the test saw.
    await eventually('a NameConflict Event', async () =>
      (await getJSON('events', '-n', ns, '--field-selector', 'involvedObject.name=legacy,reason=NameConflict')).items.length > 0, 15_000);
  });
});
