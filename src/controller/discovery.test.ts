import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../kube/client.js';
import { HTTPROUTES } from '../kube/resources.js';
import { Discovery, serves } from './discovery.js';

/** A client whose discovery answers come from `answer` (a list of plurals, 404, or a failure). */
function client(answer: () => string[] | 404 | Error) {
  const paths: string[] = [];
  return {
    paths,
    async request<T>(_method: string, path: string): Promise<T> {
      paths.push(path);
      const a = answer();
      if (a === 404) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      if (a instanceof Error) throw a;
      return { kind: 'APIResourceList', resources: a.map((name) => ({ name })) } as T;
    },
  };
}
const log = pino({ level: 'silent' });

describe('serves', () => {
  it('asks the group version of the resource', async () => {
    const c = client(() => ['httproutes', 'httproutes/status']);
    expect(await serves(c, HTTPROUTES)).toBe(true);
    expect(c.paths).toEqual(['/apis/gateway.networking.k8s.io/v1']);
  });

  it.each<[string, () => string[] | 404 | Error, boolean | undefined]>([
    ['the group version without the resource', () => ['gateways', 'grpcroutes'], false],
    ['no such group version (404)', () => 404, false],
    ['a failure to answer', () => new Error('socket hang up'), undefined],
  ])('says %s is %s', async (_what, answer, expected) => {
    expect(await serves(client(answer), HTTPROUTES)).toBe(expected);
  });
});

describe('Discovery', () => {
  it('reports the first answer and every change, and nothing when unchanged or unanswered', async () => {
    let answer: string[] | 404 | Error = 404;
    const changes: boolean[] = [];
    const d = new Discovery(client(() => answer), [HTTPROUTES], 60_000, log, (_r, served) => { changes.push(served); });
    expect(d.served(HTTPROUTES)).toBeUndefined();
    await d.poll();
    await d.poll();
    expect([changes, d.served(HTTPROUTES)]).toEqual([[false], false]);
    answer = ['httproutes'];
    await d.poll();
    answer = new Error('timeout');
    await d.poll();
    expect([changes, d.served(HTTPROUTES)]).toEqual([[false, true], true]);
    answer = 404;
    await d.poll();
    expect(changes).toEqual([false, true, false]);
  });

  it('waits for the handler of a change before the poll resolves', async () => {
    const order: string[] = [];
    const d = new Discovery(client(() => ['httproutes']), [HTTPROUTES], 60_000, log, async () => {
      await new Promise((r) => setTimeout(r, 10));
      order.push('handled');
    });
    await d.poll();
    order.push('polled');
    expect(order).toEqual(['handled', 'polled']);
  });
});
