#!/usr/bin/env node
// kubectl-coxswain: `kubectl coxswain <command>`. Reads Microservices, and asks the operator for
// actions through the coxswain.dev/action annotation (which it carries out once and clears), so
// nothing a user keeps in Git changes. Only `set image` edits the spec, as kubectl set image does.
import './node-check.js';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { MicroserviceObject } from '../api/schema.js';
import { KubeClient } from '../kube/client.js';
import { Kube, MICROSERVICES, resourcePath } from '../kube/resources.js';
import { ANNOTATION_ACTION } from '../api/names.js';
import { formatList, formatTree } from './show.js';
import { userAgent } from '../version.js';

const USAGE = `Usage: kubectl coxswain <command> [NAME] [flags]

Commands:
  list                      Microservices with strategy, phase, step and weight
  get NAME [--watch]        a tree of slots, revisions, images, ready pods, step and weight
  promote NAME [--full]     go past the current pause (--full: straight to 100%)
  abort NAME                stop the rollout; the stable revision serves everything
  retry NAME                roll out an aborted revision again from step 0
  undo NAME                 go back to the previous revision (held until the spec changes)
  pause NAME / resume NAME  hold the rollout where it is / let it go on
  restart NAME              restart the pods of the current revision
  set image NAME IMAGE      change spec.image (like kubectl set image)

Flags: -n, --namespace NS   -A, --all-namespaces (list)   --kubeconfig FILE   --context NAME
`;

const ACTION_COMMANDS = new Set(['promote', 'abort', 'retry', 'undo', 'pause', 'resume', 'restart']);

class UserError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      namespace: { type: 'string', short: 'n' },
      'all-namespaces': { type: 'boolean', short: 'A' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      full: { type: 'boolean' },
      watch: { type: 'boolean', short: 'w' },
      help: { type: 'boolean', short: 'h' },
    },
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
    const name = args[0];
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
      for (;;) {
        process.stdout.write(`\x1b[2J\x1b[H${formatTree(await get())}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    if (command === 'set') {
      const [what, target, image] = args;
      if (what !== 'image' || !target || !image) throw new UserError('usage: kubectl coxswain set image NAME IMAGE');
      await get();
      await client.request('PATCH', resourcePath(MICROSERVICES, namespace, target), {
        contentType: 'application/merge-patch+json',
        query: { fieldManager: 'kubectl-coxswain' },
        body: { spec: { image } },
      });
      process.stdout.write(`microservice ${target}: image set to ${image}\n`);
      return 0;
    }
    if (ACTION_COMMANDS.has(command)) return await act(client, namespace, name, command === 'promote' && values.full ? 'promote-full' : command, get);
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

/** Sets the action annotation and waits for the operator's answer in status.lastAction. */
async function act(client: KubeClient, namespace: string, name: string, action: string, get: () => Promise<MicroserviceObject>): Promise<number> {
  await get();
  const id = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  await client.request('PATCH', resourcePath(MICROSERVICES, namespace, name), {
    contentType: 'application/merge-patch+json',
    query: { fieldManager: 'kubectl-coxswain' },
    body: { metadata: { annotations: { [ANNOTATION_ACTION]: `${action}:${id}` } } },
  });
  const deadline = Date.now() + Number(process.env.COXSWAIN_ACTION_TIMEOUT_SECONDS ?? 30) * 1000;
  while (Date.now() < deadline) {
    const answer = (await get()).status?.lastAction;
    if (answer?.id === id) {
      (answer.ok ? process.stdout : process.stderr).write(`${name}: ${answer.message}\n`);
      return answer.ok ? 0 : 1;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new UserError(`no answer from the operator yet; the ${action} request stays in the ${ANNOTATION_ACTION} annotation of ${name} until it runs`);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`kubectl coxswain: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
