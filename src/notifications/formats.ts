// The payload of a notification in each format a target may ask for, pure. Each is the exact
// bytes sent (a string) and its content type; golden tests pin them.
import { createHmac } from 'node:crypto';
import { headline, type Notification } from './message.js';

export const FORMATS = ['slack', 'teams', 'cloudevents'] as const;
export type Format = (typeof FORMATS)[number];

export interface Payload {
  contentType: string;
  body: string;
}

const COLOR = { info: '#2eb886', warning: '#daa038', error: '#a30200' } as const;

/** The facts every format lists, in this order. */
function facts(n: Notification): [string, string][] {
  const rows: [string, string | undefined][] = [
    ['Cluster', n.cluster],
    ['Microservice', `${n.namespace}/${n.name}`],
    ['Revision', n.revision],
    ['Stable revision', n.stableRevision],
    ['Images', n.images.join(', ')],
    ['Strategy', n.strategy],
    ['Step', n.step !== undefined ? `${n.step}/${n.steps ?? '?'}` : undefined],
    ['Weight', n.weight !== undefined ? `${n.weight}%` : undefined],
    ['Reason', n.reason],
  ];
  return rows.filter((r): r is [string, string] => r[1] !== undefined && r[1] !== '');
}

/**
 * Slack incoming webhook. Legacy attachments rather than Block Kit: Mattermost and Rocket.Chat
 * read the same `text` and `attachments` from their Slack-compatible webhooks; they ignore blocks.
 */
function slack(n: Notification): Payload {
  const title = headline(n);
  return {
    contentType: 'application/json',
    body: JSON.stringify({
      text: title,
      attachments: [{
        fallback: title,
        color: COLOR[n.severity],
        fields: facts(n).map(([title, value]) => ({ title, value, short: title !== 'Reason' && title !== 'Images' })),
        footer: `coxswain · ${n.type} · ${n.id}`,
        ts: Math.floor(Date.parse(n.time) / 1000),
      }],
    }),
  };
}

/**
 * Microsoft Teams through a Workflows "post to a channel when a webhook request is received"
 * flow: a message whose one attachment is an Adaptive Card (1.4, what Teams renders).
 */
function teams(n: Notification): Payload {
  const style = { info: 'good', warning: 'warning', error: 'attention' } as const;
  return {
    contentType: 'application/json',
    body: JSON.stringify({
      type: 'message',
      attachments: [{
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            { type: 'TextBlock', text: headline(n), weight: 'Bolder', wrap: true, color: style[n.severity] },
            { type: 'FactSet', facts: facts(n).map(([title, value]) => ({ title, value })) },
            { type: 'TextBlock', text: `${n.type} · ${n.id}`, isSubtle: true, size: 'Small', wrap: true },
          ],
        },
      }],
    }),
  };
}

/** CloudEvents 1.0, structured content mode over HTTP: the whole event is the body. */
function cloudevents(n: Notification): Payload {
  const { id, type, time, ...data } = n;
  return {
    contentType: 'application/cloudevents+json; charset=utf-8',
    body: JSON.stringify({
      specversion: '1.0',
      id,
      source: `coxswain/${encodeURIComponent(n.cluster)}/namespaces/${n.namespace}/microservices/${n.name}`,
      type: `dev.coxswain.rollout.${type}`,
      subject: `${n.namespace}/${n.name}`,
      time,
      datacontenttype: 'application/json',
      data: { type, ...data },
    }),
  };
}

export function payloadOf(format: Format, n: Notification): Payload {
  switch (format) {
    case 'slack': return slack(n);
    case 'teams': return teams(n);
    case 'cloudevents': return cloudevents(n);
  }
}

/** The header a signed target's requests carry. */
export const SIGNATURE_HEADER = 'X-Coxswain-Signature-256';

/** `sha256=` and the hex HMAC-SHA256, keyed by the target's secret, of the exact body bytes sent. */
export function signature(secret: string | Buffer, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}
