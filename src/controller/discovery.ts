// Resources that may come and go with their CRDs (HTTPRoutes with the Gateway API): whether the
// API server serves them, asked of discovery (`/apis/<group>/<version>`, readable by every
// authenticated client, so no RBAC on CustomResourceDefinitions), again every few seconds, so a
// CRD installed or removed later is noticed without a restart.
import type { Logger } from 'pino';
import { ApiError, type KubeClient } from '../kube/client.js';
import type { Resource } from '../kube/resources.js';

interface APIResourceList {
  resources?: Array<{ name: string }>;
}

/** Whether `/apis/<group>/<version>` lists the resource. A 404 (no such group or version) says no; other errors say nothing. */
export async function serves(client: Pick<KubeClient, 'request'>, r: Resource): Promise<boolean | undefined> {
  const path = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  try {
    const list = await client.request<APIResourceList>('GET', path);
    return !!list?.resources?.some((x) => x.name === r.plural);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return false;
    return undefined;
  }
}

export type ServedHandler = (r: Resource, served: boolean) => void | Promise<void>;

/** Polls discovery for each resource and reports every change (the first answer included). */
export class Discovery {
  private readonly known = new Map<Resource, boolean>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly client: Pick<KubeClient, 'request'>,
    private readonly resources: readonly Resource[],
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly onChange: ServedHandler,
  ) {}

  /** What the last answer said: served, not served, or not known yet (undefined). */
  served(r: Resource): boolean | undefined {
    return this.known.get(r);
  }

  /** Asks once for every resource; handlers of changes run before it resolves. */
  async poll(): Promise<void> {
    for (const r of this.resources) {
      const now = await serves(this.client, r);
      if (now === undefined) {
        this.log.debug({ resource: r.plural }, 'discovery did not answer; asking again later');
        continue;
      }
      if (this.known.get(r) === now) continue;
      this.known.set(r, now);
      this.log.info({ resource: `${r.plural}.${r.group}`, served: now }, now ? 'resource served: watching it' : 'resource not served');
      await this.onChange(r, now);
    }
  }

  /** The first poll, then one every intervalMs (never two at once). */
  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => {
      this.running ??= this.poll().catch((err: unknown) => this.log.warn({ err: String(err) }, 'discovery failed')).finally(() => { this.running = undefined; });
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
