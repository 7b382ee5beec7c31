// `kubectl coxswain dashboard`: flags, then the watch and the server, until Ctrl-C.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { KubeClient } from '../kube/client.js';
import { userAgent } from '../version.js';
import { Live } from './live.js';
import { Dashboard } from './server.js';
import { bindProblem, isLoopback } from './security.js';

export const DASHBOARD_USAGE = `Usage: kubectl coxswain dashboard [--address 127.0.0.1] [--port 0] [-n NS]... [-A] [--read-only] [--open]

Serves a live page of the Microservices you may list, with the actions you may take, as the user
of your kubeconfig. It prints the URL to open: it holds a token made for this launch.

  --address IP      where to listen (127.0.0.1); another than loopback also needs --allow-remote
  --port N          0 (the default) lets the system choose
  -n, --namespace   the namespaces to show when you may not list Microservices cluster-wide
                    (repeat it; the kubeconfig's namespace by default); -A: all, or fail
  --read-only       no actions: the server has no route that changes anything
  --open            open the URL in a browser (xdg-open)
`;

export async function dashboard(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      address: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      'allow-remote': { type: 'boolean', default: false },
      namespace: { type: 'string', short: 'n', multiple: true },
      'all-namespaces': { type: 'boolean', short: 'A', default: false },
      'read-only': { type: 'boolean', default: false },
      open: { type: 'boolean', default: false },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(DASHBOARD_USAGE);
    return 0;
  }
  const problem = bindProblem(values.address, values['allow-remote']);
  if (problem) {
    process.stderr.write(`${problem}\n`);
    return 1;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port ${values.port}: a port number, or 0 for any\n`);
    return 1;
  }
  if (!isLoopback(values.address)) process.stderr.write(`warning: listening on ${values.address}, not loopback: whoever has the URL acts as you\n`);
  const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));
  const client = await KubeClient.fromEnvironment(values.kubeconfig, values.context, userAgent('kubectl-coxswain'));
  const live = new Live(client, log);
  await live.start(values.namespace ?? [], values['all-namespaces']);
  const server = new Dashboard(client, live, { address: values.address, port, readOnly: values['read-only'] }, log);
  const url = await server.listen();
  const scope = live.namespaces ? `namespaces ${live.namespaces.join(', ')}` : 'all namespaces';
  process.stdout.write(`Coxswain dashboard (${scope}${values['read-only'] ? ', read-only' : ''}): ${url}\nCtrl-C stops it.\n`);
  if (values.open) spawn('xdg-open', [url], { stdio: 'ignore', detached: true }).on('error', () => {}).unref();
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  await live.stop();
  client.close();
  return 0;
}
