#!/usr/bin/env node
// kubectl-coxswain: `kubectl coxswain <command>`. Reads Microservices, and asks the operator for
// actions through the coxswain.dev/action annotation (which it carries out once and clears), so
// nothing a user keeps in Git changes. Only `set image` edits the spec, as kubectl set image does.
import './node-check.js';
import { parseArgs } from 'node:util';
import type { MicroserviceObject } from '../api/schema.js';
import { ApiError, KubeClient } from '../kube/client.js';
import { Kube, MICROSERVICES, resourcePath } from '../kube/resources.js';
import { ANNOTATION_ACTION, type ActionRequest } from '../api/names.js';
import { findRevision, formatHistory, formatList, formatTree, revisionHash, type KeptRevision } from './show.js';
import { answerLine } from './request.js';
import { FIELD_MANAGER, listKeptRevisions, sendAction } from './actions.js';
import { userAgent } from '../version.js';
import { status, watchFrom } from './status.js';
import { parseUntil } from './verdict.js';
import { durationMs } from '../rollout/weights.js';
import { dashboard } from '../dashboard/command.js';

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
  dashboard [--read-only]   a live web page of every Microservice you may see, with the
                            actions you may take (dashboard --help for its flags)
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

class UserError extends Error {}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'dashboard') return dashboard(argv.slice(1));
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
      await get();
      const timeout = Number(process.env.COXSWAIN_ACTION_TIMEOUT_SECONDS ?? 30);
      const result = await sendAction(client, namespace, name, request, timeout * 1000);
      if (result.state === 'answered') {
        (result.ok ? process.stdout : process.stderr).write(`${answerLine(name, result.message)}\n`);
        return result.ok ? 0 : 1;
      }
      if (result.state === 'waiting') throw new UserError(`no answer from the operator yet; the ${request.action} request stays in the ${ANNOTATION_ACTION} annotation of ${name} until it runs`);
      throw new UserError(result.state === 'pending' ? result.message : `${name}: ${result.message}`);
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
    return await listKeptRevisions(client, namespace, ms);
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

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`kubectl coxswain: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
