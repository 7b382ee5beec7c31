// `kubectl coxswain adopt deployment/NAME`: the thin shell around adopt() (./convert.ts). It only
// reads: the Deployment, the Service and HPA named, and what else in the namespace the Service
// could select (pods, Deployments, StatefulSets). Exit codes: 0 printed, nothing lost; 3 printed,
// and stderr names what the Microservice cannot express; 2 refused (stderr says why).
import type { KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';
import { DEPLOYMENTS, HPAS, Kube, PODS, type Resource, resourcePath, SERVICES } from '../kube/resources.js';
import { toYamlStream } from '../cli/yaml.js';
import { adopt } from './convert.js';
import { matches, type Other } from './service.js';

const STATEFULSETS: Resource = { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet' };

export interface AdoptOptions { namespace: string; service?: string; hpa?: string; container?: string }
export interface Output { code: number; stdout: string; stderr: string }

/** `deployment/NAME`, `deployments/NAME`, `deploy/NAME` or `NAME`: the Deployment's name. */
export function deploymentArg(arg: string | undefined): string | undefined {
  const m = /^(?:(?:deployments?|deploy|deployment\.apps)\/)?([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(arg ?? '');
  return m?.[1];
}

/** A pod is the Deployment's when its ReplicaSet is: named `<deployment>-<pod-template-hash>`. */
function ownedByDeployment(pod: KubeObject, deployment: string): boolean {
  const rs = pod.metadata.ownerReferences?.find((o) => o.controller && o.kind === 'ReplicaSet');
  const hash = pod.metadata.labels?.['pod-template-hash'];
  return !!rs && !!hash && rs.name === `${deployment}-${hash}`;
}

/** Pods and workloads besides the Deployment that the Service's selector picks out. */
async function othersSelected(kube: Kube, namespace: string, deployment: string, selector: Record<string, string>): Promise<Other[]> {
  // A list's items carry no kind of their own.
  const list = async (r: Resource, query: Record<string, string> = {}) =>
    (await kube.client.request<{ items: KubeObject[] }>('GET', resourcePath(r, namespace), { query })).items.map((o) => ({ ...o, kind: r.kind }));
  const labelSelector = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = (await list(PODS, { labelSelector })).filter((p) => !ownedByDeployment(p, deployment));
  const workloads = [...await list(DEPLOYMENTS), ...await list(STATEFULSETS)].filter((w) => !(w.kind === 'Deployment' && w.metadata.name === deployment));
  const templateLabels = (w: KubeObject) => ((w.spec as { template?: { metadata?: { labels?: Record<string, string> } } }).template?.metadata?.labels ?? {});
  return [
    ...workloads.filter((w) => matches(selector, templateLabels(w))).map((w) => ({ what: `${w.kind.toLowerCase()}/${w.metadata.name}`, labels: templateLabels(w) })),
    ...pods.map((p) => ({ what: `pod/${p.metadata.name}`, labels: p.metadata.labels ?? {} })),
  ];
}

export async function adoptCommand(client: KubeClient, arg: string | undefined, opts: AdoptOptions): Promise<Output> {
  const name = deploymentArg(arg);
  if (!name) return { code: 1, stdout: '', stderr: 'usage: kubectl coxswain adopt deployment/NAME [--service S] [--hpa H] [--container C] [-n NS]\n' };
  const kube = new Kube(client);
  const { namespace } = opts;
  const need = async (r: Resource, n: string): Promise<KubeObject> => {
    const obj = await kube.get<KubeObject>(r, namespace, n);
    if (!obj) throw new NotFound(`${r.kind.toLowerCase()}/${n} not found in namespace ${namespace}`);
    return { ...obj, apiVersion: r.group ? `${r.group}/${r.version}` : r.version, kind: r.kind };
  };
  try {
    const deployment = await need(DEPLOYMENTS, name);
    const service = opts.service ? await need(SERVICES, opts.service) : undefined;
    const hpa = opts.hpa ? await need(HPAS, opts.hpa) : undefined;
    const selector = (service?.spec as { selector?: Record<string, string> } | undefined)?.selector;
    const others = selector && Object.keys(selector).length > 0 ? await othersSelected(kube, namespace, name, selector) : [];
    const hpas = await kube.client.request<{ items: KubeObject[] }>('GET', resourcePath(HPAS, namespace));
    const scalers = hpas.items.filter((h) => {
      const ref = (h.spec as { scaleTargetRef?: { kind?: string; name?: string } }).scaleTargetRef;
      return ref?.kind === 'Deployment' && ref.name === name;
    }).map((h) => h.metadata.name);
    const result = adopt({ deployment, ...(service ? { service } : {}), ...(hpa ? { hpa } : {}), ...(opts.container ? { container: opts.container } : {}), others, scalers });
    if (!result.ok) return { code: 2, stdout: '', stderr: `cannot adopt deployment/${name}:\n${result.refusals.map((r) => `  - ${r}\n`).join('')}` };
    const header = `# From deployment/${name}${service ? `, service/${service.metadata.name}` : ''}${hpa ? `, horizontalpodautoscaler/${hpa.metadata.name}` : ''} in ${namespace}, by kubectl coxswain adopt.\n`;
    const stdout = toYamlStream([result.microservice], header);
    if (result.lost.length === 0) return { code: 0, stdout, stderr: '' };
    return { code: 3, stdout, stderr: `the Microservice cannot express ${result.lost.length} thing(s) of the live objects; review before applying:\n${result.lost.map((l) => `  - ${l}\n`).join('')}` };
  } catch (err) {
    if (err instanceof NotFound) return { code: 1, stdout: '', stderr: `${err.message}\n` };
    throw err;
  }
}

class NotFound extends Error {}
