// The Gateway API for the end-to-end tests: its CRDs (standard channel) from their Go module,
// pinned in hack/tools/gateway-api/go.mod and cached by version (hack/tools/gateway-api/crds.sh),
// installed on the test cluster; and a stand-in for a Gateway controller. Nothing here runs a
// data plane, so the controller is the one part the tests play: it reads each HTTPRoute of a
// namespace and writes status.parents as a controller would (Accepted, with the generation it
// looked at), or a refusal when told to. It also records every generation of every route it saw.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { KubeClient } from '../../src/kube/client.js';
import { crdsEstablished, eventually, getJSON, k, KUBECONFIG, kubectl, ROOT, sleep } from './harness.js';

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';
export const CONTROLLER_NAME = 'e2e.coxswain.dev/gateway';

/** The directory of the cached CRDs, fetched from the Go module on first use. */
export function gatewayAPICRDs(): Promise<string> {
  return new Promise((done, fail) => {
    execFile(resolve(ROOT, 'hack/tools/gateway-api/crds.sh'), { maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
      err ? fail(new Error(`hack/tools/gateway-api/crds.sh failed: ${stderr}`)) : done(stdout.trim()));
  });
}

/** The bundle version of the Gateway API CRDs installed in the cluster, if any. */
export async function installedGatewayAPI(): Promise<string | undefined> {
  const crd = await getJSON('crd', `httproutes.${GATEWAY_GROUP}`);
  return crd ? crd.metadata.annotations?.['gateway.networking.k8s.io/bundle-version'] ?? 'unknown' : undefined;
}

/** The version pinned in hack/tools/gateway-api/go.mod, which the cache directory is named by. */
export async function pinnedGatewayAPI(): Promise<string> {
  return (await gatewayAPICRDs()).replace(/^.*gateway-api-/, '');
}

/**
 * Installs the Gateway API's standard CRDs (a no-op when they are there) and waits until
 * HTTPRoutes are served. A cluster that has another version of them (a real one the suite is
 * pointed at) keeps its own: HTTPRoute v1 is all the tests need.
 */
export async function installGatewayAPI(): Promise<void> {
  const installed = await installedGatewayAPI();
  if (installed === undefined || installed === (await pinnedGatewayAPI())) await k('apply', '--server-side', '--force-conflicts', '-f', await gatewayAPICRDs());
  await crdsEstablished(`httproutes.${GATEWAY_GROUP}`);
  await eventually('HTTPRoutes served by discovery', async () => (await kubectl(['get', '--raw', `/apis/${GATEWAY_GROUP}/v1`])).stdout.includes('"httproutes"'), 60_000);
}

/**
 * Whether the CRDs may be removed: only this suite's own (the pinned version), with no HTTPRoute
 * outside its namespaces, since every HTTPRoute in the cluster goes with them.
 */
export async function mayRemoveGatewayAPI(): Promise<true | string> {
  const installed = await installedGatewayAPI();
  if (installed !== undefined && installed !== (await pinnedGatewayAPI())) return `the cluster has Gateway API ${installed}, not the suite's`;
  const routes = (await getJSON('httproutes', '--all-namespaces'))?.items ?? [];
  const foreign = routes.filter((r: { metadata: { namespace: string } }) => !r.metadata.namespace.startsWith('e2e-'));
  return foreign.length === 0 ? true : `${foreign.length} HTTPRoute(s) outside the suite's namespaces would be deleted with the CRDs`;
}

/** Removes them (every HTTPRoute in the cluster goes with them) and waits until HTTPRoutes are no longer served. */
export async function removeGatewayAPI(): Promise<void> {
  await k('delete', '--ignore-not-found', '--wait=true', '--timeout=120s', '-f', await gatewayAPICRDs());
  await eventually('HTTPRoutes gone from discovery', async () => !(await kubectl(['get', '--raw', `/apis/${GATEWAY_GROUP}/v1`])).stdout.includes('"httproutes"'), 60_000);
}

export type Answer = 'accept' | 'refuse' | 'silent';

interface Route {
  metadata: { name: string; namespace: string; generation: number; resourceVersion: string };
  spec: { parentRefs: Array<Record<string, unknown>>; rules: Array<{ name?: string; backendRefs?: Array<{ name: string; weight?: number }> }> };
  status?: { parents?: Array<{ controllerName: string; conditions?: Array<{ type: string; status: string; observedGeneration?: number }> }> };
}

/** One generation of a route as the controller saw it. */
export interface Seen {
  at: number;
  route: string;
  generation: number;
  /** The weighted rule's weights by backend name. */
  weights: Record<string, number>;
  /** The header rules' names. */
  headers: string[];
  answer: Answer;
}

export const REFUSAL = { reason: 'NotAllowedByListeners', message: 'no listener of Gateway gateways/public allows routes from this namespace' };

/** Plays the Gateway controller for the HTTPRoutes of one namespace. */
export class GatewayController {
  readonly seen: Seen[] = [];
  /** How each new generation is answered; change it to refuse or stay silent. */
  answer: (route: string, generation: number) => Answer = () => 'accept';
  private running = false;
  private loop?: Promise<void>;
  private client?: KubeClient;
  private readonly answered = new Map<string, number>();

  constructor(readonly namespace: string) {}

  async start(): Promise<this> {
    this.client = await KubeClient.fromEnvironment(KUBECONFIG, undefined, 'coxswain-e2e-gateway');
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.pass().catch(() => undefined); // the CRD may be missing for a while
        await sleep(200);
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.client?.close();
  }

  /** The latest generation of `route` seen, if any. */
  latest(route: string): Seen | undefined {
    return this.seen.filter((s) => s.route === route).at(-1);
  }

  /** Answers the route's current generation again, as a controller does when its Gateway changes. */
  again(route: string): void {
    this.answered.delete(route);
  }

  private async pass(): Promise<void> {
    const list = await this.client!.request<{ items: Route[] }>('GET', `/apis/${GATEWAY_GROUP}/v1/namespaces/${this.namespace}/httproutes`);
    for (const r of list.items) {
      const key = r.metadata.name;
      const generation = r.metadata.generation;
      if (this.answered.get(key) === generation) continue;
      const answer = this.answer(key, generation);
      if (this.latest(key)?.generation !== generation) {
        const weighted = r.spec.rules.find((x) => x.name === 'weighted' || x.name === 'preview') ?? r.spec.rules.at(-1);
        this.seen.push({
          at: Date.now(), route: key, generation, answer,
          weights: Object.fromEntries((weighted?.backendRefs ?? []).map((b) => [b.name, b.weight ?? 1])),
          headers: r.spec.rules.flatMap((x) => (x.name?.startsWith('header-') ? [x.name.slice('header-'.length)] : [])),
        });
      }
      // A generation not answered yet is looked at again, in case the answer changes.
      if (answer === 'silent') continue;
      this.answered.set(key, generation);
      const accepted = answer === 'accept';
      const condition = {
        type: 'Accepted', status: accepted ? 'True' : 'False', reason: accepted ? 'Accepted' : REFUSAL.reason,
        message: accepted ? 'Route is accepted' : REFUSAL.message, observedGeneration: generation, lastTransitionTime: new Date().toISOString(),
      };
      const parents = r.spec.parentRefs.map((parentRef) => ({ parentRef, controllerName: CONTROLLER_NAME, conditions: [condition] }));
      await this.client!.request('PATCH', `/apis/${GATEWAY_GROUP}/v1/namespaces/${this.namespace}/httproutes/${key}/status`, {
        contentType: 'application/merge-patch+json', body: { status: { parents } },
      });
    }
  }
}

/** The weighted rule of the live route `name`, as `blue=95 green=5`, with its header rules. */
export async function routeWeights(namespace: string, name: string): Promise<{ weights: string; headers: string[]; generation: number; accepted?: number } | undefined> {
  const r = await kubectl(['get', 'httproute', '-n', namespace, name, '-o', 'json']);
  if (r.code !== 0) return undefined;
  const route = JSON.parse(r.stdout) as Route;
  const weighted = route.spec.rules.find((x) => x.name === 'weighted');
  const accepted = route.status?.parents?.find((p) => p.controllerName === CONTROLLER_NAME)?.conditions?.find((c) => c.type === 'Accepted' && c.status === 'True');
  return {
    weights: (weighted?.backendRefs ?? []).map((b) => `${b.name.slice(name.length + 1)}=${b.weight}`).join(' '),
    headers: route.spec.rules.flatMap((x) => (x.name?.startsWith('header-') ? [x.name.slice('header-'.length)] : [])),
    generation: route.metadata.generation,
    ...(accepted?.observedGeneration !== undefined ? { accepted: accepted.observedGeneration } : {}),
  };
}
