// `coxswain run`: the operator process. Finds the cluster as kubectl does, runs until SIGTERM or
// SIGINT, then finishes the reconciles in flight and exits 0.
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { KubeClient } from '../kube/client.js';
import { DEFAULT_OPTIONS, Manager, type ManagerOptions } from '../controller/manager.js';

export function createLogger(level: string, format: string): Logger {
  const transport = format === 'pretty' ? { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss', ignore: 'pid,hostname' } } : undefined;
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
    },
  });
  const namespaces = (values.namespaces ?? env.COXSWAIN_NAMESPACES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const manager: ManagerOptions = {
    ...DEFAULT_OPTIONS,
    namespaces,
    concurrency: positiveInt('concurrency', values.concurrency ?? env.COXSWAIN_CONCURRENCY, DEFAULT_OPTIONS.concurrency),
    resyncSeconds: positiveInt('resync', values.resync ?? env.COXSWAIN_RESYNC_SECONDS, DEFAULT_OPTIONS.resyncSeconds),
    listen: values.listen ?? env.COXSWAIN_LISTEN ?? DEFAULT_OPTIONS.listen,
  };
  return {
    manager,
    kubeconfig: values.kubeconfig,
    context: values.context,
    logLevel: values['log-level'] ?? env.LOG_LEVEL ?? 'info',
    logFormat: values['log-format'] ?? env.LOG_FORMAT ?? 'json',
  };
}

export async function runOperator(args: string[]): Promise<number> {
  const opts = parseRunOptions(args, process.env);
  const log = createLogger(opts.logLevel, opts.logFormat);
  const client = await KubeClient.fromEnvironment(opts.kubeconfig, opts.context);
  const manager = new Manager(client, opts.manager, log);
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down: finishing reconciles in flight');
      void manager.stop().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await manager.start();
  await stopped;
  log.info('stopped');
  return 0;
}
