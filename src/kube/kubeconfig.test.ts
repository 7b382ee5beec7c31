import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Kubeconfig } from './kubeconfig.js';

const dir = mkdtempSync(join(tmpdir(), 'coxswain-kubeconfig-'));
writeFileSync(join(dir, 'ca.crt'), 'CA FROM FILE');
writeFileSync(join(dir, 'token'), 'token-from-file\n');
writeFileSync(join(dir, 'namespace'), 'ops\n');

const config = (user: string, cluster = 'server: https://dev.example:6443') => `
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev
  cluster: { ${cluster} }
users:
- name: me
  user: { ${user} }
contexts:
- name: dev
  context: { cluster: dev, user: me, namespace: team }
`;

describe('Kubeconfig: credentials read as kubectl reads them', () => {
  it('client certificates and a CA given inline, base64 as in the file', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const kc = Kubeconfig.parse([{ text: config(`client-certificate-data: ${b64('CERT')}, client-key-data: ${b64('KEY')}`, `server: https://dev.example:6443, certificate-authority-data: ${b64('CA')}`), dir }]);
    const c = kc.credentials('~/x');
    expect(c.server.href).toBe('https://dev.example:6443/');
    expect([String(c.tls.ca), String(c.tls.cert), String(c.tls.key), c.tls.rejectUnauthorized]).toEqual(['CA', 'CERT', 'KEY', true]);
    expect(await c.headers()).toEqual({});
    expect(kc.context?.namespace).toBe('team');
  });

  it('files named relative to the kubeconfig that names them', async () => {
    const kc = Kubeconfig.parse([{ text: config('tokenFile: token', 'server: https://dev.example:6443, certificate-authority: ca.crt'), dir }]);
    const c = kc.credentials('~/x');
    expect(String(c.tls.ca)).toBe('CA FROM FILE');
    expect(await c.headers()).toEqual({ Authorization: 'Bearer token-from-file' });
  });

  it('a token, or a user name and password', async () => {
    expect(await Kubeconfig.parse([{ text: config('token: abc'), dir }]).credentials('~/x').headers()).toEqual({ Authorization: 'Bearer abc' });
    expect(await Kubeconfig.parse([{ text: config('username: u, password: p'), dir }]).credentials('~/x').headers())
      .toEqual({ Authorization: `Basic ${Buffer.from('u:p').toString('base64')}` });
  });

  it('refuses plain HTTP unless TLS checks are off, saying where', () => {
    expect(() => Kubeconfig.parse([{ text: config('token: a', 'server: http://dev.example'), dir }]).credentials('~/x'))
      .toThrow('the cluster of context "dev" in ~/x is plain HTTP (http://dev.example); use its https address, or set insecure-skip-tls-verify: true on it');
    const insecure = Kubeconfig.parse([{ text: config('token: a', 'server: https://dev.example, insecure-skip-tls-verify: true, tls-server-name: api'), dir }]).credentials('~/x');
    expect([insecure.tls.rejectUnauthorized, insecure.tls.servername]).toEqual([false, 'api']);
  });

  it('merges files as kubectl does: the first file to name an entry or a current context wins', () => {
    const other = config('token: second').replace('current-context: dev', 'current-context: prod')
      .replace('- name: dev\n  context:', '- name: prod\n  context:');
    const kc = Kubeconfig.parse([{ text: config('token: first').replace('current-context: dev', ''), dir }, { text: other, dir }]);
    expect(kc.currentContext).toBe('prod');
    expect([...kc.contexts.keys()]).toEqual(['dev', 'prod']);
    expect(kc.user.token).toBe('first');
  });

  it('leaves exec plugins and auth providers to client-node', () => {
    expect(Kubeconfig.parse([{ text: config('exec: { command: aws }'), dir }]).needsPlugin).toBe(true);
    expect(Kubeconfig.parse([{ text: config('auth-provider: { name: oidc }'), dir }]).needsPlugin).toBe(true);
    expect(Kubeconfig.parse([{ text: config('token: a'), dir }]).needsPlugin).toBe(false);
  });

  it('in a pod: the service account\'s token, CA and namespace, and the API server from the environment', async () => {
    const kc = Kubeconfig.inCluster({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, dir);
    const c = kc.credentials('the in-cluster service account');
    expect(c.server.href).toBe('https://[fd00::1]/');
    expect(String(c.tls.ca)).toBe('CA FROM FILE');
    expect(await c.headers()).toEqual({ Authorization: 'Bearer token-from-file' });
    expect(kc.context?.namespace).toBe('ops');
    expect(() => Kubeconfig.inCluster({}, dir)).toThrow(/KUBERNETES_SERVICE_HOST/);
  });
});
