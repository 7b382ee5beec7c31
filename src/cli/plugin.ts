#!/usr/bin/env node
// kubectl-coxswain: `kubectl coxswain <command>`. Reads Microservices, and asks the operator for
// actions through the coxswain.dev/action annotation (which it carries out once and clears), so
// nothing a user keeps in Git changes. Only `set image` edits the spec, as kubectl set image does.
import './node-check.js';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { MicroserviceObject } from '../api/schema.js';
import { ApiError, KubeClient } from '../kube/client.js';
import { CONTROLLERREVISIONS, Kube, MICROSERVICES, resourcePath } from '../kube/resources.js';
import { ANNOTATION_ACTION, baseLabels, formatAction, selectorString, type ActionRequest } from '../api/names.js';
import { findRevision, formatHistory, formatList, formatTree, keptRevisions, revisionHash, type KeptRevision } from './show.js';
import { answerLine, answerOf, newRequestId, pendingMessage, pendingRequest, requestPatch, type Answer } from './request.js';
import { userAgent } from '../version.js';
import { status, watchFrom } from './status.js';
import { parseUntil } from './verdict.js';
import { durationMs } from '../rollout/weights.js';

const USAGE = `Usage: kubectl coxswain <command> [NAME] [flags]

Commands:
  list                      Microservices with strategy, phase, step and weight
  get NAME [--watch]        a tree of slots, revisions, images, ready pods, step and weight
  promote NAME [--full]     go past the current pause (--full: straight to 100%)
  abort NAME                stop the rollout; the stable revision serves everything
  retry NAME                roll out an aborted revision again from step 0
  undo NAME [--to-revision REV]
                            go back to the previous revision, or to a kept one (its number
                            or hash from history); held until the spec changes or a retry
  history NAME              the kept revisions: number, hash, image, created, and which is
                            stable, desired or aborted (needs list on controllerrevisions)
  pause NAME / resume NAME  hold the rollout where it is / let it go on
  restart NAME              restart the pods of the current revision
  set image NAME IMAGE      change spec.image (like kubectl set image)
  adopt deployment/NAME [--service S] [--hpa H] [--container C]
                            print a Microservice (YAML) that takes over the live Deployment,
                            its Service and HPA (spec.adopt); writes nothing. Exit 0 printed,
                            3 printed but stderr names what it cannot express, 2 refused
  eject NAME [--to deployment/NEW] [--timeout 5m]
                            hand the service back to a plain Deployment (NEW, default NAME)
                            from the stable revision, with no request dropped, delete the
                            Microservice and print what is left (YAML, for Git). Resumable:
                            run it again after an interruption. Exit 0 done, 2 refused
  status NAME... | -l SELECTOR [--until complete|paused|step=N] [--revision HASH]
         [--timeout 10m] [--watch=false] [-o json]
                            for CI: wait for the release and exit 0 done, 1 API or usage
                            error, 2 failed, 3 waiting for a person, 4 timed out while
                            progressing, 5 superseded by another revision, 6 progressing
                            (only with --watch=false); the worst of several wins

An action waits (up to COXSWAIN_ACTION_TIMEOUT_SECONDS, 30) for the operator's answer; one
still waiting for the operator is not overwritten by another.

Flags: -n, --namespace NS   -A, --all-namespaces (list)   --kubeconfig FILE   --context NAME
`;

const ACTION_COMMANDS = new Set(['promote', 'abort', 'retry', 'undo', 'pause', 'resume', 'restart']);
const FIELD_MANAGER = 'kubectl-coxswain';

class UserError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    // kubectl's spelling of a false boolean flag.
    args: argv.map((a) => (a === '--watch=false' ? '--no-watch' : a === '--watch=true' ? '--watch' : a)),
    allowPositionals: true,
    options: {
      namespace: { type: 'string', short: 'n' },
      'all-namespaces': { type: 'boolean', short: 'A' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      full: { type: 'boolean' },
      'to-revision': { type: 'string' },
      watch: { type: 'boolean', short: 'w' },
      selector: { type: 'string', short: 'l' },
      until: { type: 'string' },
      revision: { type: 'string' },
      timeout: { type: 'string' },
      output: { type: 'string', short: 'o' },
      service: { type: 'string' },
      hpa: { type: 'string' },
      container: { type: 'string' },
      to: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowNegative: true,
  });
  const [command, ...args] = positionals;
  if (!command || values.help) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const client = await KubeClient.fromEnvironment(values.kubeconfig, values.context, userAgent('kubectl-coxswain'));
  const kube = new Kube(client);
  const namespace = values.namespace ?? client.currentNamespace;
  try {
    if (command === 'list') {
      const path = resourcePath(MICROSERVICES, values['all-namespaces'] ? undefined : namespace);
      const list = await client.request<{ items: MicroserviceObject[] }>('GET', path);
      process.stdout.write(formatList(list.items, !!values['all-namespaces']));
      return 0;
    }
    if (command === 'adopt') {
      const { adoptCommand } = await import('../adopt/command.js');
      const out = await adoptCommand(client, args[0], {
        namespace, ...(values.service ? { service: values.service } : {}), ...(values.hpa ? { hpa: values.hpa } : {}), ...(values.container ? { container: values.container } : {}),
      });
      process.stdout.write(out.stdout);
      process.stderr.write(out.stderr);
      return out.code;
    }
    if (command === 'eject') {
      const { ejectCommand } = await import('../eject/command.js');
      const timeoutMs = values.timeout === undefined ? 300_000 : durationMs(values.timeout);
      if (!(timeoutMs > 0)) throw new UserError(`--timeout ${values.timeout}: a duration such as 90s or 10m`);
      const out = await ejectCommand(client, args[0], {
        namespace, timeoutMs, ...(values.to ? { to: values.to } : {}), log: (line) => process.stderr.write(`eject: ${line}\n`),
      });
      process.stdout.write(out.stdout);
      process.stderr.write(out.stderr);
      return out.code;
    }
    if (command === 'status') {
      const until = parseUntil(values.until);
      if (!until) throw new UserError(`--until ${values.until}: use complete, paused or step=N`);
      if (args.length === 0 && !values.selector) throw new UserError('status needs names of Microservices, or -l SELECTOR');
      if (values.output !== undefined && values.output !== 'json') throw new UserError(`-o ${values.output}: only json`);
      const timeoutMs = values.timeout === undefined ? 600_000 : durationMs(values.timeout);
      if (values.timeout !== undefined && !(timeoutMs > 0)) throw new UserError(`--timeout ${values.timeout}: a duration such as 90s or 10m`);
      return await status(client, {
        namespace: values['all-namespaces'] ? undefined : namespace, names: args, ...(values.selector ? { selector: values.selector } : {}),
        until, ...(values.revision ? { revision: values.revision } : {}), timeoutMs, watch: values.watch !== false, json: values.output === 'json',
        out: (line) => process.stdout.write(`${line}\n`),
      });
    }
    // `set image NAME IMAGE`: the Microservice's name comes after the word `image`.
    const isSet = command === 'set';
    if (isSet && (args[0] !== 'image' || args.length !== 3 || !args[1] || !args[2])) throw new UserError('usage: kubectl coxswain set image NAME IMAGE');
    const name = isSet ? args[1] : args[0];
    if (!name) throw new UserError(`${command} needs the name of a Microservice`);
    const get = async () => {
      const obj = await kube.get<MicroserviceObject>(MICROSERVICES, namespace, name);
      if (!obj) throw new UserError(`microservice ${name} not found in namespace ${namespace}`);
      return obj;
    };
    if (command === 'get') {
      if (!values.watch) {
        process.stdout.write(formatTree(await get()));
        return 0;
      }
      // A watch, not a poll: each version is drawn as it comes.
      for (;;) {
        const obj = await get();
        process.stdout.write(`\x1b[2J\x1b[H${formatTree(obj)}`);
        await watchFrom(client, resourcePath(MICROSERVICES, namespace), { fieldSelector: `metadata.name=${name}` }, obj.metadata.resourceVersion ?? '0', 3_600_000, (next: MicroserviceObject, deleted: boolean) => {
          process.stdout.write(deleted ? `microservice ${name} was deleted\n` : `\x1b[2J\x1b[H${formatTree(next)}`);
          return deleted;
        });
      }
    }
    if (isSet) {
      const image = args[2]!;
      await get();
      await client.request('PATCH', resourcePath(MICROSERVICES, namespace, name), {
        contentType: 'application/merge-patch+json',
        query: { fieldManager: FIELD_MANAGER },
        body: { spec: { image } },
      });
      process.stdout.write(`microservice ${name}: image set to ${image}\n`);
      return 0;
    }
    if (command === 'history') {
      const ms = await get();
      process.stdout.write(formatHistory(ms, await history(client, namespace, ms)));
      return 0;
    }
    const toRevision = values['to-revision'];
    if (toRevision !== undefined && command !== 'undo') throw new UserError('--to-revision goes with undo only');
    if (ACTION_COMMANDS.has(command)) {
      const request: ActionRequest = { action: command === 'promote' && values.full ? 'promote-full' : command };
      if (toRevision !== undefined) request.arg = await revisionToUndoTo(client, namespace, await get(), toRevision);
      return await act(client, namespace, name, request, get);
    }
    throw new UserError(`unknown command ${command}`);
  } catch (err) {
    if (err instanceof UserError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    client.close();
  }
}

/** The Microservice's kept revisions (ControllerRevisions), oldest first. */
async function history(client: KubeClient, namespace: string, ms: MicroserviceObject): Promise<KeptRevision[]> {
  try {
    const list = await client.request<{ items: KeptRevision[] }>('GET', resourcePath(CONTROLLERREVISIONS, namespace), {
      query: { labelSelector: selectorString(baseLabels(ms.metadata.name)) },
    });
    return keptRevisions(list.items, ms);
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) {
      throw new UserError(`reading the kept revisions of ${ms.metadata.name} needs list on controllerrevisions (apps) in namespace ${namespace}: ${err.message}`);
    }
    throw err;
  }
}

/** The hash of the kept revision `rev` (a number or a hash from history), for undo=<hash>. */
async function revisionToUndoTo(client: KubeClient, namespace: string, ms: MicroserviceObject, rev: string): Promise<string> {
  const name = ms.metadata.name;
  const found = findRevision(await history(client, namespace, ms), rev, name);
  if (!found) throw new UserError(`${name} has no kept revision ${rev}; kubectl coxswain history ${name} -n ${namespace} lists them`);
  return revisionHash(found, name);
}

/**
 * Sets the action annotation, unless one is still waiting for the operator, and waits for the
 * operator's answer in status.lastAction.
 */
async function act(client: KubeClient, namespace: string, name: string, request: ActionRequest, get: () => Promise<MicroserviceObject>): Promise<number> {
  const id = newRequestId(new Date(), randomBytes(3).toString('hex'));
  const value = formatAction({ ...request, id });
  const path = resourcePath(MICROSERVICES, namespace, name);
  let written: MicroserviceObject | undefined;
  for (let attempt = 1; !written; attempt++) {
    const obj = await get();
    const pending = pendingRequest(obj);
    if (pending) throw new UserError(pendingMessage(obj, pending, namespace));
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
  const timeout = Number(process.env.COXSWAIN_ACTION_TIMEOUT_SECONDS ?? 30);
  const answer = await waitForAnswer(client, namespace, written, value, id, Date.now() + timeout * 1000);
  if (answer.state === 'answered') {
    (answer.ok ? process.stdout : process.stderr).write(`${answerLine(name, answer.message)}\n`);
    return answer.ok ? 0 : 1;
  }
  if (answer.state === 'gone') throw new UserError(`${name}: ${answer.message}`);
  throw new UserError(`no answer from the operator yet; the ${request.action} request stays in the ${ANNOTATION_ACTION} annotation of ${name} until it runs`);
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

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`kubectl coxswain: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
