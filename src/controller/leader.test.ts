import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ApiError } from '../kube/client.js';
import { type Lease, type LeaseApi, LeaderElector, microTime } from './leader.js';

const log = pino({ level: 'silent' });

/** An API server's view of one Lease: resourceVersion bumps on every write; stale writes get 409. */
class FakeLeases implements LeaseApi {
  readonly namespace = 'ops';
  readonly name = 'coxswain-leader';
  lease?: Lease;
  private rv = 0;
  failing = false;
  calls = 0;

  private check() {
    this.calls++;
    if (this.failing) throw new ApiError(503, 'ServiceUnavailable', 'unavailable');
  }

  async get() {
    this.check();
    return this.lease && structuredClone(this.lease);
  }

  async create(lease: Lease) {
    this.check();
    if (this.lease) throw new ApiError(409, 'AlreadyExists', 'exists');
    this.lease = { ...structuredClone(lease), metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } };
    return structuredClone(this.lease);
  }

  async update(lease: Lease) {
    this.check();
    if (!this.lease || lease.metadata.resourceVersion !== this.lease.metadata.resourceVersion) throw new ApiError(409, 'Conflict', 'the object has been modified');
    this.lease = { ...structuredClone(lease), metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } };
    return structuredClone(this.lease);
  }

  /** Someone else writes the Lease (a person, another operator). */
  set(spec: Lease['spec']) {
    this.lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.name, namespace: this.namespace, resourceVersion: String(++this.rv) }, spec };
  }
}

const TIMING = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, renewPeriodMs: 5_000, retryPeriodMs: 2_000 };

function clock(start = 1_700_000_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe('LeaderElector.tryAcquireOrRenew', () => {
  it('creates the Lease when there is none, with MicroTime timestamps', async () => {
    const api = new FakeLeases();
    const c = clock();
    const a = new LeaderElector(api, 'a', log, TIMING, c.now);
    expect(await a.tryAcquireOrRenew()).toBe('acquired');
    expect(api.lease?.spec).toEqual({
      holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: microTime(c.t), renewTime: microTime(c.t), leaseTransitions: 0,
    });
    expect(api.lease?.spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('renews its own Lease, keeping acquireTime and the transition count', async () => {
    const api = new FakeLeases();
    const c = clock();
    const a = new LeaderElector(api, 'a', log, TIMING, c.now);
    await a.tryAcquireOrRenew();
    const acquired = api.lease?.spec.acquireTime;
    c.t += 5_000;
    expect(await a.tryAcquireOrRenew()).toBe('renewed');
    expect(api.lease?.spec).toMatchObject({ holderIdentity: 'a', acquireTime: acquired, renewTime: microTime(c.t), leaseTransitions: 0 });
  });

  it('leaves a Lease held by another alone while it keeps changing, however old its timestamps look', async () => {
    const api = new FakeLeases();
    const c = clock();
    // The holder's clock is an hour behind ours: its renewTime means nothing to us.
    api.set({ holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: microTime(c.t - 3_600_000), leaseTransitions: 0 });
    const b = new LeaderElector(api, 'b', log, TIMING, c.now);
    for (let i = 0; i < 10; i++) {
      expect(await b.tryAcquireOrRenew()).toBe('held-by-other');
      c.t += 5_000;
      api.set({ ...api.lease!.spec, renewTime: microTime(c.t - 3_600_000) }); // a renews
    }
    expect(api.lease?.spec.holderIdentity).toBe('a');
  });

  it('takes over a Lease that has not changed for a lease duration by its own clock', async () => {
    const api = new FakeLeases();
    const c = clock();
    api.set({ holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: microTime(c.t), renewTime: microTime(c.t), leaseTransitions: 3 });
    const b = new LeaderElector(api, 'b', log, TIMING, c.now);
    expect(await b.tryAcquireOrRenew()).toBe('held-by-other');
    c.t += 14_999;
    expect(await b.tryAcquireOrRenew()).toBe('held-by-other');
    c.t += 2;
    expect(await b.tryAcquireOrRenew()).toBe('acquired');
    expect(api.lease?.spec).toMatchObject({ holderIdentity: 'b', acquireTime: microTime(c.t), leaseTransitions: 4 });
  });

  it('honours the holder\'s leaseDurationSeconds rather than its own', async () => {
    const api = new FakeLeases();
    const c = clock();
    api.set({ holderIdentity: 'a', leaseDurationSeconds: 60, renewTime: microTime(c.t) });
    const b = new LeaderElector(api, 'b', log, TIMING, c.now);
    await b.tryAcquireOrRenew();
    c.t += 30_000;
    expect(await b.tryAcquireOrRenew()).toBe('held-by-other');
    c.t += 30_001;
    expect(await b.tryAcquireOrRenew()).toBe('acquired');
  });

  it('takes a released Lease (empty holder) at once', async () => {
    const api = new FakeLeases();
    const c = clock();
    api.set({ holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(c.t), leaseTransitions: 1 });
    const b = new LeaderElector(api, 'b', log, TIMING, c.now);
    expect(await b.tryAcquireOrRenew()).toBe('acquired');
    expect(api.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 2 });
  });

  it('loses a race with 409 instead of overwriting the winner', async () => {
    const api = new FakeLeases();
    const c = clock();
    api.set({ holderIdentity: '', leaseDurationSeconds: 1 });
    const a = new LeaderElector(api, 'a', log, TIMING, c.now);
    const b = new LeaderElector(api, 'b', log, TIMING, c.now);
    const outcomes = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    expect(outcomes.sort()).toEqual(['acquired', 'conflict']);
    expect(['a', 'b']).toContain(api.lease?.spec.holderIdentity);
  });

  it('refuses a renew deadline that is not shorter than the lease duration', () => {
    expect(() => new LeaderElector(new FakeLeases(), 'a', log, { ...TIMING, renewDeadlineMs: 15_000 })).toThrow(/shorter/);
  });
});

// The loops, with short real periods. They wait for events, not for durations.
const FAST = { leaseDurationMs: 1_000, renewDeadlineMs: 300, renewPeriodMs: 30, retryPeriodMs: 10 };
const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
};

describe('LeaderElector.campaign', () => {
  it('is elected, keeps renewing, and releases with an empty holder', async () => {
    const api = new FakeLeases();
    const a = new LeaderElector(api, 'a', log, FAST);
    const lost: string[] = [];
    await a.campaign((r) => lost.push(r));
    expect(a.isLeader).toBe(true);
    const first = api.lease!.spec.renewTime;
    await until(() => api.lease!.spec.renewTime !== first);
    expect(await a.release()).toBe(true);
    expect(api.lease?.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    expect(a.isLeader).toBe(false);
    expect(lost).toEqual([]);
  });

  it('waits while another holds the Lease, and is elected once it is released', async () => {
    const api = new FakeLeases();
    const a = new LeaderElector(api, 'a', log, FAST);
    const b = new LeaderElector(api, 'b', log, FAST);
    await a.campaign(() => {});
    let bElected = false;
    const campaign = b.campaign(() => {}).then(() => (bElected = true));
    const calls = api.calls;
    await until(() => api.calls > calls + 10); // b has tried a few times meanwhile
    expect(bElected).toBe(false);
    await a.release();
    await campaign;
    expect(api.lease?.spec.holderIdentity).toBe('b');
    await b.release();
  });

  it('reports the loss when someone else takes the Lease', async () => {
    const api = new FakeLeases();
    const a = new LeaderElector(api, 'a', log, FAST);
    const lost: string[] = [];
    await a.campaign((r) => lost.push(r));
    api.set({ ...api.lease!.spec, holderIdentity: 'thief' });
    await until(() => lost.length > 0);
    expect(lost[0]).toMatch(/held by "thief"/);
    expect(a.isLeader).toBe(false);
    expect(await a.release()).toBe(false); // not ours to release
    expect(api.lease?.spec.holderIdentity).toBe('thief');
  });

  it('reports the loss when it cannot renew within the renew deadline', async () => {
    const api = new FakeLeases();
    const a = new LeaderElector(api, 'a', log, FAST);
    const lost: string[] = [];
    await a.campaign((r) => lost.push(r));
    api.failing = true;
    await until(() => lost.length > 0);
    expect(lost[0]).toMatch(/could not renew/);
  });

  it('stops campaigning when stopped, and never resolves', async () => {
    const api = new FakeLeases();
    api.set({ holderIdentity: 'other', leaseDurationSeconds: 3600 });
    const a = new LeaderElector(api, 'a', log, FAST);
    let elected = false;
    void a.campaign(() => {}).then(() => (elected = true));
    await until(() => api.calls > 3);
    a.stop();
    const calls = api.calls;
    await new Promise((r) => setTimeout(r, 50));
    expect(api.calls).toBeLessThanOrEqual(calls + 1);
    expect(elected).toBe(false);
  });
});
