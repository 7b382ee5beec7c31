// Notifications on the real API server, from two operators with leader election, configured as the
// chart configures them (its rendered config file, its RBAC), to receivers on 127.0.0.1: one that
// answers 204 (CloudEvents, signed), one that answers 500 (Slack), one that never answers (Teams).
// The receivers are the test's own: no real Slack or Teams can be reached here, and the point is
// what the operator sends and how it copes with a receiver that fails or hangs.
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNotificationsConfig } from '../../src/notifications/config.js';
import { apply, condition, createNamespace, deleteNamespace, eventually, getJSON, installCRD, kubectl, kubectlCoxswain, microservice } from './harness.js';
import { CHART, helm, helm3, installChartRBAC, parseManifests, RunningOperator, sample, serviceAccountKubeconfig, suffix, template } from './production-harness.js';

/** The hanging receiver holds each request this long before the operator gives up on it. */
const HANG_TIMEOUT_S = 60;
const KEY = 'e2e-signing-key';

interface CloudEvent { id: string; type: string; source: string; specversion: string; data: Record<string, unknown> & { revision: string; reason: string; cluster: string } }
interface Receiver { url: string; requests: { body: string; signature?: string }[]; server: Server }

async function receiver(answer: number | undefined): Promise<Receiver> {
  const requests: Receiver['requests'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers['x-coxswain-signature-256'] as string | undefined });
      if (answer !== undefined) res.writeHead(answer).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/secret-token`, requests, server };
}

let ns: string;
let good: Receiver;
let broken: Receiver;
let hanging: Receiver;
let configFile: string;
let values: Record<string, unknown>;
const kubeconfigs: string[] = [];
const operators: RunningOperator[] = [];
const cleanups: (() => Promise<void>)[] = [];

const events = () => good.requests.map((r) => JSON.parse(r.body) as CloudEvent);
const eventsOf = (revision: string) => events().filter((e) => e.data.revision === revision).map((e) => e.type.replace('dev.coxswain.rollout.', ''));
const ms = (name: string) => getJSON('microservice', '-n', ns, name);
const canary = (image: string, extra: Record<string, unknown> = {}) => ({
  image, replicas: 2, ports: [{ port: 8080 }],
  strategy: { type: 'Canary', canary: { steps: [{ setWeight: 50 }, { pause: {} }], maxSurge: 1, maxUnavailable: 0 }, progressDeadlineSeconds: 30 },
  ...extra,
});
const live = (name: string, image: string) => async () => {
  const o = await ms(name);
  return o?.status?.phase === 'Healthy' && o.status.observedGeneration === o.metadata.generation && o.status.slots?.[o.status.activeSlot]?.image === image ? o : undefined;
};
const start = async (i: number) => {
  const op = await new RunningOperator({ kubeconfig: kubeconfigs[i], args: ['--namespaces', ns, '--leader-elect', '--leader-election-namespace', ns, '--notifications-config', configFile, '--cluster-name', 'e2e'] }).start();
  operators.push(op);
  return op;
};
const holder = async () => (await getJSON('lease', '-n', ns, 'coxswain-leader'))?.spec?.holderIdentity as string | undefined;
const metric = async (op: RunningOperator, target: string, result: string) => sample((await op.get('/metrics')).body, `coxswain_notifications_total{target="${target}",result="${result}"}`) ?? 0;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-notify');
  [good, broken, hanging] = await Promise.all([receiver(204), receiver(500), receiver(undefined)]);
  // The chart's own config file and RBAC, with its mount directory moved to a temporary one.
  values = {
    watchNamespaces: [ns],
    notifications: {
      timeoutSeconds: HANG_TIMEOUT_S, retries: 2,
      targets: [
        { name: 'good', format: 'cloudevents', urlSecret: { name: 'good', key: 'url' }, signingSecret: { name: 'good', key: 'key' } },
        { name: 'broken', format: 'slack', urlSecret: { name: 'broken', key: 'url' }, events: ['started'] },
        { name: 'hanging', format: 'teams', urlSecret: { name: 'hanging', key: 'url' } },
      ],
    },
  };
  const release = `notify-${suffix()}`;
  const cm = parseManifests(await template(release, ns, values)).find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-notifications'))!;
  const dir = mkdtempSync(join(tmpdir(), 'cx-e2e-notify-'));
  for (const [name, r] of [['good', good], ['broken', broken], ['hanging', hanging]] as const) {
    mkdirSync(join(dir, 'targets', name), { recursive: true });
    writeFileSync(join(dir, 'targets', name, 'url'), r.url);
  }
  writeFileSync(join(dir, 'targets', 'good', 'signing-key'), KEY);
  configFile = join(dir, 'config.json');
  writeFileSync(configFile, ((cm.data as Record<string, string>)['config.json'] ?? '').replaceAll('/etc/coxswain/notifications', dir));
  for (const who of ['a', 'b']) {
    const rbac = await installChartRBAC(`${release}-${who}`, ns, values);
    cleanups.push(rbac.cleanup);
    kubeconfigs.push(await serviceAccountKubeconfig(ns, rbac.sa));
  }
});
afterAll(async () => {
  for (const op of operators) await op.stop('SIGKILL');
  for (const r of [good, broken, hanging]) { r?.server.closeAllConnections(); r?.server.close(); }
  for (const c of cleanups) await c();
  await deleteNamespace(ns);
});

describe('notifications', () => {
  let a: RunningOperator;
  let b: RunningOperator;

  it('tells each transition of a canary once, across the leader being killed mid-rollout, while a receiver hangs', async () => {
    a = await start(0);
    await eventually('a to hold the Lease', async () => !!a.identity && (await holder()) === a.identity, 60_000);
    b = await start(1);
    await eventually('both ready', async () => (await a.get('/readyz')).status === 200 && (await b.get('/readyz')).status === 200, 60_000);

    await apply(microservice('web', canary('registry.example/web:1'), ns));
    const first = await eventually('web:1 live', live('web', 'registry.example/web:1'), 120_000);
    await eventually('its first revision told', async () => eventsOf(first.status.desiredRevision).includes('completed'), 30_000);

    // The baseline: the same canary for a Microservice that opted out, so nothing is queued for it.
    const quiet = (image: string) => ({ ...microservice('quiet', canary(image), ns), metadata: { name: 'quiet', namespace: ns, annotations: { 'coxswain.dev/notifications': 'false' } } });
    await apply(quiet('registry.example/quiet:1'));
    await eventually('quiet:1 live', live('quiet', 'registry.example/quiet:1'), 120_000);
    const toPauseOf = async (name: string, image: string, from: string) => {
      const began = Date.now();
      await apply(name === 'quiet' ? quiet(image) : microservice(name, canary(image), ns));
      const o = await eventually(`${image} paused for promotion`, async () => {
        const x = await ms(name);
        return x?.status?.phase === 'Paused' && x.status.desiredRevision !== from ? x : undefined;
      }, 120_000);
      return { seconds: (Date.now() - began) / 1000, o };
    };
    const baseline = await toPauseOf('quiet', 'registry.example/quiet:2', (await ms('quiet')).status.desiredRevision);
    const { seconds: toPause, o: paused } = await toPauseOf('web', 'registry.example/web:2', first.status.desiredRevision);
    const rev = paused.status.desiredRevision as string;
    await eventually('started, step and pause told', async () => eventsOf(rev).includes('paused'), 30_000);
    // The Teams receiver holds the first message of this rollout all this while (a 60 s timeout),
    // with the rest queued behind it: had a send been on the reconcile path, the rollout would
    // have waited a minute for each one.
    expect(hanging.requests.length).toBeGreaterThan(0);
    expect(toPause, `apply -> paused took ${toPause}s`).toBeLessThan(HANG_TIMEOUT_S / 2);
    expect(toPause, `apply -> paused took ${toPause}s, ${baseline.seconds}s with nothing to tell`).toBeLessThan(baseline.seconds + 10);
    console.log(`apply -> paused for promotion: ${toPause.toFixed(1)} s with the Teams receiver hanging, ${baseline.seconds.toFixed(1)} s opted out`);
    expect(events().filter((e) => e.data.name === 'quiet')).toEqual([]);

    // The leader dies mid-rollout; the standby takes over and goes on from the status it reads.
    expect(b.lines().filter((l) => l.msg === 'notification sent')).toEqual([]);
    await a.stop('SIGKILL');
    const mark = good.requests.length;
    const promoted = await kubectlCoxswain(ns, ['promote', 'web']);
    expect(promoted.code, promoted.stderr).toBe(0);
    await eventually('web:2 live, promoted by the new leader', live('web', 'registry.example/web:2'), 120_000);
    await eventually('completed told', async () => eventsOf(rev).includes('completed'), 30_000);
    expect(eventsOf(rev)).toEqual(['started', 'stepReached', 'paused', 'promoted', 'completed']);
    // The new leader told only what happened after it took over: nothing its predecessor had told.
    expect(good.requests.slice(mark).map((r) => JSON.parse(r.body).type)).not.toContain('dev.coxswain.rollout.started');
    // b logs a send once the receiver has answered it, and the line comes through a pipe: the
    // receiver may hold the last event (which ended the wait above) before b's line for it arrives.
    const sentByB = () => b.lines().filter((l) => l.msg === 'notification sent' && l.target === 'good').length;
    await eventually('b to log each event it sent', async () => sentByB() >= events().length - mark, 10_000, 100).catch(() => undefined);
    expect(sentByB()).toBe(events().length - mark);
    const ids = events().map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);

    for (const r of good.requests) {
      expect(r.signature).toBe(`sha256=${createHmac('sha256', KEY).update(r.body).digest('hex')}`);
      const e = JSON.parse(r.body) as CloudEvent;
      expect(e).toMatchObject({ specversion: '1.0', source: `coxswain/e2e/namespaces/${ns}/microservices/web` });
      expect(e.data).toMatchObject({ cluster: 'e2e', namespace: ns, name: 'web', images: [expect.stringMatching(/^registry\.example\/web:[12]$/)] });
    }
    // No operator log line holds a URL; the chart's RBAC let it read the namespace's annotation.
    for (const op of [a, b]) expect(op.output).not.toContain('secret-token');
    for (const op of [a, b]) expect(op.output).not.toContain('could not read the namespace');
  });

  it('tells an abort with its reason; a receiver answering 500 is retried and counted as failed', async () => {
    const leader = b;
    await apply(microservice('web', canary('registry.example/web:3', { pod: { labels: { 'coxswain.dev/e2e-fail': 'true' } } }), ns));
    const aborted = await eventually('web:3 aborted', async () => {
      const o = await ms('web');
      return o?.status?.rollout?.abortedRevision && o.status.rollout.abortedRevision === o.status.desiredRevision ? o : undefined;
    }, 120_000);
    const rev = aborted.status.desiredRevision as string;
    await eventually('the abort told', async () => eventsOf(rev).includes('aborted'), 30_000);
    const abort = events().find((e) => e.data.revision === rev && e.type === 'dev.coxswain.rollout.aborted')!;
    expect(abort.data.reason).toBe(condition(aborted, 'Stalled')!.message);
    expect(abort.data.reason).toContain(rev);
    expect(eventsOf(rev).filter((t) => t === 'aborted')).toHaveLength(1);

    // The Slack target wants only "started": the new leader sent web:3's, three times (two retries), then gave up.
    await eventually('the 500s given up on', async () => (await metric(leader, 'broken', 'failed')) >= 1, 30_000);
    expect(await metric(leader, 'broken', 'retried')).toBe(2 * (await metric(leader, 'broken', 'failed')));
    expect(await metric(leader, 'broken', 'sent')).toBe(0);
    expect(await metric(leader, 'good', 'failed')).toBe(0);
    const started = broken.requests.map((r) => JSON.parse(r.body).text as string).filter((t) => t.includes(rev));
    expect(started).toEqual([0, 1, 2].map(() => `[e2e] ${ns}/web: rollout started (revision ${rev})`));
  });
});

describe('notifications in the chart', () => {
  it('mounts each Secret where the config it renders says, and the API server accepts all of it', async () => {
    const release = `notify-${suffix()}`;
    const objs = parseManifests(await template(release, ns, values));
    // Helm 3 renders the same objects.
    expect(parseManifests(await template(release, ns, values, helm3))).toEqual(objs);
    const cm = objs.find((o) => o.kind === 'ConfigMap')! as unknown as { data: Record<string, string> };
    const config = parseNotificationsConfig(cm.data['config.json']!, 'the chart');
    const pod = (objs.find((o) => o.kind === 'Deployment') as any).spec.template.spec;
    const c = pod.containers[0];
    expect(c.args).toContain('--notifications-config=/etc/coxswain/notifications/config/config.json');
    const mounted = (path: string) => {
      const m = c.volumeMounts.find((v: { mountPath: string }) => path.startsWith(`${v.mountPath}/`));
      const vol = pod.volumes.find((v: { name: string }) => v.name === m?.name);
      const file = path.slice(m.mountPath.length + 1);
      if (vol.configMap) return `configmap ${vol.configMap.name} ${file}`;
      const src = vol.projected.sources.find((x: any) => x.secret.items.some((i: { path: string }) => i.path === file));
      return `secret ${src.secret.name} ${src.secret.items.find((i: { path: string }) => i.path === file).key}`;
    };
    expect(mounted('/etc/coxswain/notifications/config/config.json')).toBe(`configmap ${release}-coxswain-notifications config.json`);
    expect(config.targets.map((t) => [t.name, mounted(t.urlFile), t.signingSecretFile && mounted(t.signingSecretFile)])).toEqual([
      ['good', 'secret good url', 'secret good key'], ['broken', 'secret broken url', undefined], ['hanging', 'secret hanging url', undefined],
    ]);
    expect(config.targets.find((t) => t.name === 'broken')!.events).toEqual(['started']);
    // The namespace opt-in reads only the watched namespace; nothing reads a Secret.
    // (Resource rules only: the metrics reader role has a non-resource URL, /metrics.)
    const rules = objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role').flatMap((r: any) => r.rules).filter((r: any) => r.resources);
    expect(rules.filter((r: any) => r.resources.includes('namespaces'))).toEqual([{ apiGroups: [''], resources: ['namespaces'], resourceNames: [ns], verbs: ['get'] }]);
    expect(rules.some((r: any) => r.resources.includes('secrets'))).toBe(false);
    const dry = await kubectl(['apply', '--server-side', '--dry-run=server', '--field-manager=coxswain-e2e', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs.filter((o) => o.kind !== 'CustomResourceDefinition') }));
    expect(dry.code, dry.stderr).toBe(0);
  });

  it('refuses bad targets, naming the field', async () => {
    const r = await helm('template', 'x', CHART, '--set-json', 'notifications.targets=[{"name":"ops","format":"email","urlSecret":{"name":"s","key":"url"}}]');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/notifications\/targets\/0\/format/);
  });
});
