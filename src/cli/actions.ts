// The plugin's request code, shared by `kubectl coxswain <action>` and the dashboard: the tested
// JSON patch of the coxswain.dev/action annotation, then the operator's answer followed by id.
import { randomBytes } from 'node:crypto';
import type { MicroserviceObject } from '../api/schema.js';
import { baseLabels, formatAction, selectorString, type ActionRequest } from '../api/names.js';
import { ApiError, type KubeClient } from '../kube/client.js';
import { CONTROLLERREVISIONS, Kube, MICROSERVICES, resourcePath } from '../kube/resources.js';
import { keptRevisions, type KeptRevision } from './show.js';
import { answerOf, newRequestId, pendingMessage, pendingRequest, requestPatch, type Answer } from './request.js';

export const FIELD_MANAGER = 'kubectl-coxswain';

/** The operator's answer, or why none came: another request still pending, or none within the time. */
export type ActionResult = Answer | { state: 'pending'; message: string };

/** The Microservice's kept revisions (its ControllerRevisions), oldest first; needs list on controllerrevisions. */
export async function listKeptRevisions(client: KubeClient, namespace: string, ms: MicroserviceObject): Promise<KeptRevision[]> {
  const list = await client.request<{ items: KeptRevision[] }>('GET', resourcePath(CONTROLLERREVISIONS, namespace), {
    query: { labelSelector: selectorString(baseLabels(ms.metadata.name)) },
  });
  return keptRevisions(list.items, ms);
}

/**
 * Sets the action annotation, unless one is still waiting for the operator, and waits for the
 * operator's answer in status.lastAction.
 */
export async function sendAction(client: KubeClient, namespace: string, name: string, request: ActionRequest, timeoutMs: number): Promise<ActionResult> {
  const id = newRequestId(new Date(), randomBytes(3).toString('hex'));
  const value = formatAction({ ...request, id });
  const path = resourcePath(MICROSERVICES, namespace, name);
  let written: MicroserviceObject | undefined;
  for (let attempt = 1; !written; attempt++) {
    const obj = await new Kube(client).get<MicroserviceObject>(MICROSERVICES, namespace, name);
    if (!obj) return { state: 'gone', message: `microservice ${name} not found in namespace ${namespace}` };
    const pending = pendingRequest(obj);
    if (pending) return { state: 'pending', message: pendingMessage(obj, pending, namespace) };
    try {
      written = await client.request<MicroserviceObject>('PATCH', path, {
        contentType: 'application/json-patch+json',
        query: { fieldManager: FIELD_MANAGER },
        body: requestPatch(obj, value),
      });
    } catch (err) {
      // A failed test (422 with no causes): the annotations changed since we read them. Read again.
      const changed = err instanceof ApiError && err.status === 422 && err.causes.length === 0;
      if (!changed || attempt >= 5) throw err;
    }
  }
  return waitForAnswer(client, namespace, written, value, id, Date.now() + timeoutMs);
}

/**
 * Follows every version of the Microservice from the one our write made (a watch from its
 * resourceVersion), so the answer is seen even if a later action's answer replaces it at once.
 * Without watch permission, or when the watch has expired, it reads the Microservice instead.
 */
async function waitForAnswer(client: KubeClient, namespace: string, written: MicroserviceObject, value: string, id: string, deadline: number): Promise<Answer> {
  const name = written.metadata.name;
  let answer = answerOf(written, value, id);
  let resourceVersion = written.metadata.resourceVersion;
  let canWatch = true;
  while (answer.state === 'waiting' && Date.now() < deadline) {
    if (canWatch) {
      const followed = await follow(client, namespace, name, resourceVersion, (obj) => answerOf(obj, value, id), deadline);
      if (typeof followed === 'object') {
        ({ answer, resourceVersion } = followed);
        continue;
      }
      // Without watch on microservices an answer replaced at once may be missed; say what we can.
      if (followed === 'forbidden') canWatch = false;
    } else {
      await new Promise((r) => setTimeout(r, 300));
    }
    const now = await new Kube(client).get<MicroserviceObject>(MICROSERVICES, namespace, name);
    answer = answerOf(now, value, id);
    resourceVersion = now?.metadata.resourceVersion;
  }
  return answer;
}

/** One watch, until the answer, the deadline or the server's timeout; 'expired' on 410 Gone. */
async function follow(client: KubeClient, namespace: string, name: string, resourceVersion: string | undefined, judge: (obj: MicroserviceObject | undefined) => Answer,
  deadline: number): Promise<{ answer: Answer; resourceVersion?: string } | 'expired' | 'forbidden'> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), deadline - Date.now());
  let result: { answer: Answer; resourceVersion?: string } | 'expired' = { answer: { state: 'waiting' }, resourceVersion };
  try {
    await client.watch<MicroserviceObject>(resourcePath(MICROSERVICES, namespace), {
      fieldSelector: `metadata.name=${name}`, resourceVersion, timeoutSeconds: Math.max(1, Math.ceil((deadline - Date.now()) / 1000)),
    }, (event) => {
      if (event.type === 'BOOKMARK' || result === 'expired') return;
      if (event.type === 'ERROR') result = 'expired';
      else result = { answer: judge(event.type === 'DELETED' ? undefined : event.object), resourceVersion: event.object.metadata.resourceVersion };
      if (result === 'expired' || result.answer.state !== 'waiting') stop.abort();
    }, stop.signal);
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return 'forbidden';
    if (!stop.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
  }
  return result;
}

