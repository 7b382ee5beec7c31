// `kubectl coxswain eject NAME [--to deployment/NEW]`: the way out, as steps that each read the
// cluster, find out whether they are done, and do at most one write. So an eject interrupted at
// any point is finished by running it again: the coxswain.dev/eject annotation on the Microservice
// and the coxswain.dev/ejected-from annotation on the plain Deployment say how far it got.
//   1. annotate the Microservice: the operator stops writing for it, and says so (Stalled/Ejecting);
//   2. create the plain Deployment from the stable slot's pod template, at full size; wait for Ready;
//   3. move the ConfigMaps (and Secret copies) its pods use from the Microservice to it;
//   4. hand the Service over (plain selector, which the slot's pods also match; no owner reference);
//      wait until its endpoints hold the plain pods, Ready; the HTTPRoute of spec.traffic.gateway,
//      if any, sends to that Service instead of the slot Services; then the HPA scales the plain Deployment;
//   5. delete the Microservice (its slots and other objects go with it);
//   6. print what is left.
import type { MicroserviceObject } from '../api/schema.js';
import { ANNOTATION_EJECT, deploymentName, LABEL_SLOT, SLOTS } from '../api/names.js';
import { ApiError, type KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';
import { CONFIGMAPS, DEPLOYMENTS, ENDPOINTSLICES, HPAS, HTTPROUTES, Kube, MICROSERVICES, type Resource, resourcePath, SECRETS, SERVICES } from '../kube/resources.js';
import { secretsInTemplate } from '../secrets/refs.js';
import { configMapsReferenced } from '../rollout/observe.js';
import { deploymentArg, type Output } from '../adopt/command.js';
import { toYamlStream } from '../cli/yaml.js';
import { ANNOTATION_EJECTED_FROM, deploymentReady, handedOver, hpaHandover, manifest, plainDeployment, plainSelector, reown, routeHandover, serviceHandover, stableSlot } from './plain.js';

export interface EjectOptions { namespace: string; to?: string; timeoutMs: number; log: (line: string) => void }

const FIELD_MANAGER = 'kubectl-coxswain';

class Refused extends Error {}

export async function ejectCommand(client: KubeClient, name: string | undefined, opts: EjectOptions): Promise<Output> {
  const to = opts.to === undefined ? name : deploymentArg(opts.to);
  if (!name || !to) return { code: 1, stdout: '', stderr: 'usage: kubectl coxswain eject NAME [--to deployment/NEW] [-n NS]\n' };
  try {
    const left = await new Eject(client, name, to, opts).run();
    const header = `# What is left of microservice ${name} in ${opts.namespace} after kubectl coxswain eject.\n`;
    return { code: 0, stdout: toYamlStream(left.map(manifest), header), stderr: '' };
  } catch (err) {
    if (err instanceof Refused) return { code: 2, stdout: '', stderr: `cannot eject ${name}: ${err.message}\n` };
    throw err;
  }
}

class Eject {
  private readonly kube: Kube;
  private readonly ns: string;

  constructor(private readonly client: KubeClient, private readonly name: string, private readonly to: string, private readonly opts: EjectOptions) {
    this.kube = new Kube(client);
    this.ns = opts.namespace;
  }

  async run(): Promise<KubeObject[]> {
    const { name, to } = this;
    let ms = await this.kube.get<MicroserviceObject>(MICROSERVICES, this.ns, name);
    let plain = await this.get(DEPLOYMENTS, to);
    const ours = plain?.metadata.annotations?.[ANNOTATION_EJECTED_FROM] === name;
    if (plain && !ours) throw new Refused(`deployment/${to} exists and was not made by an eject of ${name}; it is never overwritten: delete it (an adopted Deployment left at 0, say) or choose another with --to`);
    if (!ms) {
      // Deleted: by this eject's last step (a re-run prints what is left), or never there.
      if (!plain) throw new Refused(`microservice ${name} not found in namespace ${this.ns}`);
      return this.leftOver(plain);
    }
    const asked = ms.metadata.annotations?.[ANNOTATION_EJECT];
    if (asked !== undefined && asked !== to) throw new Refused(`an eject to deployment/${asked} is under way (${ANNOTATION_EJECT}); finish it with --to deployment/${asked}, or remove the annotation to cancel it`);

    if (!plain) {
      const slots = async () => (await Promise.all(SLOTS.map((s) => this.get(DEPLOYMENTS, deploymentName(name, s))))).filter((d) => d !== undefined);
      const before = stableSlot(ms, await slots());
      if (!before.ok) throw new Refused(before.reason);
      ms = await this.freeze(ms);
      // Looked at again once frozen: a rollout may have started in between. Then it is unfrozen, and refused.
      const source = stableSlot(ms, await slots());
      if (!source.ok) {
        await this.kube.removeAnnotation(MICROSERVICES, this.ns, name, ANNOTATION_EJECT, to);
        throw new Refused(source.reason);
      }
      const replicas = Math.max((ms.spec as { replicas?: number }).replicas ?? 1, (source.slot.spec as { replicas?: number }).replicas ?? 0);
      this.opts.log(`creating deployment/${to} from ${source.slot.metadata.name}, ${replicas} replicas`);
      plain = await this.client.request<KubeObject>('POST', resourcePath(DEPLOYMENTS, this.ns), { query: { fieldManager: FIELD_MANAGER }, body: plainDeployment(ms, source.slot, to, replicas) });
    } else {
      ms = await this.freeze(ms);
    }
    this.opts.log(`waiting for deployment/${to} to be Ready`);
    plain = await this.until(`deployment/${to} Ready`, async () => { const d = await this.get(DEPLOYMENTS, to); return deploymentReady(d) && d; });

    // The ConfigMaps, and the Secret copies (spec.trackSecrets, docs/secrets.md), its pods read:
    // they stay with the plain Deployment instead of going with the Microservice.
    const copies = [...secretsInTemplate((plain.spec as { template?: unknown }).template)].filter((n) => n.startsWith(`${name}-secret-`));
    for (const [r, names] of [[CONFIGMAPS, configMapsReferenced(plain)], [SECRETS, copies]] as const) {
      for (const n of names) {
        const obj = await this.get(r, n);
        const patch = obj && reown(obj, ms, plain);
        if (patch) {
          this.opts.log(`${r.kind.toLowerCase()}/${n} now owned by deployment/${to}`);
          await this.patch(r, n, patch);
        }
      }
    }

    const service = await this.get(SERVICES, name);
    if (service && !handedOver(service, ms)) {
      this.opts.log(`handing service/${name} over to deployment/${to}`);
      await this.patch(SERVICES, name, serviceHandover(service, ms));
    }
    if (service) {
      const want = (plain.spec as { replicas?: number }).replicas ?? 1;
      this.opts.log(`waiting for service/${name} to have the ${want} Ready pods of deployment/${to} as endpoints`);
      await this.until(`service/${name} endpoints`, async () => (await this.readyPlainEndpoints()) >= want);
    }

    // Through the gateway (spec.traffic.gateway): the route to the Service, whose endpoints are
    // the plain pods now, before its backends (the slot Services) go with the Microservice.
    const route = await this.get(HTTPROUTES, name);
    const rerouted = route && routeHandover(route, ms);
    if (rerouted) {
      this.opts.log(`httproute/${name} now sends its traffic to service/${name}`);
      await this.patch(HTTPROUTES, name, rerouted);
    }

    // The HPA last: moved earlier, it could resize the new Deployment while the Service waits for its pods.
    const hpa = await this.get(HPAS, name);
    const retarget = hpa && hpaHandover(hpa, ms, to);
    if (retarget) {
      this.opts.log(`horizontalpodautoscaler/${name} now scales deployment/${to}`);
      await this.patch(HPAS, name, retarget);
    }

    this.opts.log(`deleting microservice/${name} (its slots go with it)`);
    await this.kube.delete(MICROSERVICES, this.ns, name, ms.metadata.uid ?? '');
    await this.until(`microservice/${name} gone`, async () => !(await this.kube.get(MICROSERVICES, this.ns, name)));
    return this.leftOver(plain);
  }

  /**
   * Step 1: the annotation (written only over the version read, so two ejects to different
   * Deployments cannot both think they own it), then the operator's answer, which names the
   * Deployment: from that reconcile on the operator writes nothing for the Microservice.
   */
  private async freeze(ms: MicroserviceObject): Promise<MicroserviceObject> {
    for (let read = ms; read.metadata.annotations?.[ANNOTATION_EJECT] !== this.to;) {
      const asked = read.metadata.annotations?.[ANNOTATION_EJECT];
      if (asked !== undefined) throw new Refused(`an eject to deployment/${asked} is under way (${ANNOTATION_EJECT})`);
      this.opts.log(`annotating microservice/${this.name} ${ANNOTATION_EJECT}=${this.to}`);
      try {
        await this.client.request('PATCH', resourcePath(MICROSERVICES, this.ns, this.name), {
          contentType: 'application/merge-patch+json', query: { fieldManager: FIELD_MANAGER },
          body: { metadata: { resourceVersion: read.metadata.resourceVersion, annotations: { [ANNOTATION_EJECT]: this.to } } },
        });
        break;
      } catch (err) {
        // Changed since read (the operator writes its status): read again.
        if (!(err instanceof ApiError && err.status === 409)) throw err;
        read = await this.kube.get<MicroserviceObject>(MICROSERVICES, this.ns, this.name) ?? read;
      }
    }
    this.opts.log('waiting for the operator to stop writing for it (Stalled, reason Ejecting)');
    return this.until('the operator to answer (is it running?)', async () => {
      const now = await this.kube.get<MicroserviceObject>(MICROSERVICES, this.ns, this.name);
      const stalled = now?.status?.conditions?.find((c) => c.type === 'Stalled');
      return stalled?.status === 'True' && stalled.reason === 'Ejecting' && stalled.message.includes(`deployment/${this.to}:`) && now;
    });
  }

  /** Ready endpoints of the Service that are pods of the plain Deployment (no slot label). */
  private async readyPlainEndpoints(): Promise<number> {
    const selector = Object.entries(plainSelector(this.name)).map(([k, v]) => `${k}=${v}`).concat(`!${LABEL_SLOT}`).join(',');
    const pods = await this.client.request<{ items: KubeObject[] }>('GET', resourcePath({ group: '', version: 'v1', plural: 'pods', kind: 'Pod' }, this.ns), { query: { labelSelector: selector } });
    const plainPods = new Set(pods.items.map((p) => p.metadata.name));
    const slices = await this.client.request<{ items: Array<{ endpoints?: Array<{ conditions?: { ready?: boolean }; targetRef?: { name?: string } }> }> }>(
      'GET', resourcePath(ENDPOINTSLICES, this.ns), { query: { labelSelector: `kubernetes.io/service-name=${this.name}` } });
    return slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready && plainPods.has(e.targetRef?.name ?? '')).length;
  }

  /** The plain Deployment, the Service, the route that sends to it, the HPA that scales it and the ConfigMaps it owns now. */
  private async leftOver(plain: KubeObject): Promise<KubeObject[]> {
    const service = await this.get(SERVICES, this.name);
    const configMaps = (await Promise.all(configMapsReferenced(plain).map((cm) => this.get(CONFIGMAPS, cm))))
      .filter((c) => c?.metadata.ownerReferences?.some((r) => r.uid === plain.metadata.uid));
    const hpa = await this.get(HPAS, this.name);
    const scalesPlain = (hpa?.spec as { scaleTargetRef?: { kind?: string; name?: string } } | undefined)?.scaleTargetRef;
    const route = await this.get(HTTPROUTES, this.name);
    const routed = route && !route.metadata.ownerReferences?.some((r) => r.kind === 'Microservice') ? [route] : [];
    return [plain, ...(service ? [service] : []), ...routed, ...(hpa && scalesPlain?.kind === 'Deployment' && scalesPlain.name === this.to ? [hpa] : []), ...configMaps.filter((c) => c !== undefined)];
  }

  private async get(r: Resource, name: string): Promise<KubeObject | undefined> {
    const obj = await this.kube.get<KubeObject>(r, this.ns, name);
    return obj && { ...obj, apiVersion: r.group ? `${r.group}/${r.version}` : r.version, kind: r.kind };
  }

  private patch(r: Resource, name: string, body: unknown): Promise<unknown> {
    return this.client.request('PATCH', resourcePath(r, this.ns, name), { contentType: 'application/json-patch+json', query: { fieldManager: FIELD_MANAGER }, body });
  }

  /** Polls until `check` gives something, up to the timeout (a step waiting on the cluster). */
  private async until<T>(what: string, check: () => Promise<T | false | undefined>): Promise<T> {
    const end = Date.now() + this.opts.timeoutMs;
    for (;;) {
      const v = await check();
      if (v) return v;
      if (Date.now() > end) throw new Refused(`timed out waiting for ${what}; run the same command again to go on from here`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
