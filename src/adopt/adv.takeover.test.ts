// Adversarial (wt-adv): a new revision applied in the middle of a takeover (an image bump from CI
// while the old Deployment is half scaled down). The takeover starts a run for the new revision;
// what it had recorded of the old Deployment (its replicas before the takeover, what Coxswain last
// scaled it to) must carry over, or a failure "puts it back" to the half size and a revival goes unseen.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/object.js';
import { microservice } from '../../test/support/fixtures.js';
import { ANNOTATION_ADOPTED_BY, takeover } from './takeover.js';

const spec = { image: 'registry.example/orders:3', replicas: 4, ports: [{ name: 'http', port: 8080 }], adopt: { deployment: 'orders', service: 'orders' },
  strategy: { type: 'RollingUpdate' as const, progressDeadlineSeconds: 60 } };
const helmService: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'orders', namespace: 'shop' }, spec: { selector: { app: 'orders' } } };

/** The old Deployment as Coxswain left it: scaled to `replicas` through /scale (the last manager of spec.replicas), `pods` of them running. */
function old(replicas: number, pods = replicas, scaler = 'coxswain'): KubeObject {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'orders', namespace: 'shop', annotations: { [ANNOTATION_ADOPTED_BY]: 'orders' },
      managedFields: [{ manager: 'helm', operation: 'Apply', time: '2026-01-01T00:00:00Z', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
        { manager: scaler, operation: 'Update', subresource: 'scale', time: '2026-01-01T00:09:00Z', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }] } as never,
    spec: { replicas }, status: { replicas: pods, readyReplicas: pods },
  };
}
// Half-way through revision r1's takeover: the old Deployment (4 replicas before) at 2, as 2 new pods are Ready.
const halfway = { adoption: { deployment: 'orders', phase: 'ScalingDown' as const, revision: 'r1', replicas: 4, scaledTo: 2, oldReplicas: 2, startedAt: '2026-01-01T00:09:00Z' } };
const at = (s: string) => new Date(`2026-01-01T00:${s}Z`);

describe('a new revision in the middle of a takeover', () => {
  // BUG (wt-adv report, "adopt: a new revision mid-takeover forgets the old Deployment's size"):
  // takeover() starts a new run with original = the old Deployment's current spec.replicas (2),
  // so status says "at 2 of 2 replicas", and a failure of the new revision puts it "back" at 2.
  it('keeps the replicas the old Deployment had before the takeover, and a failure puts those back', () => {
    const ms = microservice(spec, {}, halfway);
    const next = takeover({ ms, adopted: { deployment: old(2), service: helmService }, newReady: 0, total: 4, desiredRevision: 'r2', now: at('09:30') });
    expect(next.status).toMatchObject({ phase: 'ScalingDown', revision: 'r2', replicas: 4 });
    // r2's pods never become Ready: past its progress deadline the takeover fails and gives the old Deployment back its 4.
    const failed = takeover({ ms: microservice(spec, {}, { adoption: next.status }), adopted: { deployment: old(2), service: helmService }, newReady: 0, total: 4, desiredRevision: 'r2', now: at('11:00') });
    expect(failed.status.phase).toBe('Failed');
    expect(failed.writes).toContainEqual({ resize: { name: 'orders', replicas: 4 } });
  });

  it('still sees a revival by another manager that comes with the new revision', () => {
    const ms = microservice(spec, {}, halfway);
    // Helm's sync of the same commit puts the old Deployment back to 3 (above the 2 Coxswain set).
    const t = takeover({ ms, adopted: { deployment: old(3, 3, 'helm'), service: helmService }, newReady: 0, total: 4, desiredRevision: 'r2', now: at('09:30') });
    expect(t.problem?.reason).toBe('AdoptedWorkloadRevived');
  });
});

describe('a takeover of a paused Microservice', () => {
  // Found by adversarial testing: spec.paused holds the slot with no pods, and the takeover's
  // deadline ran on regardless, failing the adoption for good. Time held now does not count
  // (status.adoption.heldSince, recorded once).
  it('does not count time held against the progress deadline, and goes on once resumed', () => {
    const paused = { ...spec, paused: true };
    const started = { adoption: { deployment: 'orders', phase: 'ScalingDown' as const, revision: 'r1', replicas: 4, scaledTo: 4, oldReplicas: 4, startedAt: '2026-01-01T00:09:00Z' } };
    // The first pass that sees the pause (passes come every 2 s during a takeover) records it; one 21 minutes on is still held.
    const first = takeover({ ms: microservice(paused, {}, started), adopted: { deployment: old(4), service: helmService }, newReady: 0, total: 4, desiredRevision: 'r1', now: at('09:02') });
    const held = takeover({ ms: microservice(paused, {}, { adoption: first.status }), adopted: { deployment: old(4), service: helmService }, newReady: 0, total: 4, desiredRevision: 'r1', now: at('30:00') });
    expect(held.problem?.reason, held.status.message).not.toBe('AdoptionFailed');
    expect(held.status).toEqual(first.status); // nothing to write while held
    // Resumed at 30:00 after 21 minutes held: its new pods come up, and the takeover scales the old Deployment down as they do.
    const resumed = takeover({ ms: microservice(spec, {}, { adoption: held.status }), adopted: { deployment: old(4), service: helmService }, newReady: 2, total: 4, desiredRevision: 'r1', now: at('30:05') });
    expect(resumed.status.phase, resumed.status.message).toBe('ScalingDown');
    expect(resumed.writes).toContainEqual({ resize: { name: 'orders', replicas: 2 } });
  });
});

describe('spec.adopt naming a Deployment that a controller owns', () => {
  // BUG (wt-adv report, "adopt: spec.adopt scales another controller's Deployment"): the plugin's
  // `adopt` refuses a Deployment another controller owns, but spec.adopt written by hand (GitOps)
  // is taken as it is: the takeover scales it through /scale. Named after another Microservice's
  // slot (payments-blue, a copy-paste slip), the two Microservices fight over its size, and the
  // revival check cannot see it, since both write as field manager coxswain.
  it('refuses it, naming its controller, and writes nothing to it', () => {
    const slot: KubeObject = { ...old(4, 4), metadata: { ...old(4, 4).metadata, name: 'payments-blue', annotations: {},
      ownerReferences: [{ apiVersion: 'coxswain.dev/v1alpha1', kind: 'Microservice', name: 'payments', uid: 'other-uid', controller: true }] } as never };
    const ms = microservice({ ...spec, adopt: { deployment: 'payments-blue' } }, {});
    const t = takeover({ ms, adopted: { deployment: slot }, newReady: 2, total: 4, desiredRevision: 'r1', now: at('09:30') });
    expect(t.writes).toEqual([]);
    expect(t.problem?.reason).toBe('AdoptionFailed');
    expect(t.problem?.message).toContain('Microservice/payments');
  });
});
