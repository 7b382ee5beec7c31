// Analysis on a real cluster against a real Prometheus (test/e2e/prometheus.ts): canary steps
// gated by metrics, background analysis, blue-green before and after promotion, no data, a
// Prometheus that is down, an operator killed mid-analysis, and a ClusterAnalysisTemplate shared
// by two namespaces. The exporter plays the application's metrics per revision (KWOK pods serve
// nothing), with the error rate each test sets; Prometheus scrapes it every second.
import { writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { resolve } from 'node:path';
import * as yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apply, condition, createNamespace, deleteNamespace, eventually, getJSON, installCRD, k, microservice, Operator, ROOT,
} from './harness.js';
import { ERROR_RATE, Exporter, P99_LATENCY, Prometheus, prometheusBinary } from './prometheus.js';

let ns: string;
let ns2: string;
let operator: Operator;
let exporter: Exporter;
let prometheus: Prometheus;

// Two namespaces, and the cluster-wide read of ClusterAnalysisTemplates that watching only some does not imply.
const startOperator = () => new Operator(['--namespaces', `${ns},${ns2}`, '--cluster-analysis-templates', '--prometheus-address', prometheus.address, '--prometheus-timeout', '2']).start();

beforeAll(async () => {
  const binary = prometheusBinary();
  await installCRD();
  ns = await createNamespace('e2e-analysis');
  ns2 = await createNamespace('e2e-analysis2');
  exporter = await new Exporter().start();
  prometheus = await new Prometheus(binary, `127.0.0.1:${exporter.port}`).start();
  operator = startOperator();
});
afterAll(async () => {
  await operator?.stop();
  await prometheus?.destroy();
  await exporter?.stop();
  await deleteNamespace(ns);
  await deleteNamespace(ns2);
  await k('delete', 'clusteranalysistemplate', '--all', '--wait=false').catch(() => undefined);
});

const errorRate = (over: Record<string, unknown> = {}) => ({ name: 'error-rate', interval: '1s', prometheus: { query: ERROR_RATE }, max: 0.05, ...over });
const latency = { name: 'p99-latency', interval: '1s', prometheus: { query: P99_LATENCY }, max: 0.5 };

function canary(image: string, steps: unknown[], over: Record<string, unknown> = {}, metrics: unknown[] = [errorRate()]) {
  return {
    image, replicas: 2, ports: [{ name: 'http', port: 8080 }],
    analysis: { metrics },
    strategy: { type: 'Canary', canary: { steps, maxSurge: 1, maxUnavailable: 0, ...over }, progressDeadlineSeconds: 120 },
  };
}

const get = (name: string, namespace = ns) => getJSON('microservice', '-n', namespace, name);

/** COXSWAIN_ARGOCD_FIXTURES=docs/argocd/testdata keeps an object as a fixture of the Argo CD health check (hack/tools/argocd). */
function capture(obj: any, fixture: string): void {
  const dir = process.env.COXSWAIN_ARGOCD_FIXTURES;
  if (!dir) return;
  delete obj.metadata.managedFields;
  writeFileSync(resolve(ROOT, dir, `${fixture}.yaml`), `# Captured by test/e2e/analysis.test.ts from the local cluster.\n${yaml.dump(obj, { noRefs: true, lineWidth: -1 })}`);
}

/** Applies the first revision, waits for it to be live, and starts its traffic. */
async function live(name: string, spec: Record<string, unknown>, namespace = ns, traffic: { errorRate?: number } = {}) {
  await apply(microservice(name, spec, namespace));
  const o = await eventually(`${name} live`, async () => {
    const x = await get(name, namespace);
    return x?.status?.phase === 'Healthy' && x.status.stableRevision ? x : undefined;
  });
  exporter.set(namespace, name, o.status.stableRevision, traffic);
  return o.status.stableRevision as string;
}

/** Applies a new revision and returns its hash once the operator has picked it up. */
async function rollOut(name: string, spec: Record<string, unknown>, namespace = ns): Promise<{ stable: string; candidate: string }> {
  const before = (await get(name, namespace)).status.stableRevision;
  await apply(microservice(name, spec, namespace));
  const candidate = await eventually(`${name}: the new revision picked up`, async () => {
    const x = await get(name, namespace);
    return x?.status?.desiredRevision && x.status.desiredRevision !== before ? x.status.desiredRevision as string : undefined;
  });
  return { stable: before, candidate };
}

const healthyOn = (name: string, revision: string, namespace = ns) => async () => {
  const x = await get(name, namespace);
  return x?.status?.phase === 'Healthy' && x.status.stableRevision === revision && condition(x, 'Ready')?.status === 'True' ? x : undefined;
};
const abortedWith = (name: string, reason: string, namespace = ns) => async () => {
  const x = await get(name, namespace);
  const s = condition(x, 'Stalled');
  return s?.status === 'True' && s.reason === reason ? x : undefined;
};
async function eventsOf(name: string, reason: string, namespace = ns): Promise<string[]> {
  const list = await getJSON('events', '-n', namespace, '--field-selector', `involvedObject.name=${name},reason=${reason}`);
  return list.items.map((e: { message: string }) => e.message);
}
async function slotSizes(name: string, namespace = ns): Promise<Record<string, { replicas: number; ready: number }>> {
  const list = await getJSON('deployments', '-n', namespace, '-l', `app.kubernetes.io/name=${name}`);
  return Object.fromEntries(list.items.map((d: any) => [d.metadata.labels['coxswain.dev/slot'], { replicas: d.spec.replicas, ready: d.status.readyReplicas ?? 0 }]));
}

describe('the analysis step', () => {
  it('a good candidate passes it and completes; the step takes its duration and little more', async () => {
    const steps = [{ setWeight: 50 }, { analysis: { metrics: ['error-rate', 'p99-latency'], duration: '5s' } }, { pause: {} }];
    await live('good', canary('registry.example/good:1', steps, {}, [errorRate(), latency]));
    const { candidate } = await rollOut('good', canary('registry.example/good:2', steps, {}, [errorRate(), latency]));
    exporter.set(ns, 'good', candidate, { errorRate: 0.01 });
    const held = await eventually('the analysis passed, the rollout at the pause after it', async () => {
      const x = await get('good');
      return x?.status?.rollout?.step === 2 && x.status.rollout.analysis?.step?.phase === 'Passed' ? x : undefined;
    }, 120_000);
    const run = held.status.rollout.analysis.step;
    expect(run.metrics.map((m: any) => [m.name, m.phase])).toEqual([['error-rate', 'Passed'], ['p99-latency', 'Passed']]);
    expect(Number(run.metrics[0].last.at(-1).value)).toBeLessThanOrEqual(0.05);
    // What the step added beyond its 5 s: from the run's start to the next step's.
    const extra = (Date.parse(held.status.rollout.stepStartedAt) - Date.parse(run.startedAt)) / 1000 - 5;
    console.log(`analysis step of 5s (interval 1s, 2 metrics): left after ${(extra + 5).toFixed(2)}s, ${extra.toFixed(2)}s beyond its duration`);
    expect(extra).toBeGreaterThanOrEqual(0);
    await k('annotate', '-n', ns, 'microservice/good', 'coxswain.dev/action=promote');
    await eventually('the canary to complete', healthyOn('good', candidate), 120_000);
  });

  it('a candidate above max is aborted: no Ready capacity lost, the stable slot whole again, Stalled AnalysisFailed naming metric, value and threshold, and an Event', async () => {
    const steps = [{ setWeight: 50 }, { analysis: { metrics: ['error-rate'], count: 3 } }];
    await live('bad', canary('registry.example/bad:1', steps));
    const stableSlot = (await get('bad')).status.activeSlot;
    const { candidate } = await rollOut('bad', canary('registry.example/bad:2', steps));
    exporter.set(ns, 'bad', candidate, { errorRate: 0.5 });
    const samples: Array<Record<string, { replicas: number; ready: number }>> = [];
    const aborted = await eventually('analysis to abort the rollout', async () => {
      samples.push(await slotSizes('bad'));
      return abortedWith('bad', 'AnalysisFailed')();
    }, 120_000);
    capture(aborted, 'degraded-analysis');
    const message = condition(aborted, 'Stalled')!.message;
    expect(message).toMatch(/metric error-rate failed: value 0\.\d+, threshold <= 0\.05/);
    expect(aborted.status.rollout.abortedRevision).toBe(candidate);
    expect(aborted.status.phase).toBe('Degraded');
    // maxUnavailable 0: Ready pods never below 2 (the stable slot gives a pod only as a candidate one is Ready), and the stable slot whole again.
    for (const s of samples) expect((s.blue?.ready ?? 0) + (s.green?.ready ?? 0), JSON.stringify(samples)).toBeGreaterThanOrEqual(2);
    await eventually('the stable slot at full size', async () => (await slotSizes('bad'))[stableSlot]?.ready === 2, 60_000);
    await eventually('an AnalysisFailed Event', async () => (await eventsOf('bad', 'AnalysisFailed')).some((m) => m.includes('error-rate') && m.includes('<= 0.05')), 30_000);
    await eventually('an AnalysisMeasurementFailed Event', async () => (await eventsOf('bad', 'AnalysisMeasurementFailed')).length > 0, 30_000);
    await eventually('the candidate scaled away', async () => ((await slotSizes('bad'))[aborted.status.rollout.candidateSlot ?? (stableSlot === 'blue' ? 'green' : 'blue')]?.replicas ?? 0) === 0, 60_000);
  });

  it('maxRatioToStable: the same error rate passes when the stable revision has it too, and fails when only the candidate has it', async () => {
    const ratio = errorRate({ max: 0.5, maxRatioToStable: 1.5 });
    const steps = [{ setWeight: 50 }, { analysis: { metrics: ['error-rate'], count: 3 } }];
    const stable = await live('ratio', canary('registry.example/ratio:1', steps, {}, [ratio]), ns, { errorRate: 0.2 });
    const first = await rollOut('ratio', canary('registry.example/ratio:2', steps, {}, [ratio]));
    expect(first.stable).toBe(stable);
    exporter.set(ns, 'ratio', first.candidate, { errorRate: 0.2 });
    const passed = await eventually('the same error rate as stable passes', healthyOn('ratio', first.candidate), 120_000);
    expect(passed.status.stableRevision).toBe(first.candidate);
    exporter.set(ns, 'ratio', first.candidate, { errorRate: 0 }); // the new stable is clean
    const second = await rollOut('ratio', canary('registry.example/ratio:3', steps, {}, [ratio]));
    exporter.set(ns, 'ratio', second.candidate, { errorRate: 0.2 });
    const aborted = await eventually('only the candidate erring fails', abortedWith('ratio', 'AnalysisFailed'), 120_000);
    // The new stable revision's rate still decays from its old 0.2 in Prometheus' 5 s window: the candidate is above 1.5x it all the same.
    expect(condition(aborted, 'Stalled')!.message).toMatch(/value 0\.\d+ \(stable 0(\.\d+)?\), threshold <= 0\.5, <= 1\.5x stable: .* > 1\.5x stable/);
  });

  it('no data: the step holds with a message saying so, then completes once data arrives', async () => {
    const steps = [{ setWeight: 50 }, { analysis: { metrics: ['error-rate'], count: 2 } }];
    await live('quiet', canary('registry.example/quiet:1', steps));
    const { candidate } = await rollOut('quiet', canary('registry.example/quiet:2', steps));
    const holding = await eventually('the step holding on no data', async () => {
      const x = await get('quiet');
      return x?.status?.rollout?.step === 1 && /no data; holding \(noData: Hold\)/.test(x.status.rollout.message ?? '') ? x : undefined;
    }, 120_000);
    capture(holding, 'progressing-analysis-hold');
    expect(holding.status.phase).toBe('Progressing');
    expect(condition(holding, 'Ready')!.message).toContain('no data');
    // It keeps holding: no data never passes.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await get('quiet')).status.rollout.step).toBe(1);
    exporter.set(ns, 'quiet', candidate, { errorRate: 0 });
    await eventually('the canary to complete once data arrives', healthyOn('quiet', candidate), 120_000);
  });
});

describe('background analysis', () => {
  it('aborts a canary during a pause step', async () => {
    const steps = [{ setWeight: 50 }, { pause: { duration: '10m' } }];
    await live('bg', canary('registry.example/bg:1', steps, { analysis: { metrics: ['error-rate'], startingStep: 1 } }));
    const { candidate } = await rollOut('bg', canary('registry.example/bg:2', steps, { analysis: { metrics: ['error-rate'], startingStep: 1 } }));
    exporter.set(ns, 'bg', candidate, { errorRate: 0 });
    await eventually('the pause step under background analysis', async () => {
      const x = await get('bg');
      return x?.status?.rollout?.step === 1 && (x.status.rollout.analysis?.background?.metrics?.[0]?.passed ?? 0) >= 1;
    }, 120_000);
    exporter.set(ns, 'bg', candidate, { errorRate: 0.6 });
    const aborted = await eventually('background analysis to abort', abortedWith('bg', 'AnalysisFailed'), 60_000);
    expect(condition(aborted, 'Stalled')!.message).toContain('background analysis failed');
  });
});

const bg = (image: string, blueGreen: Record<string, unknown>) => ({
  image, replicas: 2, ports: [{ name: 'http', port: 8080 }], analysis: { metrics: [errorRate()] },
  strategy: { type: 'BlueGreen', blueGreen: { autoPromotionSeconds: 0, scaleDownDelaySeconds: 30, ...blueGreen }, progressDeadlineSeconds: 120 },
});
const servedSlot = async (name: string) => (await getJSON('service', '-n', ns, name))?.spec?.selector?.['coxswain.dev/slot'];

describe('blue-green analysis', () => {

  it('a failed pre-promotion analysis never switches <name>', async () => {
    const spec = (image: string) => bg(image, { prePromotionAnalysis: { metrics: ['error-rate'], count: 2 } });
    await live('pre', spec('registry.example/pre:1'));
    const stableSlot = await servedSlot('pre');
    const { candidate } = await rollOut('pre', spec('registry.example/pre:2'));
    exporter.set(ns, 'pre', candidate, { errorRate: 0.5 });
    const seen = new Set<string>();
    await eventually('pre-promotion analysis to abort', async () => {
      seen.add(await servedSlot('pre'));
      return abortedWith('pre', 'AnalysisFailed')();
    }, 120_000);
    expect([...seen]).toEqual([stableSlot]);
    expect(condition(await get('pre'), 'Stalled')!.message).toContain('pre-promotion analysis failed');
  });

  it('a failed post-promotion analysis switches back to the previous slot', async () => {
    const spec = (image: string) => bg(image, { postPromotionAnalysis: { metrics: ['error-rate'], count: 10 } });
    await live('post', spec('registry.example/post:1'));
    const stableSlot = await servedSlot('post');
    const { candidate } = await rollOut('post', spec('registry.example/post:2'));
    exporter.set(ns, 'post', candidate, { errorRate: 0 });
    await eventually('<name> switched to the candidate under post-promotion analysis', async () => (await servedSlot('post')) !== stableSlot, 120_000);
    // Bad at once: the analysis passes its 10 measurements about 10 s after the switch, and the
    // reads below take a second or more each on a loaded machine. Whether the abort has come yet or
    // not, the candidate is not stable and the previous slot keeps its pods.
    exporter.set(ns, 'post', candidate, { errorRate: 0.5 });
    const during = await get('post');
    expect(during.status.stableRevision).not.toBe(candidate);
    expect((await slotSizes('post'))[stableSlot]?.replicas).toBe(2);
    const aborted = await eventually('post-promotion analysis to abort', abortedWith('post', 'AnalysisFailed'), 120_000);
    expect(condition(aborted, 'Stalled')!.message).toContain('post-promotion analysis failed');
    await eventually('<name> back on the previous slot', async () => (await servedSlot('post')) === stableSlot, 30_000);
  });
});

describe('pausing during analysis', () => {
  // Issue 16, defect 1: a pause during an analysis must not let a candidate that went bad meanwhile
  // pass on what was measured before it. The time paused outlasts the analysis' whole duration.
  // The pause must land inside that duration: the first pass comes a few seconds into the run (the
  // candidate's rate needs two scrapes), then a read, the annotation and the operator's answer, a
  // second or more each on a loaded machine. 12 s leaves room for that; 6 s left little.
  const DURATION_S = 12;
  const pauseOnce = async (name: string, run: string) => {
    await eventually(`${name}: one passing measurement in ${run}`, async () => {
      const x = await get(name);
      const a = x?.status?.rollout?.analysis?.step;
      return a?.id === run && (a.metrics[0]?.passed ?? 0) >= 1 ? x : undefined;
    }, 120_000, 100);
    await k('annotate', '--overwrite', '-n', ns, `microservice/${name}`, `coxswain.dev/action=pause:p${Date.now().toString(36)}`);
    const paused = await eventually(`${name} paused`, async () => {
      const x = await get(name);
      return x?.status?.rollout?.paused === true ? x : undefined;
    }, 30_000);
    console.log(`${name}: paused at most ${((Date.now() - Date.parse(paused.status.rollout.analysis.step.startedAt)) / 1000).toFixed(1)} s into its ${DURATION_S} s analysis`);
  };
  const resume = (name: string) => k('annotate', '--overwrite', '-n', ns, `microservice/${name}`, `coxswain.dev/action=resume:r${Date.now().toString(36)}`);

  it('a canary paused at an analysis step and resumed after its duration measures again, and aborts a candidate gone bad', async () => {
    const steps = [{ setWeight: 50 }, { analysis: { metrics: ['error-rate'], duration: `${DURATION_S}s` } }, { setWeight: 100 }];
    await live('held', canary('registry.example/held:1', steps));
    const { candidate } = await rollOut('held', canary('registry.example/held:2', steps));
    exporter.set(ns, 'held', candidate, { errorRate: 0.01 });
    await pauseOnce('held', 'step-1');
    exporter.set(ns, 'held', candidate, { errorRate: 0.5 });
    await new Promise((r) => setTimeout(r, (DURATION_S + 3) * 1000)); // longer than the whole duration
    expect((await get('held')).status.rollout.step).toBe(1);
    await resume('held');
    const aborted = await eventually('the analysis to abort the bad candidate', abortedWith('held', 'AnalysisFailed'), 120_000);
    expect(condition(aborted, 'Stalled')!.message).toContain('error-rate');
    expect((await eventsOf('held', 'AnalysisMeasurementFailed')).length).toBeGreaterThan(0);
  });

  it('blue-green paused under post-promotion analysis and resumed after its duration switches back, never making the bad revision stable', async () => {
    const spec = (image: string) => bg(image, { postPromotionAnalysis: { metrics: ['error-rate'], duration: `${DURATION_S}s` } });
    await live('heldbg', spec('registry.example/heldbg:1'));
    const stableSlot = await servedSlot('heldbg');
    const { candidate } = await rollOut('heldbg', spec('registry.example/heldbg:2'));
    exporter.set(ns, 'heldbg', candidate, { errorRate: 0 });
    await pauseOnce('heldbg', 'postPromotion');
    exporter.set(ns, 'heldbg', candidate, { errorRate: 0.5 });
    await new Promise((r) => setTimeout(r, (DURATION_S + 3) * 1000));
    await resume('heldbg');
    await eventually('post-promotion analysis to abort', abortedWith('heldbg', 'AnalysisFailed'), 120_000);
    expect((await get('heldbg')).status.stableRevision).not.toBe(candidate);
    await eventually('<name> back on the previous slot', async () => (await servedSlot('heldbg')) === stableSlot, 30_000);
  });
});

describe('resilience', () => {
  it('the operator killed in the middle of an analysis step resumes it from status: no measurement counted twice, none lost', async () => {
    const steps = [{ setWeight: 50 }, { analysis: { metrics: ['error-rate'], count: 6 } }, { pause: {} }];
    await live('resume', canary('registry.example/resume:1', steps));
    const { candidate } = await rollOut('resume', canary('registry.example/resume:2', steps));
    exporter.set(ns, 'resume', candidate, { errorRate: 0 });
    const mid = await eventually('two measurements counted', async () => {
      const x = await get('resume');
      const m = x?.status?.rollout?.analysis?.step?.metrics?.[0];
      return m && m.measurements >= 2 && m.measurements < 6 ? x : undefined;
    }, 120_000);
    await operator.stop('SIGKILL');
    const before = mid.status.rollout.analysis.step;
    operator = startOperator();
    const done = await eventually('the analysis to pass after the restart', async () => {
      const x = await get('resume');
      return x?.status?.rollout?.analysis?.step?.phase === 'Passed' ? x : undefined;
    }, 120_000);
    const run = done.status.rollout.analysis.step;
    expect(run.startedAt).toBe(before.startedAt);
    const m = run.metrics[0];
    // Each measurement counted once: the counts add up, every one is in the record, at its own time.
    expect(m.passed).toBe(6);
    expect(m.measurements).toBe(m.passed + m.failed + m.inconclusive + m.errors);
    expect(m.last.length).toBe(Math.min(10, m.measurements));
    const times = m.last.map((l: { at: string }) => l.at);
    expect([...times].sort()).toEqual(times);
    expect(new Set(times).size).toBe(times.length);
    expect(times.slice(0, before.metrics[0].last.length)).toEqual(before.metrics[0].last.map((l: { at: string }) => l.at));
  });

  it('Prometheus down: errors are retried and reported, and past consecutiveErrorLimit count as a failure', async () => {
    const steps = [{ setWeight: 50 }, { analysis: { metrics: ['error-rate'], count: 30 } }];
    const metric = errorRate({ interval: '2s', consecutiveErrorLimit: 3 });
    await live('down', canary('registry.example/down:1', steps, {}, [metric]));
    const { candidate } = await rollOut('down', canary('registry.example/down:2', steps, {}, [metric]));
    exporter.set(ns, 'down', candidate, { errorRate: 0 });
    await eventually('a measurement passed', async () => ((await get('down'))?.status?.rollout?.analysis?.step?.metrics?.[0]?.passed ?? 0) >= 1, 120_000);
    await prometheus.stop();
    try {
      const aborted = await eventually('errors past the limit to abort', abortedWith('down', 'AnalysisFailed'), 120_000);
      const m = aborted.status.rollout.analysis.step.metrics[0];
      expect(m.errors).toBe(3);
      expect(condition(aborted, 'Stalled')!.message).toMatch(/ECONNREFUSED.*3 errors in a row count as one failure/);
      const errors = await eventsOf('down', 'AnalysisError');
      expect(errors.length).toBeGreaterThanOrEqual(2);
      expect(errors[0]).toContain(prometheus.address);
    } finally {
      await prometheus.start();
    }
  });
});

describe('a Prometheus that never answers', () => {
  it('is cut off at --prometheus-timeout, reported, and past the limit a failure; meanwhile other reconciles go on', async () => {
    // Accepts connections and never answers: the worst kind of dead.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => { sockets.push(s); });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const address = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    try {
      const hung = errorRate({ prometheus: { query: ERROR_RATE, address }, consecutiveErrorLimit: 2 });
      const steps = [{ setWeight: 50 }, { analysis: { metrics: ['error-rate'] } }];
      await live('hung', canary('registry.example/hung:1', steps, {}, [hung]));
      await live('bystander', canary('registry.example/bystander:1', [{ setWeight: 50 }]));
      await rollOut('hung', canary('registry.example/hung:2', steps, {}, [hung]));
      const { candidate } = await rollOut('bystander', canary('registry.example/bystander:2', [{ setWeight: 50 }]));
      // The bystander's canary completes while the hung queries wait out their timeouts.
      await eventually('the bystander to complete meanwhile', healthyOn('bystander', candidate), 60_000);
      const aborted = await eventually('the timeouts to count as a failure', abortedWith('hung', 'AnalysisFailed'), 60_000);
      expect(condition(aborted, 'Stalled')!.message).toContain('timed out after 2s');
      expect(aborted.status.rollout.analysis.step.metrics[0].errors).toBe(2);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});

describe('templates', () => {
  it('a ClusterAnalysisTemplate serves two Microservices in two namespaces; a missing one is Stalled, never a pass', async () => {
    const steps = [{ setWeight: 50 }, { analysis: { metrics: ['shared-error-rate'], count: 2 } }];
    const spec = (image: string) => ({
      image, replicas: 2, ports: [{ name: 'http', port: 8080 }],
      analysis: { templateRefs: [{ name: 'e2e-http-golden', kind: 'ClusterAnalysisTemplate' }] },
      strategy: { type: 'Canary', canary: { steps, maxSurge: 1, maxUnavailable: 0 }, progressDeadlineSeconds: 120 },
    });
    await apply(microservice('orphan', spec('registry.example/orphan:1'), ns));
    const missing = await eventually('a missing template to stall', abortedWith('orphan', 'AnalysisTemplateNotFound'), 60_000);
    expect(condition(missing, 'Stalled')!.message).toContain('ClusterAnalysisTemplate e2e-http-golden not found');

    const r = await apply({
      apiVersion: 'coxswain.dev/v1alpha1', kind: 'ClusterAnalysisTemplate', metadata: { name: 'e2e-http-golden' },
      spec: { metrics: [{ ...errorRate(), name: 'shared-error-rate' }] },
    });
    expect(r.stderr).toBe('');
    const revs = await Promise.all([ns, ns2].map(async (n) => {
      const stable = await live('shared', spec('registry.example/shared:1'), n);
      const { candidate } = await rollOut('shared', spec('registry.example/shared:2'), n);
      exporter.set(n, 'shared', candidate, { errorRate: n === ns ? 0 : 0.5 });
      return { n, stable, candidate };
    }));
    await eventually(`the good one in ${ns} to complete`, healthyOn('shared', revs[0]!.candidate, ns), 120_000);
    const bad = await eventually(`the bad one in ${ns2} to abort`, abortedWith('shared', 'AnalysisFailed', ns2), 120_000);
    expect(condition(bad, 'Stalled')!.message).toContain('shared-error-rate');
    await eventually('the orphan no longer stalled once the template exists', async () => condition(await get('orphan'), 'Stalled')?.reason !== 'AnalysisTemplateNotFound', 60_000);
  });
});
