// The actions the page offers, each as the plugin's request and the command a person would type. Pure.
import type { ActionRequest } from '../api/names.js';

export const ACTIONS = ['promote', 'promote-full', 'abort', 'retry', 'pause', 'resume', 'restart', 'undo'] as const;
export type DashboardAction = (typeof ACTIONS)[number];

export const isAction = (a: unknown): a is DashboardAction => typeof a === 'string' && (ACTIONS as readonly string[]).includes(a);

/** A revision hash as undo takes it: what the page sends is checked before it reaches the annotation. */
const REVISION = /^[a-z0-9]{1,63}$/;

/** The annotation's request for an action, or why the page's ask is not one. */
export function actionRequest(action: unknown, revision: unknown): ActionRequest | string {
  if (!isAction(action)) return `action: one of ${ACTIONS.join(', ')}`;
  if (action !== 'undo') return { action };
  if (revision === undefined || revision === null || revision === '') return { action };
  if (typeof revision !== 'string' || !REVISION.test(revision)) return 'revision: a kept revision\'s hash';
  return { action, arg: revision };
}

/** The `kubectl coxswain` command that does the same, shown next to the answer. */
export function commandFor(request: ActionRequest, namespace: string, name: string): string {
  const verb = request.action === 'promote-full' ? 'promote' : request.action;
  const flags = [...(request.action === 'promote-full' ? ['--full'] : []), ...(request.arg ? ['--to-revision', request.arg] : [])];
  return ['kubectl coxswain', verb, name, '-n', namespace, ...flags].join(' ');
}

/** Why the buttons are disabled, when the API server's SelfSubjectAccessReview says no. */
export function deniedReason(namespace: string, name: string, reason: string | undefined): string {
  const why = reason ? ` (${reason})` : '';
  return `you may not patch microservice ${name} in namespace ${namespace}${why}: kubectl auth can-i patch microservices.coxswain.dev/${name} -n ${namespace}`;
}
