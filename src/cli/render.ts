// `coxswain render`: what a Microservice would get, computed offline for CI and GitOps previews.
import * as yaml from 'js-yaml';
import { API_VERSION, KIND, type MicroserviceObject } from '../api/schema.js';
import { validateMicroservice } from '../api/validate.js';
import { planReconcile } from '../controller/core.js';
import { type KubeObject } from '../kube/object.js';

export type RenderResult = { ok: true; objects: KubeObject[] } | { ok: false; problems: string[] };

/** Renders every Microservice in a YAML stream; other kinds are skipped. A new object's first revision goes to blue. */
export function renderFile(text: string): RenderResult {
  let docs: unknown[];
  try {
    docs = yaml.loadAll(text).filter((d) => d !== null && d !== undefined);
  } catch (err) {
    return { ok: false, problems: [`input: not YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`] };
  }
  const objects: KubeObject[] = [];
  const problems: string[] = [];
  docs.forEach((doc, i) => {
    const obj = doc as MicroserviceObject;
    if (obj?.kind !== KIND) return;
    const where = docs.length > 1 ? `document ${i + 1} (${obj.metadata?.name ?? 'unnamed'}): ` : '';
    if (obj.apiVersion !== API_VERSION) {
      problems.push(`${where}apiVersion: must be ${API_VERSION}`);
      return;
    }
    const metadata = { namespace: 'default', uid: '<uid of the Microservice>', ...obj.metadata };
    const valid = validateMicroservice({ ...obj, metadata });
    if (!valid.ok) {
      problems.push(...valid.problems.map((p) => `${where}${p}`));
      return;
    }
    // What the operator would write first for it, in a namespace that has none of its objects yet.
    const plan = planReconcile({ ms: valid.value, owned: [], pods: [], now: new Date(0) });
    for (const w of plan.writes) if ('apply' in w) objects.push(w.apply);
  });
  if (problems.length > 0) return { ok: false, problems };
  if (objects.length === 0) return { ok: false, problems: [`input: no ${API_VERSION} ${KIND} found`] };
  return { ok: true, objects };
}
