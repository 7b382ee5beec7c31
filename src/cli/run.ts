// `coxswain run`: the operator process. Finds the cluster as kubectl does, runs until SIGTERM or
// SIGINT, then finishes the reconciles in flight and exits 0.
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { KubeClient } from '../kube/client.js';
import { DEFAULT_OPTIONS, Manager, type ManagerOptions } from '../controller/manager.js';
import { defaultIdentity, kubeLeases, LeaderElector } from '../controller/leader.js';
import { VERSION } from '../version.js';

export function createLogger(level: string, format: string): Logger {
  const transport = format === 'pretty' ? { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss', ignore: 'pid,hostname,component', singleLine: true } } : undefined;
  return pino({ level, base: { component: 'coxswain' }, transport });
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number, not ${JSON.stringify(value)}`);
  return n;
}

export function parseRunOptions(args: string[], env: NodeJS.ProcessEnv) {
  const { values } = parseArgs({
    args,
    options: {
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      namespaces: { type: 'string' },
      concurrency: { type: 'string' },
      listen: { type: 'string' },
      resync: { type: 'string' },
      'log-level': { type: 'string' },
      'log-format': { type: 'string' },
      'leader-elect': { type: 'boolean' },
      'leader-election-namespace': { type: 'string' },
      'leader-election-id': { type: 'string' },
      'gateway-api': { type: 'string' },
    },
  });
  const gatewayAPI = values['gateway-api'] ?? env.COXSWAIN_GATEWAY_API ?? 'true';
  if (!/^(true|false)$/.test(gatewayAPI)) throw new Error(`--gateway-api must be true or false, not ${JSON.stringify(gatewayAPI)}`);
  const namespaces = (values.namespaces ?? env.COXSWAIN_NAMESPACES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const manager: ManagerOptions = {
    ...DEFAULT_OPTIONS,
    namespaces,
    concurrency: positiveInt('concurrency', values.concurrency ?? env.COXSWAIN_CONCURRENCY, DEFAULT_OPTIONS.concurrency),
    resyncSeconds: positiveInt('resync', values.resync ?? env.COXSWAIN_RESYNC_SECONDS, DEFAULT_OPTIONS.resyncSeconds),
    listen: values.listen ?? env.COXSWAIN_LISTEN ?? DEFAULT_OPTIONS.listen,
    gatewayAPI: gatewayAPI === 'true',
  };
  return {
    manager,
    kubeconfig: values.kubeconfig,
    context: values.context,
    logLevel: values['log-level'] ?? env.LOG_LEVEL ?? 'info',
    logFormat: values['log-format'] ?? env.LOG_FORMAT ?? 'json',
    leaderElect: values['leader-elect'] ?? /^(1|true|yes)$/i.test(env.COXSWAIN_LEADER_ELECT ?? ''),
    /** Lease namespace: the flag, else POD_NAMESPACE (the downward API), else the kubeconfig's namespace. */
    leaderElectionNamespace: values['leader-election-namespace'] ?? env.POD_NAMESPACE,
    leaderElectionId: values['leader-election-id'] ?? env.COXSWAIN_LEADER_ELECTION_ID ?? 'coxswain-leader',
  };
}

export async function runOperator(args: string[]): Promise<number> {
  const opts = parseRunOptions(args, process.env);
  const log = createLogger(opts.logLevel, opts.logFormat);
  log.info({ version: VERSION, node: process.versions.node }, 'starting');
  const client = await KubeClient.fromEnvironment(opts.kubeconfig, opts.context);
  const manager = new Manager(client, opts.manager, log);
  const elector = opts.leaderElect
    ? new LeaderElector(kubeLeases(client, opts.leaderElectionNamespace || client.currentNamespace, opts.leaderElectionId), defaultIdentity(), log)
    : undefined;
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down: finishing reconciles in flight');
      // Keep renewing until nothing is in flight, then release, so the next leader never overlaps with us.
      void manager.stop().then(() => elector?.release()).then(() => resolve());
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  // A leader that loses its Lease exits at once, as controller-runtime's do: another replica may
  // already be reconciling, and Kubernetes restarts this one as a fresh candidate.
  const elected = elector?.campaign(() => process.exit(1));
  await manager.start(elected);
  await stopped;
  log.info('stopped');
  return 0;
}
