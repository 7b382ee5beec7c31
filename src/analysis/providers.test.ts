// The providers against real HTTP(S) servers on loopback: what goes over the wire (credentials,
// headers, escaping, TLS with a CA file), deadlines, and how answers become samples. The answers
// here are Prometheus' documented response shapes; test/e2e/analysis-prometheus.test.ts asks a
// real Prometheus the same questions.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Metric } from './api.js';
import type { MeasurementRequest, Vars } from './types.js';
import { pick } from './jsonpath.js';
import { expand, json, promql, url } from './placeholders.js';
import { parseSampleValue, queryPrometheus } from './prometheus.js';
import { AnalysisRunner, realProviders } from './runner.js';
import { queryWeb } from './web.js';

interface Seen { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }
type Handler = (req: Seen, res: http.ServerResponse) => void;

const servers: Array<http.Server | https.Server> = [];
async function serve(handler: Handler, tls?: { key: string; cert: string }): Promise<{ base: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(s);
      handler(s, res);
    });
  };
  const server = tls ? https.createServer(tls, onRequest) : http.createServer(onRequest);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { base: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, seen };
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })));
});

const json200 = (doc: unknown) => (_req: Seen, res: http.ServerResponse) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(doc)); };
const vector = (...values: string[]) => ({ status: 'success', data: { resultType: 'vector', result: values.map((v, i) => ({ metric: { i: String(i) }, value: [1700000000.1, v] })) } });
const opts = (address?: string) => ({ address, timeoutMs: 2000 });
const vars: Vars = { name: 'orders', namespace: 'shop', revision: 'abc123', slot: 'green', stableRevision: 'def456', candidateRevision: 'abc123' };

describe('Prometheus: answers become samples', () => {
  it.each<[string, unknown, unknown]>([
    ['one series', vector('0.25'), { values: [0.25] }],
    ['an empty vector (no data)', vector(), { values: [] }],
    ['NaN', vector('NaN'), { values: [Number.NaN] }],
    ['+Inf and -Inf', vector('+Inf', '-Inf'), { values: [Infinity, -Infinity] }],
    ['a scalar', { status: 'success', data: { resultType: 'scalar', result: [1, '3'] } }, { values: [3] }],
    ['a string', { status: 'success', data: { resultType: 'string', result: [1, 'ok'] } }, { values: ['ok'] }],
  ])('%s', async (_what, doc, sample) => {
    const { base } = await serve(json200(doc));
    expect(await queryPrometheus(opts(base), undefined, 'q')).toEqual(sample);
  });

  it('a range vector is an error that says what to do', async () => {
    const { base } = await serve(json200({ status: 'success', data: { resultType: 'matrix', result: [] } }));
    expect(await queryPrometheus(opts(base), undefined, 'q')).toEqual({ error: expect.stringContaining('range vector') });
  });

  it('a bad query is an error with Prometheus own words', async () => {
    const { base } = await serve((_r, res) => { res.writeHead(400); res.end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: '1:5: parse error: unexpected end of input' })); });
    expect(await queryPrometheus(opts(base), undefined, 'sum(')).toEqual({ error: 'Prometheus answered HTTP 400: bad_data: 1:5: parse error: unexpected end of input' });
  });

  it('a proxy error page is an error with its status', async () => {
    const { base } = await serve((_r, res) => { res.writeHead(502); res.end('<html>Bad Gateway</html>'); });
    expect(await queryPrometheus(opts(base), undefined, 'q')).toEqual({ error: 'Prometheus answered HTTP 502: <html>Bad Gateway</html>' });
  });

  it('nothing listening is an error naming the address', async () => {
    const { base } = await serve(json200(vector('1')));
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
    expect(await queryPrometheus(opts(base), undefined, 'q')).toEqual({ error: expect.stringMatching(new RegExp(`querying ${base}: .*ECONNREFUSED`)) });
  });

  it('a server that never answers is cut off at the timeout', async () => {
    const { base } = await serve(() => { /* never answers */ });
    const r = await queryPrometheus({ address: base, timeoutMs: 300 }, undefined, 'q');
    expect(r).toEqual({ error: `querying ${base}: timed out after 0.3s` });
  });

  it('no address anywhere is an error saying where to set one', async () => {
    expect(await queryPrometheus({ timeoutMs: 1000 }, undefined, 'q')).toEqual({ error: expect.stringContaining('--prometheus-address') });
  });

  it('sends the query as a form POST to /api/v1/query', async () => {
    const { base, seen } = await serve(json200(vector('1')));
    await queryPrometheus(opts(`${base}/`), undefined, 'sum(rate(x{a="b"}[1m]))');
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/api/v1/query', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(new URLSearchParams(seen[0]!.body).get('query')).toBe('sum(rate(x{a="b"}[1m]))');
  });

  it('parses sample values strictly', () => {
    expect([parseSampleValue('1e-3'), parseSampleValue('Inf')]).toEqual([0.001, Infinity]);
    expect(() => parseSampleValue('')).toThrow();
    expect(() => parseSampleValue('abc')).toThrow();
  });
});

describe('Prometheus: credentials from the operator', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coxswain-prom-'));
  const tokenFile = join(dir, 'token');
  const passwordFile = join(dir, 'password');
  writeFileSync(tokenFile, 's3cret-token\n');
  writeFileSync(passwordFile, 'hunter2\n');

  it('sends the bearer token file and the extra headers to the operator Prometheus', async () => {
    const { base, seen } = await serve(json200(vector('1')));
    await queryPrometheus({ address: base, timeoutMs: 2000, bearerTokenFile: tokenFile, headers: { 'X-Scope-OrgID': 'team-a' } }, undefined, 'q');
    expect(seen[0]!.headers).toMatchObject({ authorization: 'Bearer s3cret-token', 'x-scope-orgid': 'team-a' });
  });

  it('reads the token file on every query, so a rotated token is used at once', async () => {
    const { base, seen } = await serve(json200(vector('1')));
    const file = join(dir, 'rotating');
    writeFileSync(file, 'one');
    await queryPrometheus({ address: base, timeoutMs: 2000, bearerTokenFile: file }, undefined, 'q');
    writeFileSync(file, 'two');
    await queryPrometheus({ address: base, timeoutMs: 2000, bearerTokenFile: file }, undefined, 'q');
    expect(seen.map((s) => s.headers.authorization)).toEqual(['Bearer one', 'Bearer two']);
  });

  it('sends basic auth from a password file', async () => {
    const { base, seen } = await serve(json200(vector('1')));
    await queryPrometheus({ address: base, timeoutMs: 2000, basicAuth: { username: 'coxswain', passwordFile } }, undefined, 'q');
    expect(seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from('coxswain:hunter2').toString('base64')}`);
  });

  it('never sends them to another address a Microservice names', async () => {
    const operators = await serve(json200(vector('1')));
    const other = await serve(json200(vector('1')));
    const o = { address: operators.base, timeoutMs: 2000, bearerTokenFile: tokenFile, headers: { 'X-Scope-OrgID': 'team-a' } };
    await queryPrometheus(o, other.base, 'q');
    expect(other.seen[0]!.headers.authorization).toBeUndefined();
    expect(other.seen[0]!.headers['x-scope-orgid']).toBeUndefined();
    await queryPrometheus(o, `${operators.base}/`, 'q');
    expect(operators.seen[0]!.headers.authorization).toBe('Bearer s3cret-token');
  });
});

describe('Prometheus over TLS with a CA file', () => {
  let tls: { key: string; cert: string; caFile: string };
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'coxswain-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const read = (f: string) => execFileSync('cat', [join(dir, f)]).toString();
    tls = { key: read('key.pem'), cert: read('cert.pem'), caFile: join(dir, 'cert.pem') };
  });
  afterAll(() => undefined);

  it('trusts the server whose certificate the CA file holds', async () => {
    const { base } = await serve(json200(vector('0.5')), tls);
    expect(await queryPrometheus({ address: base, timeoutMs: 2000, caFile: tls.caFile }, undefined, 'q')).toEqual({ values: [0.5] });
  });

  it('refuses it without the CA file', async () => {
    const { base } = await serve(json200(vector('0.5')), tls);
    expect(await queryPrometheus({ address: base, timeoutMs: 2000 }, undefined, 'q')).toEqual({ error: expect.stringMatching(/self[- ]signed|unable to verify/i) });
  });
});

describe('web', () => {
  const web = (w: Record<string, unknown>) => Metric.parse({ name: 'smoke', web: w, ...(w.jsonPath ? { equals: true } : {}) }).web!;

  it('GETs the URL with the placeholders URL-escaped, and picks the value by JSONPath', async () => {
    const { base, seen } = await serve(json200({ passed: true, results: [{ ok: 'yes' }] }));
    expect(await queryWeb(web({ url: `${base}/run?svc={{name}}&rev={{revision}}&q={{namespace}}`, jsonPath: '$.passed' }), { ...vars, namespace: 'a b&c' })).toEqual({ values: [true] });
    expect(seen[0]!.url).toBe('/run?svc=orders&rev=abc123&q=a%20b%26c');
    expect(await queryWeb(web({ url: base, jsonPath: "$.results[0]['ok']" }), vars)).toEqual({ values: ['yes'] });
  });

  it('POSTs a body with the placeholders JSON-escaped', async () => {
    const { base, seen } = await serve(json200({ ok: 1 }));
    await queryWeb(web({ url: base, method: 'POST', body: '{"rev":"{{revision}}","name":"{{name}}"}', jsonPath: '$.ok' }), { ...vars, name: 'a"b' });
    expect(seen[0]!.method).toBe('POST');
    expect(JSON.parse(seen[0]!.body)).toEqual({ rev: 'abc123', name: 'a"b' });
  });

  it('without a jsonPath the value is the status code', async () => {
    const { base } = await serve((_r, res) => { res.writeHead(503); res.end('down'); });
    expect(await queryWeb(web({ url: base }), vars)).toEqual({ values: [503] });
  });

  it('with a jsonPath, a failed status, a body that is not JSON, or an object is an error; a missing field is no data', async () => {
    const failing = await serve((_r, res) => { res.writeHead(500); res.end('boom'); });
    expect(await queryWeb(web({ url: failing.base, jsonPath: '$.ok' }), vars)).toEqual({ error: expect.stringContaining('answered HTTP 500: boom') });
    const html = await serve((_r, res) => { res.writeHead(200); res.end('<html>'); });
    expect(await queryWeb(web({ url: html.base, jsonPath: '$.ok' }), vars)).toEqual({ error: expect.stringContaining('no JSON') });
    const doc = await serve(json200({ ok: { nested: 1 } }));
    expect(await queryWeb(web({ url: doc.base, jsonPath: '$.ok' }), vars)).toEqual({ error: '$.ok is an object, not a value' });
    expect(await queryWeb(web({ url: doc.base, jsonPath: '$.missing' }), vars)).toEqual({ values: [] });
  });

  it('is cut off at its timeout', async () => {
    const { base } = await serve(() => { /* never answers */ });
    expect(await queryWeb(web({ url: base, timeout: '200ms' }), vars)).toEqual({ error: `GET ${base}: timed out after 0.2s` });
  });
});

describe('placeholders and JSONPath', () => {
  it('escapes each value for where it lands', () => {
    const evil = { ...vars, name: 'a"} or vector(1) #\\' };
    expect(expand('x{name="{{name}}",rev="{{revision}}"}', evil, promql)).toBe('x{name="a\\"} or vector(1) #\\\\",rev="abc123"}');
    expect(expand('/{{name}}', evil, url)).toBe(`/${encodeURIComponent(evil.name)}`);
    expect(JSON.parse(`"${expand('{{name}}', evil, json)}"`)).toBe(evil.name);
    expect(expand('{{slot}} {{stableRevision}} {{candidateRevision}} {{namespace}}', vars, url)).toBe('green def456 abc123 shop');
  });

  it.each<[unknown, string, unknown]>([
    [{ a: { b: [1, 2] } }, '$.a.b[1]', { values: [2] }],
    [{ 'error-rate': 0.1 }, "$['error-rate']", { values: [0.1] }],
    [{ a: null }, '$.a', { values: [] }],
    [[true], '$[0]', { values: [true] }],
    [{ a: [1] }, '$.a', { error: '$.a is an array, not a value' }],
    [5, '$', { values: [5] }],
  ])('picks %j at %s', (doc, path, sample) => {
    expect(pick(doc, path)).toEqual(sample);
  });
});

describe('AnalysisRunner', () => {
  const metric = Metric.parse({ name: 'error-rate', prometheus: { query: 'rate(x{revision="{{revision}}"}[1m])' }, max: 1, maxRatioToStable: 2 });
  const request = (seq: number): MeasurementRequest => ({
    key: `step-1@t/error-rate#${seq}`, run: 'step-1', runStartedAt: 't', revision: 'abc123', metric, seq, vars, stableVars: { ...vars, revision: 'def456', slot: 'blue' },
  });

  it('queries the candidate and the stable revision, files the result under the Microservice, and says so', async () => {
    const { base, seen } = await serve((req, res) => {
      const q = new URLSearchParams(req.body).get('query')!;
      json200(vector(q.includes('abc123') ? '0.2' : '0.1'))(req, res);
    });
    const done: string[] = [];
    const runner = new AnalysisRunner(realProviders({ address: base, timeoutMs: 2000 }), (k) => done.push(k), () => new Date('2026-01-01T00:00:00Z'));
    runner.take('shop/orders', [request(1)]);
    runner.take('shop/orders', [request(1)]); // asked again by the next reconcile: not taken twice
    expect(runner.inFlight).toBe(1);
    await until(() => done.length > 0);
    expect(seen).toHaveLength(2);
    expect(runner.results('shop/orders')).toEqual([expect.objectContaining({ seq: 1, candidate: { values: [0.2] }, stable: { values: [0.1] }, at: '2026-01-01T00:00:00.000Z' })]);
    runner.take('shop/orders', [request(1)]); // still waiting in the inbox: not taken again
    expect(runner.inFlight).toBe(0);
  });

  it('keeps a result until a reconcile that was offered it has finished; newer ones stay', async () => {
    const { base } = await serve(json200(vector('0')));
    const done: string[] = [];
    const runner = new AnalysisRunner(realProviders({ address: base, timeoutMs: 2000 }), (k) => done.push(k));
    runner.take('shop/orders', [request(1)]);
    await until(() => done.length === 1);
    const offered = runner.results('shop/orders');
    runner.take('shop/orders', [request(2)]);
    await until(() => done.length === 2);
    runner.ack('shop/orders', offered);
    expect(runner.results('shop/orders').map((r) => r.seq)).toEqual([2]);
  });

  it('a provider that throws is an error result, never a crash', async () => {
    const runner = new AnalysisRunner({ prometheus: () => Promise.reject(new Error('boom')), web: () => Promise.reject(new Error('x')) }, () => undefined);
    runner.take('k', [request(1)]);
    await until(() => runner.results('k').length === 1);
    expect(runner.results('k')[0]!.candidate).toEqual({ error: 'boom' });
  });

  it('drops what a forgotten Microservice had, and what was in flight for it', async () => {
    let answer: () => void = () => undefined;
    const runner = new AnalysisRunner({ prometheus: () => new Promise((r) => { answer = () => r({ values: [1] }); }), web: () => Promise.resolve({ values: [] }) }, () => undefined);
    runner.take('k', [request(1)]);
    runner.forget('k');
    answer();
    await new Promise((r) => setTimeout(r, 20));
    expect(runner.results('k')).toEqual([]);
  });
});

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
