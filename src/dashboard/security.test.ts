import { describe, expect, it } from 'vitest';
import { allowedHosts, bindProblem, COOKIE, judge, parseCookies, tokenCookie, type RequestFacts } from './security.js';

const TOKEN = 'tok-123';
const HOSTS = allowedHosts('127.0.0.1', 27501);
const get = (facts: Partial<RequestFacts>): RequestFacts => ({ method: 'GET', host: '127.0.0.1:27501', ...facts });
const withCookie = `${COOKIE}=${TOKEN}`;

describe('judge', () => {
  it('answers a foreign Host 403 whatever the token (DNS rebinding), and localhost, 127.0.0.1 or [::1] on its port', () => {
    expect(judge(get({ host: 'evil.example:27501', cookie: withCookie }), HOSTS, TOKEN)).toMatchObject({ allow: false, status: 403 });
    expect(judge(get({ host: '127.0.0.1:9999', cookie: withCookie }), HOSTS, TOKEN)).toMatchObject({ allow: false, status: 403 });
    expect(judge(get({ host: undefined, cookie: withCookie }), HOSTS, TOKEN)).toMatchObject({ allow: false, status: 403 });
    for (const host of ['localhost:27501', '127.0.0.1:27501', '[::1]:27501', 'LOCALHOST:27501']) {
      expect(judge(get({ host, cookie: withCookie }), HOSTS, TOKEN)).toEqual({ allow: true, setCookie: false });
    }
  });

  it('answers 401 without the token, or with a wrong one', () => {
    expect(judge(get({}), HOSTS, TOKEN)).toMatchObject({ allow: false, status: 401 });
    expect(judge(get({ cookie: `${COOKIE}=tok-124` }), HOSTS, TOKEN)).toMatchObject({ allow: false, status: 401 });
    expect(judge(get({ queryToken: 'tok' }), HOSTS, TOKEN)).toMatchObject({ allow: false, status: 401 });
  });

  it('takes the token from the printed URL once and asks for it to be kept in the cookie; never from the URL of a POST', () => {
    expect(judge(get({ queryToken: TOKEN }), HOSTS, TOKEN)).toEqual({ allow: true, setCookie: true });
    expect(judge({ method: 'POST', host: '127.0.0.1:27501', queryToken: TOKEN, customHeader: '1' }, HOSTS, TOKEN)).toMatchObject({ allow: false, status: 401 });
  });

  it('refuses a POST from another origin, a cross-site fetch, or one without the custom header, with the cookie or not', () => {
    const post = (facts: Partial<RequestFacts>) => judge({ method: 'POST', host: '127.0.0.1:27501', cookie: withCookie, ...facts }, HOSTS, TOKEN);
    expect(post({ origin: 'http://127.0.0.1:27501', secFetchSite: 'same-origin', customHeader: '1' })).toEqual({ allow: true, setCookie: false });
    expect(post({ origin: 'https://evil.example', customHeader: '1' })).toMatchObject({ allow: false, status: 403 });
    expect(post({ secFetchSite: 'cross-site', customHeader: '1' })).toMatchObject({ allow: false, status: 403 });
    expect(post({ origin: 'http://127.0.0.1:27501' })).toMatchObject({ allow: false, status: 403, message: expect.stringContaining('x-coxswain-request') });
  });
});

describe('bindProblem', () => {
  it('lets loopback through, and another address only with --allow-remote', () => {
    for (const a of ['127.0.0.1', '::1', 'localhost', '127.0.0.2']) expect(bindProblem(a, false)).toBeUndefined();
    expect(bindProblem('0.0.0.0', false)).toContain('--allow-remote');
    expect(bindProblem('0.0.0.0', true)).toBeUndefined();
    expect(bindProblem('my-host', true)).toContain('an IP address');
  });
});

describe('cookies', () => {
  it('keeps the token HttpOnly and SameSite=Strict, and reads it back among others', () => {
    expect(tokenCookie(TOKEN)).toBe(`${COOKIE}=${TOKEN}; HttpOnly; SameSite=Strict; Path=/`);
    expect(parseCookies(`a=1; ${COOKIE}=${TOKEN}; b=x=y`)).toEqual({ a: '1', [COOKIE]: TOKEN, b: 'x=y' });
  });

  it('answers the given address as a Host too, an IPv6 one in brackets', () => {
    expect(allowedHosts('10.1.2.3', 80).has('10.1.2.3:80')).toBe(true);
    expect(allowedHosts('fd00::1', 80).has('[fd00::1]:80')).toBe(true);
  });
});
