// Who may read /metrics: a bearer token that a TokenReview accepts, whose user a
// SubjectAccessReview allows `get` on the non-resource URL /metrics, as controller-runtime's
// metrics filter does. Answers are cached (by a hash of the token, never the token itself) for the
// same times as controller-runtime: an identity for a minute, an allow for five minutes, a denial
// for thirty seconds, so a scrape every few seconds costs the API server about nothing and a
// revoked binding is honoured within the minute. Errors are never cached.
import { createHash } from 'node:crypto';

export interface UserInfo { username: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> }

/** The two reviews, done by the API server (src/kube/reviews.ts); both throw when it cannot answer. */
export interface Reviewer {
  /** The user a token belongs to, or undefined when the API server does not accept it. */
  authenticate(token: string): Promise<UserInfo | undefined>;
  /** Whether `user` may `verb` the non-resource `path`, with the API server's reason. */
  authorize(user: UserInfo, verb: string, path: string): Promise<{ allowed: boolean; reason?: string }>;
}

export const CACHE_TTL_MS = { identity: 60_000, allowed: 300_000, denied: 30_000 } as const;
/** Entries per cache: a scraper sending endless made-up tokens cannot grow memory past this. */
export const CACHE_MAX = 1024;

export interface Verdict {
  status: 200 | 401 | 403 | 405 | 500;
  /** Short and safe to send back: names no token. */
  message: string;
  /** For the operator's log, on a 500 only. */
  error?: string;
}

export class MetricsAuth {
  private readonly identities = new ExpiringCache<UserInfo | null>();
  private readonly decisions = new ExpiringCache<boolean>();

  constructor(private readonly reviewer: Reviewer, private readonly now: () => number = Date.now) {}

  /** The verdict on a request for `path` with this method and Authorization header. */
  async check(method: string, path: string, authorization: string | undefined): Promise<Verdict> {
    if (method !== 'GET' && method !== 'HEAD') return { status: 405, message: 'only GET is served' };
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!token) return { status: 401, message: 'Unauthorized: a bearer token is required' };
    const key = createHash('sha256').update(token).digest('hex');
    let user: UserInfo | null | undefined = this.identities.get(key, this.now());
    if (user === undefined) {
      try {
        user = (await this.reviewer.authenticate(token)) ?? null;
      } catch (err) {
        return { status: 500, message: 'Authentication failed', error: `TokenReview: ${errorText(err)}` };
      }
      this.identities.set(key, user, this.now() + CACHE_TTL_MS.identity);
    }
    if (!user) return { status: 401, message: 'Unauthorized' };
    // The verb for a non-resource URL, as the API server derives it for GET and HEAD.
    const verb = 'get';
    const decisionKey = JSON.stringify([user.username, user.uid, [...(user.groups ?? [])].sort(), user.extra ?? {}, verb, path]);
    let allowed = this.decisions.get(decisionKey, this.now());
    if (allowed === undefined) {
      try {
        allowed = (await this.reviewer.authorize(user, verb, path)).allowed;
      } catch (err) {
        return { status: 500, message: 'Authorization failed', error: `SubjectAccessReview: ${errorText(err)}` };
      }
      this.decisions.set(decisionKey, allowed, this.now() + (allowed ? CACHE_TTL_MS.allowed : CACHE_TTL_MS.denied));
    }
    if (!allowed) return { status: 403, message: `Forbidden: ${user.username} may not get ${path}` };
    return { status: 200, message: 'ok' };
  }
}

/** A map whose entries expire at a time given by the caller; the oldest entry goes first when full. */
export class ExpiringCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();

  constructor(private readonly max = CACHE_MAX) {}

  get(key: string, now: number): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V, expires: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, expires });
  }

  get size(): number {
    return this.entries.size;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
