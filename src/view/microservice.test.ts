import { describe, expect, it } from 'vitest';
import { API_VERSION, KIND, type MicroserviceObject, type MicroserviceStatus } from '../api/schema.js';
import { detail, summarize } from './microservice.js';
import { byUrgency } from './order.js';

const STEPS = [{ setWeight: 25 }, { pause: {} }, { setWeight: 75 }];
const SPEC = { image: 'shop/orders:2', replicas: 4, strategy: { type: 'Canary', canary: { steps: STEPS } } };
const cond = (type: string, status: 'True' | 'False', reason: string) => ({ type, status, reason, message: `${reason} message`, lastTransitionTime: '2026-01-01T00:00:00Z' });

function ms(name: string, status: MicroserviceStatus, namespace = 'shop'): MicroserviceObject {
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec: SPEC, status };
}

const WAITING: MicroserviceStatus = {
  phase: 'Paused', stableRevision: 'a', desiredRevision: 'b', activeSlot: 'blue', conditions: [cond('Ready', 'False', 'Paused'), cond('Stalled', 'False', 'NoProblems')],
  rollout: { candidateSlot: 'green', step: 1, steps: 3, weight: 25, desiredWeight: 25 },
  slots: { blue: { revision: 'a', image: 'shop/orders:1', replicas: 3, readyReplicas: 3 }, green: { revision: 'b', image: 'shop/orders:2', replicas: 1, readyReplicas: 1 } },
};

describe('summarize', () => {
  it('reads step, weights, both images and why it is in its phase from a paused canary, which waits for a person', () => {
    const s = summarize(ms('orders', WAITING));
    expect(s).toMatchObject({ phase: 'Paused', step: 1, steps: 3, weight: 25, desiredWeight: 25, stableImage: 'shop/orders:1', candidateImage: 'shop/orders:2', reason: 'Paused', attention: 'waiting', since: '2026-01-01T00:00:00Z' });
  });

  it('marks a Stalled condition as stalled whatever the phase, and a healthy one as needing nobody', () => {
    expect(summarize(ms('a', { phase: 'Degraded', conditions: [cond('Stalled', 'True', 'ProgressDeadlineExceeded')] })).attention).toBe('stalled');
    expect(summarize(ms('a', { phase: 'Degraded' })).attention).toBe('degraded');
    expect(summarize(ms('a', { phase: 'Healthy' })).attention).toBeUndefined();
    expect(summarize(ms('a', {})).phase).toBe('Pending');
  });
});

describe('byUrgency', () => {
  it('puts stalled, then degraded, then waiting, then moving, then healthy on top, by namespace and name within each', () => {
    const items = [
      ms('healthy', { phase: 'Healthy' }), ms('moving', { phase: 'Progressing' }), ms('wait-b', WAITING, 'b'), ms('wait-a', WAITING, 'a'),
      ms('degraded', { phase: 'Degraded' }), ms('stuck', { phase: 'Degraded', conditions: [cond('Stalled', 'True', 'X')] }),
    ];
    expect(items.map(summarize).sort(byUrgency).map((s) => s.name)).toEqual(['stuck', 'degraded', 'wait-a', 'wait-b', 'moving', 'healthy']);
  });
});

describe('detail', () => {
  it('marks the current step of the plan while a new revision rolls out, and no step once it is stable', () => {
    const d = detail(ms('orders', WAITING));
    expect(d.plan?.rows.filter((r) => r.current).map((r) => r.step)).toEqual([1]);
    expect(d.slots.map((s) => `${s.slot}:${s.role}`)).toEqual(['blue:stable', 'green:candidate']);
    const done = detail(ms('orders', { ...WAITING, stableRevision: 'b' }));
    expect(done.plan?.rows.some((r) => r.current)).toBe(false);
  });

  it('gives the takeover in one line, the same for get and the page, and none without spec.adopt', () => {
    const d = detail(ms('orders', { ...WAITING, adoption: { deployment: 'shop', phase: 'Done', replicas: 4, scaledTo: 0 } }));
    expect(d.adoption).toBe('deployment/shop Done (at 0 of 4 replicas)');
    expect(detail(ms('orders', { ...WAITING, adoption: { deployment: 'shop', phase: 'Failed', message: 'new pods never became Ready' } })).adoption).toBe('deployment/shop Failed - new pods never became Ready');
    expect(detail(ms('orders', WAITING)).adoption).toBeUndefined();
  });
});
