// The reconcile core with Secrets in the revision (spec.trackSecrets, an install that tracks): a
// changed Secret is a new revision; the stable slot, an abort and undo read their own revision's
// copy; copies go with their revision; and no value leaves the copies.
import { describe, expect, it } from 'vitest';
import type { MicroserviceObject, MicroserviceSpecInput } from '../api/schema.js';
import { ANNOTATION_ACTION } from '../api/names.js';
import type { KubeObject } from '../kube/object.js';
import { microservice } from '../../test/support/fixtures.js';
import { serverLike } from '../../test/support/server.js';
import { secretsInTemplate } from '../secrets/refs.js';
import { secretLookup } from '../secrets/watch.js';
import { planReconcile, type ReconcilePlan, revisionWrites, type World } from './core.js';

const T0 = new Date('2024-05-01T12:00:00.000Z');
const VALUE = (v: string) => `hunter2-${v}`;
const b64 = (v: string) => Buffer.from(VALUE(v)).toString('base64');

const spec = (steps: NonNullable<MicroserviceSpecInput['strategy']>['canary'] = { steps: [{ setWeight: 50 }, { pause: {} }] }, limit = 10): MicroserviceSpecInput => ({
  image: 'a:1', replicas: 2, trackSecrets: true, revisionHistoryLimit: limit,
  env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
  strategy: { type: 'Canary', canary: steps },
});

/** The user's Secret `db` (not owned) holding `v`, beside what the Microservice owns. */
const source = (v: string): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, type: 'Opaque', data: { password: b64(v) } });

interface Cluster { world: World; db: KubeObject; said: string[] }

function podsOf(dep: KubeObject): KubeObject[] {
  const s = dep.spec as { replicas: number; template: { metadata: { labels: Record<string, string> } } };
  return Array.from({ length: s.replicas }, (_, i) => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: `${dep.metadata.name}-${i}`, namespace: 'shop', labels: s.template.metadata.labels },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  }));
}
const rolledOut = (o: KubeObject): KubeObject => {
  if (o.kind !== 'Deployment') return o;
  const n = (o.spec as { replicas: number }).replicas;
  return { ...o, status: { observedGeneration: o.metadata.generation, replicas: n, readyReplicas: n, updatedReplicas: n, availableReplicas: n } };
};

/** One reconcile as the shell runs it; every write lands, pods are Ready at once; what the operator said (status, events) is kept. */
function pass(c: Cluster): Cluster {
  const world: World = { ...c.world, secrets: secretLookup((n) => (n === 'db' ? c.db : c.world.owned.find((o) => o.kind === 'Secret' && o.metadata.name === n))) };
  const owned = new Map(world.owned.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
  const apply = (plan: Pick<ReconcilePlan, 'writes'>) => {
    for (const w of plan.writes) {
      if ('apply' in w) owned.set(`${w.apply.kind}/${w.apply.metadata.name}`, rolledOut(serverLike(w.apply)));
      if ('delete' in w) owned.delete(`${w.delete.kind}/${w.delete.metadata.name}`);
      if ('resize' in w) {
        const dep = owned.get(`Deployment/${w.resize.name}`)!;
        owned.set(`Deployment/${w.resize.name}`, rolledOut(serverLike({ ...dep, spec: { ...(dep.spec as object), replicas: w.resize.replicas } })));
      }
    }
  };
  const first = revisionWrites(world);
  apply({ writes: first });
  const plan = planReconcile({ ...world, owned: [...owned.values()], refused: [] });
  apply(plan);
  const { status, events } = plan.finish([]);
  const objects = [...owned.values()];
  const said = [...c.said, JSON.stringify(status ?? {}), JSON.stringify(events),
    ...[...first, ...plan.writes].flatMap((w) => ('apply' in w && w.apply.kind !== 'Secret' ? [JSON.stringify(w.apply)] : []))];
  const annotations = { ...world.ms.metadata.annotations };
  if (plan.clearAction) delete annotations[ANNOTATION_ACTION];
  return {
    ...c, said,
    world: { ...world, owned: objects, pods: objects.filter((o) => o.kind === 'Deployment').flatMap(podsOf), ms: { ...world.ms, metadata: { ...world.ms.metadata, annotations }, ...(status ? { status } : {}) } },
  };
}
const passes = (c: Cluster, n: number) => Array.from({ length: n }).reduce<Cluster>((x) => pass(x), c);

function settled(s: MicroserviceSpecInput, v = 'v1'): Cluster {
  return passes({ world: { ms: microservice(s) as MicroserviceObject, owned: [], pods: [], now: T0 }, db: source(v), said: [] }, 5);
}
const act = (c: Cluster, action: string): Cluster => ({ ...c, world: { ...c.world, ms: { ...c.world.ms, metadata: { ...c.world.ms.metadata, annotations: { [ANNOTATION_ACTION]: action } } } } });
const copies = (c: Cluster) => c.world.owned.filter((o) => o.kind === 'Secret');
/** The value the pods of a slot read: the copy its Deployment's template names. */
function served(c: Cluster, slot: string): string | undefined {
  const dep = c.world.owned.find((o) => o.metadata.name === `orders-${slot}`) as { spec: { template: unknown } } | undefined;
  const [name] = [...secretsInTemplate(dep?.spec.template)];
  const copy = copies(c).find((o) => o.metadata.name === name) as { data: { password: string } } | undefined;
  return copy && Buffer.from(copy.data.password, 'base64').toString();
}
const stableSlot = (c: Cluster) => c.world.ms.status!.activeSlot!;
const other = (slot: string) => (slot === 'blue' ? 'green' : 'blue');

describe('Secrets in the revision', () => {
  it('rolls a changed Secret out as a new revision; an abort serves the stable revision\'s content', () => {
    let c = settled(spec());
    const first = c.world.ms.status!;
    expect(served(c, stableSlot(c))).toBe(VALUE('v1'));
    expect(first.secrets).toEqual({ tracked: true, message: expect.stringMatching(/^tracked in the revision: db \(orders-secret-[0-9a-f]{10}\)$/) });
    c = passes({ ...c, db: source('v2') }, 3);
    const rolling = c.world.ms.status!;
    expect(rolling.desiredRevision).not.toBe(first.stableRevision);
    expect(rolling.stableRevision).toBe(first.stableRevision);
    expect(rolling.rollout?.weight).toBe(50);
    expect(served(c, other(stableSlot(c)))).toBe(VALUE('v2'));
    c = passes(act(c, 'abort:a1'), 3);
    expect(c.world.ms.status!.rollout?.abortedRevision).toBe(rolling.desiredRevision);
    expect(served(c, stableSlot(c))).toBe(VALUE('v1'));
    expect(c.said.join('\n')).not.toMatch(new RegExp(`${b64('v1')}|${b64('v2')}|hunter2`));
  });

  it('gives undo after promotion the old revision\'s content back, though the Secret now holds the new one', () => {
    let c = settled(spec({ steps: [{ setWeight: 50 }] }));
    const first = c.world.ms.status!.stableRevision!;
    c = passes({ ...c, db: source('v2') }, 6);
    expect(c.world.ms.status!.stableRevision).not.toBe(first);
    expect(served(c, stableSlot(c))).toBe(VALUE('v2'));
    c = passes(act(c, `undo=${first}:u1`), 6);
    expect(c.world.ms.status!.stableRevision).toBe(first);
    expect(served(c, stableSlot(c))).toBe(VALUE('v1'));
    expect(c.said.join('\n')).not.toMatch(/hunter2|aHVudGVyMi/);
  });

  it('keeps a copy as long as its revision is kept, and deletes it with the revision', () => {
    let c = settled(spec({ steps: [{ setWeight: 50 }] }, 1));
    for (const v of ['v2', 'v3']) c = passes({ ...c, db: source(v) }, 6);
    // Limit 1, but the idle slot's revision (v2) is in use: v1's copy alone goes.
    const values = copies(c).map((o) => Buffer.from((o.data as { password: string }).password, 'base64').toString()).sort();
    expect(values).toEqual([VALUE('v2'), VALUE('v3')]);
  });

  it('makes no copy and no new revision without spec.trackSecrets', () => {
    const c = settled({ ...spec(), trackSecrets: false });
    const rev = c.world.ms.status!.stableRevision;
    const after = passes({ ...c, db: source('v2') }, 2);
    expect(copies(after)).toEqual([]);
    expect(after.world.ms.status!.desiredRevision).toBe(rev);
    expect(after.world.ms.status!.secrets).toBeUndefined();
  });
});
