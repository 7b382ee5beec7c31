// The HTTPS /metrics server on loopback. The reviewer is played here (the e2e test,
// test/e2e/production-metrics.test.ts, uses the API server's real TokenReview and
// SubjectAccessReview); the TLS, the certificate files and their reload are real.
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Reviewer } from './auth.js';
import { CERT_FILE, KEY_FILE } from './certificate.js';
import { selfSigned } from './selfsigned.js';
import { serveSecureMetrics, type SecureMetricsServer } from './server.js';

const reviewer: Reviewer = {
  authenticate: async (token) => (token === 'good' || token === 'other' ? { username: token } : undefined),
  authorize: async (user) => ({ allowed: user.username === 'good' }),
};

function registry(): Registry {
  const r = new Registry();
  new Counter({ name: 'coxswain_test_total', help: 'a test counter', registers: [r] }).inc(3);
  return r;
}

interface Answer { status: number; body: string; headers: Record<string, unknown>; fingerprint: string }

/** One request on a fresh connection, verifying the server against `ca` for the name localhost. */
function get(server: SecureMetricsServer, path: string, ca: string, token?: string): Promise<Answer> {
  const { port } = server.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path, ca, servername: 'localhost', agent: false, headers: token ? { Authorization: `Bearer ${token}` } : {} }, (res) => {
      const fingerprint = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers, fingerprint }));
    });
    req.on('error', reject);
  });
}

const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;
const quiet = pino({ level: 'silent' });
let open: SecureMetricsServer | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

function certDir() {
  const dir = mkdtempSync(join(tmpdir(), 'coxswain-metrics-'));
  const write = (pair: { cert: string; key: string }) => {
    // As a Secret volume does: the new files appear whole (here by rename), never half-written.
    for (const [name, text] of [[CERT_FILE, pair.cert], [KEY_FILE, pair.key]] as const) {
      writeFileSync(join(dir, `.${name}.tmp`), text);
      renameSync(join(dir, `.${name}.tmp`), join(dir, name));
    }
  };
  return { dir, write };
}

describe('/metrics over HTTPS', () => {
  it('answers 401 without a token, 403 for a user not allowed, 200 with the metrics for one allowed', async () => {
    const { dir, write } = certDir();
    const pair = selfSigned(['localhost'], new Date());
    write(pair);
    open = await serveSecureMetrics({ listen: '127.0.0.1:0', certDir: dir, registry: registry(), reviewer, log: quiet });
    const none = await get(open, '/metrics', pair.cert);
    expect([none.status, none.headers['www-authenticate']]).toEqual([401, 'Bearer']);
    expect((await get(open, '/metrics', pair.cert, 'forged')).status).toBe(401);
    const other = await get(open, '/metrics', pair.cert, 'other');
    expect(other.status).toBe(403);
    expect(other.body).toMatch(/other may not get \/metrics/);
    const good = await get(open, '/metrics', pair.cert, 'good');
    expect(good.status).toBe(200);
    expect(good.body).toMatch(/^coxswain_test_total 3$/m);
    expect(good.fingerprint).toBe(fingerprintOf(pair.cert));
    expect((await get(open, '/healthz', pair.cert, 'good')).status).toBe(404);
  });

  it('serves a replaced certificate without a restart, and keeps the last good one when the new pair does not load', async () => {
    const { dir, write } = certDir();
    const first = selfSigned(['localhost'], new Date());
    write(first);
    open = await serveSecureMetrics({ listen: '127.0.0.1:0', certDir: dir, registry: registry(), reviewer, log: quiet });
    expect((await get(open, '/metrics', first.cert, 'good')).fingerprint).toBe(fingerprintOf(first.cert));

    const second = selfSigned(['localhost'], new Date());
    write(second);
    await open.reloadCertificate();
    const after = await get(open, '/metrics', second.cert, 'good');
    expect([after.status, after.fingerprint]).toEqual([200, fingerprintOf(second.cert)]);
    // Verified against the first certificate, the server now fails.
    await expect(get(open, '/metrics', first.cert, 'good')).rejects.toThrow();

    // A certificate with another pair's key: refused, the second one still served.
    write({ cert: selfSigned(['localhost'], new Date()).cert, key: first.key });
    await open.reloadCertificate();
    expect((await get(open, '/metrics', second.cert, 'good')).fingerprint).toBe(fingerprintOf(second.cert));
  });

  it('refuses to start on a directory without a loadable pair, naming the file', async () => {
    const { dir } = certDir();
    await expect(serveSecureMetrics({ listen: '127.0.0.1:0', certDir: dir, registry: registry(), reviewer, log: quiet })).rejects.toThrow(/tls\.crt/);
  });

  it('makes a self-signed certificate for localhost and 127.0.0.1 without a directory', async () => {
    open = await serveSecureMetrics({ listen: '127.0.0.1:0', registry: registry(), reviewer, log: quiet });
    const { port } = open.server.address() as AddressInfo;
    // Read the certificate it serves, then trust exactly that one.
    const served = await new Promise<string>((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port, path: '/metrics', rejectUnauthorized: false, agent: false }, (res) => {
        const raw = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().raw;
        res.resume();
        resolve(`-----BEGIN CERTIFICATE-----\n${raw.toString('base64')}\n-----END CERTIFICATE-----\n`);
      });
      req.on('error', reject);
    });
    const x = new X509Certificate(served);
    expect(x.subjectAltName).toContain('DNS:localhost');
    expect(x.subjectAltName).toContain('IP Address:127.0.0.1');
    expect((await get(open, '/metrics', served, 'good')).status).toBe(200);
  });
});
