// How `kubectl coxswain` asks the operator for an action and reads its answer: pure, from the
// Microservice as read. The request is the coxswain.dev/action annotation, `<action>[=<arg>]:<id>`;
// the answer is status.lastAction with the same id.
import type { MicroserviceObject } from '../api/schema.js';
import { ANNOTATION_ACTION, parseAction, type ActionRequest } from '../api/names.js';

/** A request id: unique enough per Microservice, and sorted by time when read. */
export function newRequestId(now: Date, random: string): string {
  return `${now.getTime().toString(36)}-${random}`;
}

/** The request the annotation holds that the operator has not answered yet, if any. */
export function pendingRequest(obj: MicroserviceObject): (ActionRequest & { value: string }) | undefined {
  const value = obj.metadata.annotations?.[ANNOTATION_ACTION];
  const request = parseAction(value);
  if (!request || !value) return undefined;
  // Answered but not yet cleared: the operator clears it right after, and it will not run again.
  if (request.id !== undefined && request.id === obj.status?.lastAction?.id) return undefined;
  return { ...request, value };
}

/** Why a second request is refused while one is pending: it would overwrite the first unseen. */
export function pendingMessage(obj: MicroserviceObject, pending: ActionRequest & { value: string }, namespace: string): string {
  const { name } = obj.metadata;
  const what = pending.arg ? `${pending.action} ${pending.arg}` : pending.action;
  return `${name} already has an action waiting for the operator: ${what} (${ANNOTATION_ACTION}=${pending.value}); `
    + `wait for its answer (kubectl coxswain get ${name} -n ${namespace}), or withdraw it: kubectl annotate microservice ${name} -n ${namespace} ${ANNOTATION_ACTION}-`;
}

type JsonPatch = Array<{ op: 'test' | 'add'; path: string; value: unknown }>;

/**
 * A JSON patch that sets the annotation only if the annotations are still as read (or, with
 * none, the object is), so of two plugins racing, one wins and the other reads again and finds
 * the first one's request pending. The API server answers a failed test with 422.
 */
export function requestPatch(obj: MicroserviceObject, value: string): JsonPatch {
  const annotations = obj.metadata.annotations;
  if (!annotations) {
    return [
      { op: 'test', path: '/metadata/resourceVersion', value: obj.metadata.resourceVersion },
      { op: 'add', path: '/metadata/annotations', value: { [ANNOTATION_ACTION]: value } },
    ];
  }
  return [
    { op: 'test', path: '/metadata/annotations', value: annotations },
    { op: 'add', path: `/metadata/annotations/${ANNOTATION_ACTION.replaceAll('~', '~0').replaceAll('/', '~1')}`, value },
  ];
}

export type Answer =
  | { state: 'waiting' }
  | { state: 'answered'; ok: boolean; message: string }
  | { state: 'gone'; message: string };

/**
 * What became of the request `value` (id `id`) in this version of the Microservice. Read from
 * every version in turn (a watch), it cannot miss its answer, even when a later action's
 * answer replaces it moments after.
 */
export function answerOf(obj: MicroserviceObject | undefined, value: string, id: string): Answer {
  if (!obj) return { state: 'gone', message: 'the Microservice was deleted before the operator answered' };
  const last = obj.status?.lastAction;
  if (last?.id === id) return { state: 'answered', ok: last.ok, message: last.message };
  const now = obj.metadata.annotations?.[ANNOTATION_ACTION];
  if (now === value) return { state: 'waiting' };
  return {
    state: 'gone',
    message: now === undefined
      ? `the request was withdrawn (${ANNOTATION_ACTION} removed) before the operator answered it`
      : `the request was replaced by ${ANNOTATION_ACTION}=${now} before the operator answered it`,
  };
}

/** `orders: promoted past the pause`, but not `orders: orders has no rollout...`. */
export function answerLine(name: string, message: string): string {
  return message === name || message.startsWith(`${name} `) ? message : `${name}: ${message}`;
}
