// Test fixtures shared by the unit tests: Microservices built through the real validator (so
// defaults are applied exactly as at reconcile time), observed slots, and controllable promises.
import { API_VERSION, KIND, type Microservice, type MicroserviceSpecInput, type MicroserviceStatus, type ObjectMeta } from '../../src/api/schema.js';
import { validateMicroservice } from '../../src/api/validate.js';
import { parseAction } from '../../src/api/names.js';
import type { ObservedSlot, Plan } from '../../src/rollout/types.js';
import { render, revisionOf } from '../../src/render/index.js';

export const UID = '0b6f3c1e-5d2a-4e8f-9a71-3c2d1e0f4b5a';

/** A valid Microservice named `orders` in `shop` (override with `meta`), defaults applied. */
export function microservice(spec: MicroserviceSpecInput, meta: Partial<ObjectMeta> = {}, status?: MicroserviceStatus): Microservice {
  const result = validateMicroservice({
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: 'orders', namespace: 'shop', uid: UID, generation: 1, ...meta },
    spec,
    ...(status ? { status } : {}),
  });
  if (!result.ok) throw new Error(`fixture is not a valid Microservice: ${result.problems.join('; ')}`);
  return result.value;
}

/** A slot whose Deployment has settled at `replicas` pods of `revision`, all of them Ready. */
export function readySlot(revision: string, replicas: number, over: Partial<ObservedSlot> = {}): ObservedSlot {
  return {
    revision,
    image: 'registry.example/orders:1.0.0',
    replicas,
    currentReplicas: replicas,
    readyReplicas: over.readyReplicas ?? replicas,
    servingReplicas: over.servingReplicas ?? over.readyReplicas ?? replicas,
    updatedReplicas: replicas,
    availableReplicas: replicas,
    settled: true,
    deadlineExceeded: false,
    failingPods: 0,
    ...over,
  };
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

/** A promise the test settles by hand. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Reads `obj` at a path of keys and indices. */
export function getPath(obj: unknown, path: ReadonlyArray<string | number>): unknown {
  return path.reduce<unknown>((node, seg) => (node as Record<string | number, unknown> | undefined)?.[seg], obj);
}

/** Writes `value` at a path that already exists in `obj`. */
export function setPath(obj: unknown, path: ReadonlyArray<string | number>, value: unknown): void {
  const parent = getPath(obj, path.slice(0, -1)) as Record<string | number, unknown>;
  parent[path[path.length - 1]!] = value;
}

/** Paths to every string leaf of a JSON value. */
export function stringLeaves(value: unknown, path: Array<string | number> = []): Array<Array<string | number>> {
  if (typeof value === 'string') return [path];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringLeaves(v, [...path, i]));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => stringLeaves(v, [...path, k]));
  return [];
}

/** In a test's plan, the slot revision that stands for the spec's own. */
export const SPEC = 'spec';

/** A test plan's defaults, with SPEC read as the spec's revision. */
export type TestPlan = Partial<Plan> & Pick<Plan, 'slots'>;
export function planFor(ms: Microservice, plan: TestPlan): Plan {
  const revision = revisionOf(ms);
  const slots = Object.fromEntries(Object.entries(plan.slots).map(([s, p]) => [s, p.revision === SPEC ? { ...p, revision } : p]));
  return { servingRevision: revision, previewRevision: revision, weight: 0, ...plan, slots };
}

/** render() of a test plan. */
export const renderPlan = (ms: Microservice, plan: TestPlan) => render(ms, planFor(ms, plan));

/** An action as the engine takes it, from an annotation value a test writes with its id (`promote:p1`). */
export function actionOf(value: string | undefined): { action: string; arg?: string; id: string } | undefined {
  const r = parseAction(value);
  if (r && !r.id) throw new Error(`test action ${value} needs an id`);
  return r ? { ...r, id: r.id! } : undefined;
}
