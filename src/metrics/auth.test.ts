import { describe, expect, it } from 'vitest';
import { CACHE_MAX, CACHE_TTL_MS, ExpiringCache, MetricsAuth, type Reviewer, type UserInfo } from './auth.js';

const reader: UserInfo = { username: 'system:serviceaccount:monitoring:prometheus', uid: 'u1', groups: ['system:serviceaccounts'] };
const stranger: UserInfo = { username: 'system:serviceaccount:default:nobody', uid: 'u2', groups: ['system:serviceaccounts'] };

/** A reviewer that knows two tokens and allows one user; counts its calls, and fails while told to. */
function reviewer() {
  const calls = { authenticate: 0, authorize: 0 };
  const fail = { authenticate: false, authorize: false };
  const seen: string[] = [];
  const r: Reviewer = {
    async authenticate(token) {
      calls.authenticate++;
      seen.push(token);
      if (fail.authenticate) throw new Error('connect ECONNREFUSED');
      return token === 'reader-token' ? reader : token === 'stranger-token' ? stranger : undefined;
    },
    async authorize(user, verb, path) {
      calls.authorize++;
      if (fail.authorize) throw new Error('the server is currently unable to handle the request');
      return { allowed: user.username === reader.username && verb === 'get' && path === '/metrics' };
    },
  };
  return { r, calls, fail, seen };
}

function clock() {
  const c = { t: 1_000_000, now: () => c.t };
  return c;
}

describe('who may read /metrics', () => {
  it.each<[string, string, string | undefined, number]>([
    ['no Authorization header', 'GET', undefined, 401],
    ['an empty bearer', 'GET', 'Bearer ', 401],
    ['basic auth instead of a bearer token', 'GET', 'Basic dXNlcjpwYXNz', 401],
    ['a token the API server does not accept', 'GET', 'Bearer forged', 401],
    ['an accepted token of a user not allowed to get /metrics', 'GET', 'Bearer stranger-token', 403],
    ['an accepted token of an allowed user', 'GET', 'Bearer reader-token', 200],
    ['the same, bearer spelled in lower case', 'GET', 'bearer reader-token', 200],
    ['HEAD, which the API server also maps to get', 'HEAD', 'Bearer reader-token', 200],
    ['POST, which /metrics does not serve', 'POST', 'Bearer reader-token', 405],
  ])('%s: %i', async (_what, method, header, status) => {
    const { r } = reviewer();
    expect((await new MetricsAuth(r).check(method, '/metrics', header)).status).toBe(status);
  });

  it('asks nothing of the API server for a request without a token', async () => {
    const { r, calls } = reviewer();
    await new MetricsAuth(r).check('GET', '/metrics', undefined);
    expect(calls).toEqual({ authenticate: 0, authorize: 0 });
  });

  it('names the user it refuses, never the token', async () => {
    const { r } = reviewer();
    const v = await new MetricsAuth(r).check('GET', '/metrics', 'Bearer stranger-token');
    expect(v.message).toContain(stranger.username);
    expect(JSON.stringify(v)).not.toContain('stranger-token');
  });

  it('answers 500 when the TokenReview fails, and asks again next time (errors are not cached)', async () => {
    const { r, calls, fail } = reviewer();
    const auth = new MetricsAuth(r);
    fail.authenticate = true;
    const v = await auth.check('GET', '/metrics', 'Bearer reader-token');
    expect(v).toMatchObject({ status: 500, message: 'Authentication failed' });
    expect(v.error).toMatch(/TokenReview: connect ECONNREFUSED/);
    expect(v.error).not.toContain('reader-token');
    fail.authenticate = false;
    expect((await auth.check('GET', '/metrics', 'Bearer reader-token')).status).toBe(200);
    expect(calls.authenticate).toBe(2);
  });

  it('answers 500 when the SubjectAccessReview fails, and asks again next time', async () => {
    const { r, calls, fail } = reviewer();
    const auth = new MetricsAuth(r);
    fail.authorize = true;
    expect(await auth.check('GET', '/metrics', 'Bearer reader-token')).toMatchObject({ status: 500, message: 'Authorization failed', error: expect.stringMatching(/^SubjectAccessReview: /) });
    fail.authorize = false;
    expect((await auth.check('GET', '/metrics', 'Bearer reader-token')).status).toBe(200);
    expect(calls.authorize).toBe(2);
  });
});

describe('the review cache', () => {
  it('keeps an identity for a minute and an allow for five: one review each for many scrapes', async () => {
    const { r, calls } = reviewer();
    const c = clock();
    const auth = new MetricsAuth(r, c.now);
    for (let i = 0; i < 5; i++) {
      expect((await auth.check('GET', '/metrics', 'Bearer reader-token')).status).toBe(200);
      c.t += 10_000;
    }
    expect(calls).toEqual({ authenticate: 1, authorize: 1 });
    // Past the minute the token is reviewed again; the allow is still fresh.
    c.t = 1_000_000 + CACHE_TTL_MS.identity;
    await auth.check('GET', '/metrics', 'Bearer reader-token');
    expect(calls).toEqual({ authenticate: 2, authorize: 1 });
    c.t = 1_000_000 + CACHE_TTL_MS.allowed;
    await auth.check('GET', '/metrics', 'Bearer reader-token');
    expect(calls).toEqual({ authenticate: 3, authorize: 2 });
  });

  it('keeps a denial only thirty seconds, so a new binding is honoured soon', async () => {
    const { r, calls } = reviewer();
    const c = clock();
    const auth = new MetricsAuth(r, c.now);
    await auth.check('GET', '/metrics', 'Bearer stranger-token');
    c.t += CACHE_TTL_MS.denied - 1;
    await auth.check('GET', '/metrics', 'Bearer stranger-token');
    expect(calls.authorize).toBe(1);
    c.t += 1;
    await auth.check('GET', '/metrics', 'Bearer stranger-token');
    expect(calls.authorize).toBe(2);
  });

  it('remembers a refused token for the minute too', async () => {
    const { r, calls } = reviewer();
    const c = clock();
    const auth = new MetricsAuth(r, c.now);
    expect((await auth.check('GET', '/metrics', 'Bearer forged')).status).toBe(401);
    expect((await auth.check('GET', '/metrics', 'Bearer forged')).status).toBe(401);
    expect(calls.authenticate).toBe(1);
    c.t += CACHE_TTL_MS.identity;
    await auth.check('GET', '/metrics', 'Bearer forged');
    expect(calls.authenticate).toBe(2);
  });

  it('holds at most CACHE_MAX entries, dropping the oldest', () => {
    const cache = new ExpiringCache<number>(3);
    for (let i = 0; i < 5; i++) cache.set(`k${i}`, i, 100);
    expect(cache.size).toBe(3);
    expect([cache.get('k0', 0), cache.get('k1', 0), cache.get('k2', 0), cache.get('k4', 0)]).toEqual([undefined, undefined, 2, 4]);
    expect(new ExpiringCache<number>().get('x', 0)).toBeUndefined();
    expect(CACHE_MAX).toBeGreaterThan(100);
  });

  it('forgets an entry at its expiry time exactly', () => {
    const cache = new ExpiringCache<string>();
    cache.set('k', 'v', 50);
    expect(cache.get('k', 49)).toBe('v');
    expect(cache.get('k', 50)).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
