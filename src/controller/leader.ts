// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics: a candidate takes
// the Lease when it is free or when its record has not changed for a whole lease duration by the
// candidate's own clock (so clocks need not agree, only tick at the same rate); the leader renews
// it, and gives up (the caller exits) when it cannot renew within the renew deadline, which is
// shorter than the lease duration, so two leaders never act at once. Every write carries the
// resourceVersion it read: a race loses with 409 Conflict instead of overwriting.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ApiError, type KubeClient } from '../kube/client.js';

export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number | null;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number | null;
}

export interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: LeaseSpec;
}

/** The three calls leader election makes; `update` must fail with 409 when resourceVersion is stale. */
export interface LeaseApi {
  readonly namespace: string;
  readonly name: string;
  get(signal?: AbortSignal): Promise<Lease | undefined>;
  create(lease: Lease, signal?: AbortSignal): Promise<Lease>;
  update(lease: Lease, signal?: AbortSignal): Promise<Lease>;
}

export function kubeLeases(client: KubeClient, namespace: string, name: string): LeaseApi {
  const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  return {
    namespace,
    name,
    async get(signal) {
      try {
        return await client.request<Lease>('GET', `${base}/${encodeURIComponent(name)}`, { signal });
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return undefined;
        throw err;
      }
    },
    create: (lease, signal) => client.request<Lease>('POST', base, { body: lease, signal }),
    update: (lease, signal) => client.request<Lease>('PUT', `${base}/${encodeURIComponent(name)}`, { body: lease, signal }),
  };
}

export interface LeaderElectionTiming {
  /** How long a Lease not renewed stays taken: others wait this long (by their clock) to take over. */
  leaseDurationMs: number;
  /** The leader gives up when it has not renewed for this long; shorter than the lease duration. */
  renewDeadlineMs: number;
  /** How often the leader renews. */
  renewPeriodMs: number;
  /** How often a candidate tries, and how soon a failed renewal is retried. */
  retryPeriodMs: number;
}

export const DEFAULT_TIMING: LeaderElectionTiming = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, renewPeriodMs: 5_000, retryPeriodMs: 2_000 };

/** hostname (the pod's name in a cluster) plus a random part, so a restarted pod is a new candidate. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomBytes(4).toString('hex')}`;
}

/** Lease timestamps are MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export type Outcome = 'acquired' | 'renewed' | 'held-by-other' | 'conflict';

export class LeaderElector {
  /** The record as last seen, and when (by our clock) it last changed: the basis of expiry. */
  private observed?: { spec: LeaseSpec; resourceVersion?: string; at: number };
  private leading = false;
  private stopped = false;
  private wake?: () => void;
  private inflight?: Promise<unknown>;

  constructor(
    private readonly api: LeaseApi,
    readonly identity: string,
    private readonly log: Logger,
    private readonly timing: LeaderElectionTiming = DEFAULT_TIMING,
    private readonly now: () => number = Date.now,
  ) {
    if (timing.renewDeadlineMs >= timing.leaseDurationMs) throw new Error('the renew deadline must be shorter than the lease duration');
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * One attempt (client-go's tryAcquireOrRenew): creates the Lease if there is none, takes it if
   * it is free or expired, renews it if ours. Errors other than a lost race are thrown.
   */
  async tryAcquireOrRenew(signal?: AbortSignal): Promise<Outcome> {
    const now = this.now();
    const lease = await this.api.get(signal);
    if (!lease) {
      const fresh = this.record(now, undefined);
      try {
        const created = await this.api.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.api.name, namespace: this.api.namespace }, spec: fresh }, signal);
        this.observed = { spec: created.spec, resourceVersion: created.metadata.resourceVersion, at: now };
        return 'acquired';
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) return 'conflict';
        throw err;
      }
    }
    const spec = lease.spec ?? {};
    if (!this.observed || this.observed.resourceVersion !== lease.metadata.resourceVersion) {
      this.observed = { spec, resourceVersion: lease.metadata.resourceVersion, at: now };
    }
    const holder = spec.holderIdentity ?? '';
    const ours = holder === this.identity;
    if (holder && !ours) {
      const durationMs = (spec.leaseDurationSeconds ?? this.timing.leaseDurationMs / 1000) * 1000;
      if (this.observed.at + durationMs > now) return 'held-by-other';
    }
    const next = this.record(now, ours ? spec : undefined, spec.leaseTransitions ?? 0);
    try {
      const updated = await this.api.update({ ...lease, spec: next }, signal);
      this.observed = { spec: updated.spec, resourceVersion: updated.metadata.resourceVersion, at: now };
      return ours ? 'renewed' : 'acquired';
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) return 'conflict';
      throw err;
    }
  }

  /** Our record; `mine` is the current one when we hold it already (renewal keeps acquireTime). */
  private record(now: number, mine: LeaseSpec | undefined, transitions?: number): LeaseSpec {
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.max(1, Math.round(this.timing.leaseDurationMs / 1000)),
      acquireTime: mine?.acquireTime ?? microTime(now),
      renewTime: microTime(now),
      leaseTransitions: transitions === undefined ? 0 : mine ? transitions : transitions + 1,
    };
  }

  /**
   * Campaigns until elected (resolves), then keeps the Lease in the background; `onLost` is
   * called once if it is lost. Resolves never if stop() comes first.
   */
  async campaign(onLost: (reason: string) => void): Promise<void> {
    this.log.info({ lease: `${this.api.namespace}/${this.api.name}`, identity: this.identity }, 'leader election: campaigning');
    for (;;) {
      if (this.stopped) return new Promise<void>(() => {});
      const outcome = await this.attempt(this.timing.retryPeriodMs);
      if (outcome === 'acquired' || outcome === 'renewed') break;
      await this.sleep(jitter(this.timing.retryPeriodMs));
    }
    this.leading = true;
    this.log.info({ identity: this.identity }, 'leader election: became leader');
    void this.keep(onLost);
  }

  private async keep(onLost: (reason: string) => void): Promise<void> {
    let lastRenew = this.now();
    let reason = '';
    while (!this.stopped) {
      await this.sleep(this.timing.renewPeriodMs);
      if (this.stopped) return;
      // Retry until renewed, someone else holds the Lease, or the deadline passes.
      for (;;) {
        const left = lastRenew + this.timing.renewDeadlineMs - this.now();
        if (left <= 0) {
          reason = `could not renew the Lease for ${this.timing.renewDeadlineMs / 1000}s`;
          break;
        }
        const outcome = await this.attempt(Math.min(left, this.timing.renewPeriodMs));
        if (this.stopped) return;
        if (outcome === 'renewed') {
          lastRenew = this.now();
          break;
        }
        if (outcome === 'held-by-other' || outcome === 'acquired') {
          // 'acquired' would mean our record vanished and we took it again: someone else may have acted meanwhile.
          reason = `the Lease is now held by ${JSON.stringify(this.observed?.spec.holderIdentity ?? '')}`;
          break;
        }
        await this.sleep(Math.min(this.timing.retryPeriodMs, Math.max(0, left)));
      }
      if (reason) break;
    }
    if (this.stopped) return;
    this.leading = false;
    this.log.error({ identity: this.identity, reason }, 'leader election: lost the Lease');
    onLost(reason);
  }

  /** One try, bounded in time; an error counts as a failed try. */
  private async attempt(timeoutMs: number): Promise<Outcome | 'error'> {
    try {
      const attempt = this.tryAcquireOrRenew(AbortSignal.timeout(Math.max(1, timeoutMs)));
      this.inflight = attempt.catch(() => undefined);
      return await attempt;
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'leader election: Lease request failed');
      return 'error';
    }
  }

  /** Stops campaigning and renewing (the Lease is left as it is; see release()). */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /**
   * Gives the Lease up if we hold it (client-go's ReleaseOnCancel): empty holder, so a candidate
   * takes it at its next try instead of waiting the lease duration out.
   */
  async release(): Promise<boolean> {
    this.stop();
    await this.inflight; // a renewal in flight would make our update conflict
    if (!this.leading) return false;
    this.leading = false;
    try {
      const lease = await this.api.get(AbortSignal.timeout(5_000));
      if (!lease || lease.spec?.holderIdentity !== this.identity) return false;
      const now = microTime(this.now());
      await this.api.update({ ...lease, spec: { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: lease.spec.leaseTransitions ?? 0 } }, AbortSignal.timeout(5_000));
      this.log.info({ identity: this.identity }, 'leader election: released the Lease');
      return true;
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'leader election: could not release the Lease; it expires by itself');
      return false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }
}

/** client-go's wait.Jitter(period, 1.2): up to 20% more, so candidates don't move in lockstep. */
function jitter(ms: number): number {
  return ms + Math.random() * ms * 0.2;
}
