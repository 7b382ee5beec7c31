// What a Microservice's page shows beyond the object itself: its pods, Events and kept revisions,
// read as the user. A list the user may not read shows why instead of failing the page.
import type { MicroserviceObject } from '../api/schema.js';
import { LABEL_REVISION, LABEL_SLOT } from '../api/names.js';
import { ApiError, type KubeClient } from '../kube/client.js';
import { PODS, resourcePath } from '../kube/resources.js';
import { listKeptRevisions } from '../cli/actions.js';
import { revisionRows, type RevisionRow } from '../cli/show.js';
import { detail, type Detail } from '../view/microservice.js';
import type { Access } from './access.js';

export interface PodRow { name: string; slot?: string; revision?: string; phase?: string; ready: boolean }
export interface EventRow { type: string; reason: string; message: string; count: number; last: string }
export type Listed<T> = { items: T[] } | { error: string };

export interface PageData {
  detail: Detail;
  pods: Listed<PodRow>;
  events: Listed<EventRow>;
  revisions: Listed<RevisionRow>;
  access: Access;
  readOnly: boolean;
}

interface Pod { metadata: { name: string; labels?: Record<string, string> }; status?: { phase?: string; conditions?: Array<{ type: string; status: string }> } }
interface Event { type?: string; reason?: string; message?: string; count?: number; lastTimestamp?: string; eventTime?: string; metadata: { creationTimestamp?: string } }

async function listed<T>(what: string, read: () => Promise<T[]>): Promise<Listed<T>> {
  try {
    return { items: await read() };
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return { error: `you may not list ${what} here: ${err.message}` };
    throw err;
  }
}

export async function pageData(client: KubeClient, obj: MicroserviceObject, access: Access, readOnly: boolean): Promise<PageData> {
  const namespace = obj.metadata.namespace ?? '';
  const name = obj.metadata.name;
  const [pods, events, revisions] = await Promise.all([
    listed('pods', async () => {
      if (!obj.status?.selector) return [];
      const list = await client.request<{ items: Pod[] }>('GET', resourcePath(PODS, namespace), { query: { labelSelector: obj.status.selector } });
      return list.items.map((p) => ({
        name: p.metadata.name, slot: p.metadata.labels?.[LABEL_SLOT], revision: p.metadata.labels?.[LABEL_REVISION], phase: p.status?.phase,
        ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      })).sort((a, b) => a.name.localeCompare(b.name));
    }),
    listed('events', async () => {
      const list = await client.request<{ items: Event[] }>('GET', `/api/v1/namespaces/${namespace}/events`, {
        query: { fieldSelector: `involvedObject.kind=Microservice,involvedObject.name=${name}` },
      });
      const rows = list.items.map((e) => ({
        type: e.type ?? 'Normal', reason: e.reason ?? '', message: e.message ?? '', count: e.count ?? 1,
        last: e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? '',
      }));
      return rows.sort((a, b) => b.last.localeCompare(a.last)).slice(0, 20);
    }),
    listed('controllerrevisions', async () => revisionRows(obj, await listKeptRevisions(client, namespace, obj))),
  ]);
  return { detail: detail(obj), pods, events, revisions, access, readOnly };
}
