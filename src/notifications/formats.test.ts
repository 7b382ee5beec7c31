import { describe, expect, it } from 'vitest';
import type { MicroserviceObject, MicroserviceStatus } from '../api/schema.js';
import { FORMATS, payloadOf, signature } from './formats.js';
import { type Notification, notificationsOf } from './message.js';

const ms: MicroserviceObject = {
  apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice',
  metadata: { name: 'orders', namespace: 'shop', uid: '5b1e6f4e-0000-4000-8000-000000000001', generation: 7 },
  spec: { image: 'registry.example/orders:1.4.2', sidecars: [{ name: 'proxy', image: 'registry.example/proxy:2' }] },
} as unknown as MicroserviceObject;
const before: MicroserviceStatus = { phase: 'Progressing', desiredRevision: 'b7c1d2e3f4', stableRevision: '53407dcf6f', rollout: { strategy: 'Canary', step: 1, steps: 4, weight: 25 } };
const after: MicroserviceStatus = {
  ...before, phase: 'Degraded', observedGeneration: 7,
  rollout: { ...before.rollout, abortedRevision: 'b7c1d2e3f4' },
  conditions: [{ type: 'Stalled', status: 'True', reason: 'RolloutAborted', message: 'revision b7c1d2e3f4 aborted: pod orders-green-x is crash-looping', lastTransitionTime: '2030-01-01T00:00:00Z' }],
};
const NOW = new Date('2030-01-01T00:00:00Z');
const [aborted] = notificationsOf(ms, before, after, 'prod-eu', NOW) as [Notification];

describe('notification', () => {
  it('has the cluster, revision, images, step, weight and reason', () => {
    expect(aborted).toMatchObject({
      type: 'aborted', severity: 'error', cluster: 'prod-eu', namespace: 'shop', name: 'orders', revision: 'b7c1d2e3f4', stableRevision: '53407dcf6f',
      images: ['registry.example/orders:1.4.2', 'registry.example/proxy:2'], step: 1, steps: 4, weight: 25,
      reason: 'revision b7c1d2e3f4 aborted: pod orders-green-x is crash-looping', time: '2030-01-01T00:00:00.000Z',
    });
  });

  it('has an id that only the transition decides: not the time, not the replica', () => {
    const again = notificationsOf(ms, before, after, 'prod-eu', new Date('2031-06-01T00:00:00Z'))[0]!;
    expect(again.id).toBe(aborted.id);
    expect(aborted.id).toMatch(/^[0-9a-f]{32}$/);
    // The same revision aborted again after a retry is another transition, with another id.
    const retried = { ...after, lastAction: { id: 'r-2', action: 'retry', at: 'x', ok: true, message: 'retrying' } };
    expect(notificationsOf(ms, before, retried, 'prod-eu', NOW)[0]!.id).not.toBe(aborted.id);
    const otherObject = { ...ms, metadata: { ...ms.metadata, uid: 'another' } };
    expect(notificationsOf(otherObject, before, after, 'prod-eu', NOW)[0]!.id).not.toBe(aborted.id);
  });
});

describe('payloads', () => {
  it.each(FORMATS)('%s matches its golden file', async (format) => {
    const p = payloadOf(format, aborted);
    await expect(`${p.contentType}\n${JSON.stringify(JSON.parse(p.body), null, 2)}\n`).toMatchFileSnapshot(`testdata/${format}.golden`);
  });

  it('Slack: the text and attachments Mattermost and Rocket.Chat read too, the reason in full', () => {
    const body = JSON.parse(payloadOf('slack', aborted).body);
    expect(body.text).toBe('[prod-eu] shop/orders: rollout aborted (revision b7c1d2e3f4)');
    expect(body.attachments[0].fields).toContainEqual({ title: 'Reason', value: aborted.reason, short: false });
  });

  it('Teams: one Adaptive Card attachment', () => {
    const body = JSON.parse(payloadOf('teams', aborted).body);
    expect(body.type).toBe('message');
    expect(body.attachments).toHaveLength(1);
    expect(body.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(body.attachments[0].content.type).toBe('AdaptiveCard');
  });

  it('CloudEvents 1.0 structured mode: the required attributes, named as the spec says', () => {
    const p = payloadOf('cloudevents', aborted);
    expect(p.contentType).toMatch(/^application\/cloudevents\+json/);
    const ev = JSON.parse(p.body);
    expect(ev.specversion).toBe('1.0');
    for (const attr of ['id', 'source', 'type']) expect(typeof ev[attr] === 'string' && ev[attr].length > 0, attr).toBe(true);
    expect(ev.id).toBe(aborted.id);
    expect(ev.type).toBe('dev.coxswain.rollout.aborted');
    expect(ev.source).toBe('coxswain/prod-eu/namespaces/shop/microservices/orders');
    expect(() => new URL(ev.source, 'http://base.invalid')).not.toThrow(); // a URI-reference
    expect(new Date(ev.time).toISOString()).toBe(ev.time); // RFC 3339
    expect(ev.datacontenttype).toBe('application/json');
    // Context attribute names: lower-case letters and digits only (CloudEvents 1.0, "Attribute Naming Convention").
    for (const k of Object.keys(ev)) expect(k).toMatch(/^[a-z0-9]{1,20}$/);
    expect(ev.data).toMatchObject({ type: 'aborted', cluster: 'prod-eu', revision: 'b7c1d2e3f4', reason: aborted.reason });
  });
});

describe('signature', () => {
  it('is HMAC-SHA256 of the body, hex, after sha256= (RFC 4231 test case 2)', () => {
    expect(signature('Jefe', 'what do ya want for nothing?')).toBe('sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('signs the exact bytes sent (openssl dgst -sha256 -hmac s3cr3t over {"a":1})', () => {
    expect(signature('s3cr3t', '{"a":1}')).toBe('sha256=d42927434049e0b8c73ce887062238cc1c6bb6644bfe66e66d8dd0f30b85679e');
    expect(signature('s3cr3t', '{"a": 1}')).not.toBe(signature('s3cr3t', '{"a":1}'));
  });
});
