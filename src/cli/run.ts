// `coxswain run`: the operator process. Finds the cluster as kubectl does, runs until SIGTERM or
// SIGINT, then finishes the reconciles in flight and exits 0.
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { KubeClient } from '../kube/client.js';
import { DEFAULT_OPTIONS, Manager, type ManagerOptions } from '../controller/manager.js';
import { defaultIdentity, kubeLeases, LeaderElector } from '../controller/leader.js';
import { VERSION } from '../version.js';
import { loadNotificationsConfig } from '../notifications/config.js';
import { DEFAULT_PROMETHEUS_TIMEOUT_MS, type PrometheusOptions } from '../analysis/prometheus.js';

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

/**
 * The operator's Prometheus: the default address and what it takes to query it. Credentials are
 * files and flags of the operator's own Deployment (a mounted Secret, say), never a Secret the
 * operator would read from the API.
 */
function prometheusOptions(values: Record<string, string | string[] | boolean | undefined>, env: NodeJS.ProcessEnv): PrometheusOptions {
  const str = (flag: string, envName: string) => (values[flag] as string | undefined) ?? (env[envName] || undefined);
  const headers: Record<string, string> = {};
  const given = (values['prometheus-header'] as string[] | undefined) ?? (env.COXSWAIN_PROMETHEUS_HEADERS ?? '').split(',').filter(Boolean);
  for (const h of given) {
    const i = h.indexOf('=');
    if (i <= 0) throw new Error(`--prometheus-header must be NAME=VALUE, not ${JSON.stringify(h)}`);
    headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  }
  const username = str('prometheus-basic-auth-username', 'COXSWAIN_PROMETHEUS_BASIC_AUTH_USERNAME');
  const passwordFile = str('prometheus-basic-auth-password-file', 'COXSWAIN_PROMETHEUS_BASIC_AUTH_PASSWORD_FILE');
  if ((username === undefined) !== (passwordFile === undefined)) throw new Error('--prometheus-basic-auth-username and --prometheus-basic-auth-password-file go together');
  const bearerTokenFile = str('prometheus-bearer-token-file', 'COXSWAIN_PROMETHEUS_BEARER_TOKEN_FILE');
  if (bearerTokenFile && username) throw new Error('set a bearer token file or basic auth for Prometheus, not both');
  const address = str('prometheus-address', 'COXSWAIN_PROMETHEUS_ADDRESS');
  const caFile = str('prometheus-ca-file', 'COXSWAIN_PROMETHEUS_CA_FILE');
  return {
    timeoutMs: positiveInt('prometheus-timeout', str('prometheus-timeout', 'COXSWAIN_PROMETHEUS_TIMEOUT'), DEFAULT_PROMETHEUS_TIMEOUT_MS / 1000) * 1000,
    ...(address ? { address } : {}),
    ...(bearerTokenFile ? { bearerTokenFile } : {}),
    ...(username && passwordFile ? { basicAuth: { username, passwordFile } } : {}),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    ...(caFile ? { caFile } : {}),
  };
}

/** A true|false flag, true when unset. */
function trueOrFalse(flag: string, value = 'true'): boolean {
  if (!/^(true|false)$/.test(value)) throw new Error(`--${flag} must be true or false, not ${JSON.stringify(value)}`);
  return value === 'true';
}

/** Notifications, when a config file is named: the cluster name from the flag, else the file, else "kubernetes". */
function notificationOptions(file: string | undefined, clusterName: string | undefined): Pick<ManagerOptions, 'notifications'> {
  if (!file) return {};
  const config = loadNotificationsConfig(file);
  return { notifications: { config, cluster: clusterName || config.cluster || 'kubernetes' } };
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
      'metrics-secure': { type: 'string' },
      'metrics-listen': { type: 'string' },
      'metrics-cert-dir': { type: 'string' },
      resync: { type: 'string' },
      'log-level': { type: 'string' },
      'log-format': { type: 'string' },
      'leader-elect': { type: 'boolean' },
      'leader-election-namespace': { type: 'string' },
      'leader-election-id': { type: 'string' },
      'gateway-api': { type: 'string' },
      'pod-monitors': { type: 'string' },
      'prometheus-address': { type: 'string' },
      'prometheus-bearer-token-file': { type: 'string' },
      'prometheus-basic-auth-username': { type: 'string' },
      'prometheus-basic-auth-password-file': { type: 'string' },
      'prometheus-header': { type: 'string', multiple: true },
      'prometheus-ca-file': { type: 'string' },
      'prometheus-timeout': { type: 'string' },
      'cluster-analysis-templates': { type: 'boolean' },
      'track-secrets': { type: 'boolean' },
      'notifications-config': { type: 'string' },
      'cluster-name': { type: 'string' },
    },
  });
  const gatewayAPI = trueOrFalse('gateway-api', values['gateway-api'] ?? env.COXSWAIN_GATEWAY_API);
  const podMonitors = trueOrFalse('pod-monitors', values['pod-monitors'] ?? env.COXSWAIN_POD_MONITORS);
  const metricsSecure = trueOrFalse('metrics-secure', values['metrics-secure'] ?? env.COXSWAIN_METRICS_SECURE);
  const certDir = values['metrics-cert-dir'] ?? (env.COXSWAIN_METRICS_CERT_DIR || undefined);
  if (certDir && !metricsSecure) throw new Error('--metrics-cert-dir needs --metrics-secure=true: with --metrics-secure=false /metrics is plain HTTP on --listen');
  const namespaces = (values.namespaces ?? env.COXSWAIN_NAMESPACES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const manager: ManagerOptions = {
    ...DEFAULT_OPTIONS,
    namespaces,
    concurrency: positiveInt('concurrency', values.concurrency ?? env.COXSWAIN_CONCURRENCY, DEFAULT_OPTIONS.concurrency),
    resyncSeconds: positiveInt('resync', values.resync ?? env.COXSWAIN_RESYNC_SECONDS, DEFAULT_OPTIONS.resyncSeconds),
    listen: values.listen ?? env.COXSWAIN_LISTEN ?? DEFAULT_OPTIONS.listen,
    metrics: {
      secure: metricsSecure,
      listen: values['metrics-listen'] ?? env.COXSWAIN_METRICS_LISTEN ?? DEFAULT_OPTIONS.metrics.listen,
      ...(certDir ? { certDir } : {}),
    },
    gatewayAPI,
    podMonitors,
    prometheus: prometheusOptions(values, env),
    ...(values['cluster-analysis-templates'] ? { clusterAnalysisTemplates: true } : {}),
    ...(values['track-secrets'] || /^(1|true|yes)$/i.test(env.COXSWAIN_TRACK_SECRETS ?? '') ? { trackSecrets: true } : {}),
    ...notificationOptions(values['notifications-config'] ?? env.COXSWAIN_NOTIFICATIONS_CONFIG, values['cluster-name'] ?? env.COXSWAIN_CLUSTER_NAME),
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
