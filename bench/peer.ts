// The two controllers `make bench-peers` compares, behind one shape: how to write an object of
// each, when it is done, paused or aborted, how to ask it to promote, and how to start and stop it.
import { spawn, type ChildProcess } from 'node:child_process';
import { MICROSERVICES, resourcePath, type Resource } from '../src/kube/resources.js';
import type { KubeObject } from '../src/kube/object.js';
import type { KubeClient } from '../src/kube/client.js';
import { sendAction } from '../src/cli/actions.js';
import { KUBECONFIG, logLines } from '../test/e2e/harness.js';
import { BenchOperator } from './lib.js';

export const ROLLOUTS: Resource = { group: 'argoproj.io', version: 'v1alpha1', plural: 'rollouts', kind: 'Rollout' };

/** A canary step, as both APIs spell it. */
export type Step = { setWeight: number } | { pause: Record<string, never> };
export const STEPS: Step[] = [{ setWeight: 25 }, { setWeight: 50 }, { setWeight: 75 }, { setWeight: 100 }];
/** Paused indefinitely at 25% (step index 1) until promoted, then on to 100%. */
export const PAUSED_STEPS: Step[] = [{ setWeight: 25 }, { pause: {} }, { setWeight: 50 }, { setWeight: 75 }, { setWeight: 100 }];

/**
 * Argo Rollouts sees a crash-looping candidate only through its progress deadline (it reads
 * ReplicaSets, not pods); with progressDeadlineAbort it aborts when the deadline passes without
 * progress. Its fastest honest setting is the smallest deadline at which a healthy canary on this
 * cluster never aborts: every Rollout in the benchmark carries it, the healthy ones included, and
 * the benchmark stops if one of those aborts. 2 s aborted a healthy canary here at a load average
 * of 8.5 (2026-12-06); 5 s has not.
 */
export const ARGO_DEADLINE_SECONDS = Number(process.env.BENCH_ARGO_DEADLINE ?? 5);

export interface ObjectOptions { steps?: Step[]; podLabels?: Record<string, string> }

/** One controller under test. */
export interface Peer {
  name: string;
  userAgent: string;
  namespace: string;
  resource: Resource;
  object(name: string, image: string, replicas: number, opts?: ObjectOptions): KubeObject;
  done(obj: KubeObject | undefined, image: string): boolean;
  /** Held at the indefinite pause at step `step`. */
  pausedAt(obj: KubeObject | undefined, step: number): boolean;
  /** It has given up on its candidate. */
  aborted(obj: KubeObject | undefined): boolean;
  /** The request its plugin sends for `promote` at a pause. */
  promote(client: KubeClient, name: string): Promise<void>;
  start(): void;
  stop(): Promise<void>;
  pid(): number;
  /** How many distinct objects it has reconciled since it started. */
  reconciled(): number;
}

type CoxswainStatus = {
  phase?: string; activeSlot?: string; slots?: Record<string, { image?: string }>;
  conditions?: Array<{ type: string; status: string }>; rollout?: { step?: number; abortedRevision?: string };
};

/** Coxswain as built in this checkout, or (`appDir`) in another one, named `name`. */
export function coxswain(namespace: string, name = 'Coxswain', appDir?: string): Peer {
  let proc = new BenchOperator();
  const status = (o: KubeObject | undefined) => o?.status as CoxswainStatus | undefined;
  return {
    name, userAgent: 'coxswain/', namespace, resource: MICROSERVICES,
    object: (name, image, replicas, opts = {}) => ({
      apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', metadata: { name, namespace },
      spec: {
        image, replicas, ports: [{ name: 'http', port: 8080 }],
        ...(opts.podLabels ? { pod: { labels: opts.podLabels } } : {}),
        strategy: { type: 'Canary', canary: { steps: opts.steps ?? STEPS, maxSurge: '25%', maxUnavailable: 0 } },
      },
    }),
    done: (o, image) => {
      const st = status(o);
      return st?.phase === 'Healthy' && st.slots?.[st.activeSlot ?? '']?.image === image && !!st.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    },
    pausedAt: (o, step) => status(o)?.phase === 'Paused' && status(o)?.rollout?.step === step,
    aborted: (o) => !!status(o)?.rollout?.abortedRevision,
    // What `kubectl coxswain promote` sends, by the plugin's own code (its answer is not waited for).
    promote: async (client, name) => { await sendAction(client, namespace, name, { action: 'promote' }, 0); },
    start: () => { proc = new BenchOperator().start(namespace, appDir); },
    stop: () => proc.stop(),
    pid: () => proc.pid!,
    reconciled: () => new Set(proc.reconciles().map((l) => l.key)).size,
  };
}

type ArgoStatus = {
  phase?: string; stableRS?: string; currentPodHash?: string; observedGeneration?: string;
  currentStepIndex?: number; pauseConditions?: unknown[]; abort?: boolean;
};

export function argoRollouts(namespace: string, binary: string): Peer {
  let child: ChildProcess | undefined;
  let output = '';
  const status = (o: KubeObject | undefined) => o?.status as ArgoStatus | undefined;
  return {
    name: 'Argo Rollouts', userAgent: 'rollouts-controller/', namespace, resource: ROLLOUTS,
    object: (name, image, replicas, opts = {}) => ({
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name, namespace },
      spec: {
        replicas, selector: { matchLabels: { app: name } },
        progressDeadlineSeconds: ARGO_DEADLINE_SECONDS, progressDeadlineAbort: true,
        template: {
          metadata: { labels: { app: name, ...opts.podLabels } },
          spec: { containers: [{ name: 'app', image, ports: [{ name: 'http', containerPort: 8080 }] }] },
        },
        strategy: { canary: { steps: opts.steps ?? STEPS, maxSurge: '25%', maxUnavailable: 0 } },
      },
    }),
    done: (o, image) => {
      const st = status(o);
      const spec = o?.spec as { template?: { spec?: { containers?: Array<{ image?: string }> } } } | undefined;
      return st?.phase === 'Healthy' && !!st.stableRS && st.stableRS === st.currentPodHash
        && String(st.observedGeneration) === String(o?.metadata.generation) && spec?.template?.spec?.containers?.[0]?.image === image;
    },
    pausedAt: (o, step) => (status(o)?.pauseConditions?.length ?? 0) > 0 && status(o)?.currentStepIndex === step,
    aborted: (o) => !!status(o)?.abort,
    // What `kubectl argo rollouts promote` sends at a pause (its promote.go): the pause conditions
    // cleared, by a merge patch of the status subresource.
    promote: async (client, name) => {
      await client.request('PATCH', `${resourcePath(ROLLOUTS, namespace, name)}/status`, {
        contentType: 'application/merge-patch+json', body: { status: { pauseConditions: null } },
      });
    },
    start: () => {
      output = '';
      child = spawn(binary, ['--namespaced', '--namespace', namespace, '--leader-elect=false', '--kubeconfig', KUBECONFIG,
        '--metricsPort', process.env.BENCH_ARGO_METRICS_PORT ?? '18090', '--healthzPort', process.env.BENCH_ARGO_HEALTHZ_PORT ?? '18080',
        '--logformat', 'json', '--loglevel', 'info'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POD_NAMESPACE: namespace } });
      child.stdout?.on('data', (d) => (output += d));
      child.stderr?.on('data', (d) => (output += d));
    },
    stop: async () => {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((r) => child!.once('close', r));
      child.kill('SIGTERM');
      await exited;
    },
    pid: () => child!.pid!,
    reconciled: () => new Set(logLines(output).filter((l) => l.msg === 'Reconciliation completed').map((l) => l.rollout)).size,
  };
}
