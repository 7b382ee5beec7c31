// Delivery against a real HTTP server on 127.0.0.1 that answers as each test says.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { MicroserviceObject, MicroserviceStatus } from '../api/schema.js';
import { parseNotificationsConfig } from './config.js';
import { Notifier } from './deliver.js';
import { signature, SIGNATURE_HEADER } from './formats.js';

interface Received { headers: IncomingMessage['headers']; body: string }
const servers: Server[] = [];
const notifiers: Notifier[] = [];
afterEach(async () => {
  for (const n of notifiers.splice(0)) await n.stop(0);
  for (const s of servers.splice(0)) { s.closeAllConnections(); await new Promise((r) => s.close(r)); }
});

/** A receiver; `answer` decides each request's fate (undefined: never answered). */
async function receiver(answer: (n: number) => number | undefined) {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = answer(received.length);
      if (status !== undefined) res.writeHead(status).end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { received, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/T000/s3cret-path-token` };
}

const dir = mkdtempSync(join(tmpdir(), 'cx-deliver-'));
function setup(url: string, extra: Record<string, unknown> = {}, target: Record<string, unknown> = {}) {
  writeFileSync(join(dir, 'url'), `${url}\n`);
  writeFileSync(join(dir, 'key'), 'hmac-key\n');
  const config = parseNotificationsConfig(JSON.stringify({ timeoutSeconds: 0.3, ...extra, targets: [{ name: 'hook', format: 'cloudevents', urlFile: join(dir, 'url'), ...target }] }), 'test');
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }));
  const registry = new Registry();
  const nsAnnotations = new Map<string, string>();
  const notifier = new Notifier({ config, cluster: 'test', log, registry, backoffMs: 1, namespaceAnnotation: async (ns) => nsAnnotations.get(ns) });
  notifiers.push(notifier);
  const counts = async () => Object.fromEntries((await registry.getSingleMetric('coxswain_notifications_total')!.get()).values.map((v) => [v.labels.result, v.value]));
  return { notifier, lines, counts, nsAnnotations };
}

const ms = (annotations?: Record<string, string>) => ({
  apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice',
  metadata: { name: 'web', namespace: 'shop', uid: 'u1', generation: 2, ...(annotations ? { annotations } : {}) },
  spec: { image: 'web:2' },
}) as unknown as MicroserviceObject;
const BEFORE: MicroserviceStatus = { desiredRevision: 'v1', stableRevision: 'v1', phase: 'Healthy' };
const STARTED: MicroserviceStatus = { desiredRevision: 'v2', stableRevision: 'v1', phase: 'Progressing', rollout: { strategy: 'Canary', step: 0, steps: 2 } };
const NOW = new Date('2030-01-01T00:00:00Z');
const until = async (what: () => boolean | Promise<boolean>) => { while (!(await what())) await new Promise((r) => setTimeout(r, 10)); };

describe('Notifier', () => {
  it('sends one CloudEvent per transition, signed over the exact body', async () => {
    const r = await receiver(() => 204);
    const { notifier, counts } = setup(r.url, {}, { signingSecretFile: join(dir, 'key') });
    notifier.offer(ms(), BEFORE, STARTED, NOW);
    await until(async () => (await counts()).sent === 1);
    expect(r.received).toHaveLength(1);
    const { headers, body } = r.received[0]!;
    expect(headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
    expect(JSON.parse(body).type).toBe('dev.coxswain.rollout.started');
    expect(headers[SIGNATURE_HEADER.toLowerCase()]).toBe(signature('hmac-key', body));
    expect(await counts()).toEqual({ sent: 1, retried: 0, failed: 0, dropped: 0 });
  });

  it('retries a 500 with backoff, then counts the failure; the URL is never logged', async () => {
    const r = await receiver(() => 500);
    const { notifier, counts, lines } = setup(r.url, { retries: 2 });
    notifier.offer(ms(), BEFORE, STARTED, NOW);
    await until(async () => (await counts()).failed === 1);
    expect(r.received).toHaveLength(3);
    expect(new Set(r.received.map((x) => JSON.parse(x.body).id)).size).toBe(1); // the same event each time
    expect(await counts()).toEqual({ sent: 0, retried: 2, failed: 1, dropped: 0 });
    expect(lines.join('')).toContain('HTTP 500');
    expect(lines.join('')).not.toContain('s3cret-path-token');
    expect(lines.join('')).not.toContain('127.0.0.1');
  });

  it('a 400 is not retried: the receiver refused that message', async () => {
    const r = await receiver(() => 400);
    const { notifier, counts } = setup(r.url, { retries: 3 });
    notifier.offer(ms(), BEFORE, STARTED, NOW);
    await until(async () => (await counts()).failed === 1);
    expect(r.received).toHaveLength(1);
  });

  it('a receiver that hangs: offer returns at once, the request times out and is retried, then the next message goes', async () => {
    const r = await receiver((n) => (n <= 2 ? undefined : 200));
    const { notifier, counts, lines } = setup(r.url, { retries: 1 });
    const returned = notifier.offer(ms(), BEFORE, STARTED, NOW);
    expect(returned).toBeUndefined(); // no promise for a reconcile to wait on
    expect(notifier.pending()).toEqual({ hook: 1 });
    notifier.offer(ms(), STARTED, { ...STARTED, rollout: { ...STARTED.rollout, step: 1 } }, NOW);
    await until(async () => (await counts()).sent === 1);
    expect(await counts()).toEqual({ sent: 1, retried: 1, failed: 1, dropped: 0 });
    expect(lines.join('')).toContain('no answer within 0.3s');
    expect(r.received.map((x) => JSON.parse(x.body).type)).toEqual(['dev.coxswain.rollout.started', 'dev.coxswain.rollout.started', 'dev.coxswain.rollout.stepReached']);
  });

  it('a full queue drops, and counts it', async () => {
    const r = await receiver(() => undefined);
    const { notifier, counts } = setup(r.url, { queueSize: 1, retries: 0, timeoutSeconds: 5 });
    notifier.offer(ms(), BEFORE, STARTED, NOW); // taken by the worker
    await until(() => r.received.length === 1);
    notifier.offer(ms(), BEFORE, STARTED, NOW); // queued
    notifier.offer(ms(), BEFORE, STARTED, NOW); // no room
    expect((await counts()).dropped).toBe(1);
  });

  it('follows the opt-in: the Microservice annotation, else the namespace annotation, else the default', async () => {
    const r = await receiver(() => 200);
    const { notifier, counts, nsAnnotations } = setup(r.url, { defaultEnabled: false });
    notifier.offer(ms(), BEFORE, STARTED, NOW); // default off
    nsAnnotations.set('other', 'true');
    notifier.offer(ms({ 'coxswain.dev/notifications': 'true' }), BEFORE, { ...STARTED, desiredRevision: 'v3' }, NOW);
    await until(async () => (await counts()).sent === 1);
    expect(r.received.map((x) => JSON.parse(x.body).data.revision)).toEqual(['v3']);

    const on = setup(r.url, { defaultEnabled: true });
    on.nsAnnotations.set('shop', 'false');
    on.notifier.offer(ms(), BEFORE, { ...STARTED, desiredRevision: 'v4' }, NOW); // namespace off
    on.notifier.offer(ms({ 'coxswain.dev/notifications': 'true' }), BEFORE, { ...STARTED, desiredRevision: 'v5' }, NOW);
    await until(async () => (await on.counts()).sent === 1);
    expect(r.received.map((x) => JSON.parse(x.body).data.revision)).toEqual(['v3', 'v5']);
  });
});
