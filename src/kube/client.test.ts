import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contextProblem, findKubeconfig, KubeClient, SERVICE_ACCOUNT_TOKEN, toApiError } from './client.js';
import { Kubeconfig } from './kubeconfig.js';

const NOTE = 'Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation';

describe('toApiError', () => {
  // Bodies the API server (v1.36) sent for a Microservice that failed its schema: it adds a
  // fieldless `<nil>` cause saying that the CEL rules did not run.
  it('drops the API server\'s fieldless <nil> note, and the brackets around the one cause left', () => {
    const err = toApiError(422, JSON.stringify({
      kind: 'Status', code: 422, reason: 'Invalid',
      message: `Microservice.coxswain.dev "good" is invalid: [spec.env[0].name: Required value, <nil>: ${NOTE}]`,
      details: { causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.env[0].name' }, { reason: 'FieldValueInvalid', message: NOTE, field: '<nil>' }] },
    }));
    expect([err.status, err.reason, err.message]).toEqual([422, 'Invalid', 'Microservice.coxswain.dev "good" is invalid: spec.env[0].name: Required value']);
    expect(err.causes).toEqual([{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.env[0].name' }]);
  });

  it('keeps the list when several causes are left', () => {
    const err = toApiError(422, JSON.stringify({
      reason: 'Invalid',
      message: `Microservice.coxswain.dev "good" is invalid: [spec.replicas: Invalid value: "string": must be of type integer, spec.image: Required value, <nil>: ${NOTE}]`,
      details: { causes: [{ field: 'spec.replicas', message: 'Invalid value: "string": must be of type integer' }, { field: 'spec.image', message: 'Required value' }, { field: '<nil>', message: NOTE }] },
    }));
    expect(err.message).toBe('Microservice.coxswain.dev "good" is invalid: [spec.replicas: Invalid value: "string": must be of type integer, spec.image: Required value]');
    expect(err.message).not.toContain('<nil>');
    expect(err.causes.map((c) => c.field)).toEqual(['spec.replicas', 'spec.image']);
  });

  it('leaves any other message as the server wrote it', () => {
    const message = 'Microservice.coxswain.dev "good" is invalid: spec.ports: Invalid value: every port needs a name when there are several';
    expect(toApiError(422, JSON.stringify({ reason: 'Invalid', message })).message).toBe(message);
  });

  it('reads a body that is not a Status as the message', () => {
    const err = toApiError(502, '<html>bad gateway</html>');
    expect([err.status, err.reason, err.message, err.causes]).toEqual([502, '502', '<html>bad gateway</html>', []]);
  });
});

describe('findKubeconfig: where the credentials come from, and what to say when there are none', () => {
  const files = (...present: string[]) => (path: string) => present.includes(path);

  it.each<[string, string | undefined, NodeJS.ProcessEnv, string[], unknown]>([
    ['the flag first', '/k/flag', { KUBECONFIG: '/k/env' }, ['/k/flag', '/k/env', '/home/me/.kube/config'], { files: ['/k/flag'], describe: '/k/flag' }],
    ['then KUBECONFIG', undefined, { KUBECONFIG: '/k/env' }, ['/k/env', '/home/me/.kube/config'], { files: ['/k/env'], describe: '/k/env' }],
    ['the files of KUBECONFIG that exist, as kubectl merges them', undefined, { KUBECONFIG: '/k/a:/k/gone:/k/b' }, ['/k/a', '/k/b'],
      { files: ['/k/a', '/k/b'], describe: 'KUBECONFIG (/k/a:/k/b)' }],
    ['then ~/.kube/config', undefined, {}, ['/home/me/.kube/config', SERVICE_ACCOUNT_TOKEN], { files: ['/home/me/.kube/config'], describe: '/home/me/.kube/config' }],
    ['then the pod\'s service account', undefined, { KUBECONFIG: '' }, [SERVICE_ACCOUNT_TOKEN], { inCluster: true, describe: 'the in-cluster service account' }],
  ])('%s', (_what, flag, env, present, expected) => {
    expect(findKubeconfig(flag, env, '/home/me', files(...present))).toEqual(expected);
  });

  it('says where it looked and what to set when there is nothing at all', () => {
    const found = findKubeconfig(undefined, {}, '/home/me', files());
    expect(found).toEqual({ problem: expect.stringContaining('KUBECONFIG is not set, /home/me/.kube/config does not exist') });
    const problem = (found as { problem: string }).problem;
    expect(problem).toContain(SERVICE_ACCOUNT_TOKEN);
    expect(problem).toMatch(/set KUBECONFIG or pass --kubeconfig FILE/);
    expect(problem).not.toMatch(/HTTP|skipTLSVerify/);
  });

  it.each<[string, string | undefined, NodeJS.ProcessEnv, RegExp]>([
    ['a --kubeconfig that is not there', '/k/nope', {}, /^--kubeconfig \/k\/nope: no such file$/],
    ['a KUBECONFIG whose files are all missing', undefined, { KUBECONFIG: '/k/a:/k/b' }, /^KUBECONFIG=\/k\/a:\/k\/b: no such files; point it \(or --kubeconfig\) at a kubeconfig file$/],
  ])('names %s', (_what, flag, env, problem) => {
    expect(findKubeconfig(flag, env, '/home/me', files('/home/me/.kube/config'))).toEqual({ problem: expect.stringMatching(problem) });
  });
});

describe('contexts', () => {
  const kubeconfig = (current: string, contexts: Array<[string, string]>) => [
    'apiVersion: v1', 'kind: Config', `current-context: "${current}"`,
    'clusters:', '- name: dev', '  cluster: { server: "https://dev.example:6443" }',
    'users:', '- name: me', '  user: { token: t }',
    `contexts:${contexts.length ? '' : ' []'}`, ...contexts.map(([name, cluster]) => `- name: ${name}\n  context: { cluster: ${cluster}, user: me }`),
  ].join('\n');
  const load = (text: string, context?: string) => {
    const kc = Kubeconfig.parse([{ text, dir: '/k' }]);
    if (context) kc.currentContext = context;
    return kc;
  };

  it.each<[string, string, string | undefined, string | undefined]>([
    ['a context that exists', kubeconfig('dev', [['dev', 'dev']]), undefined, undefined],
    ['--context naming one that does not exist', kubeconfig('dev', [['dev', 'dev'], ['prod', 'dev']]), 'nope', 'context "nope" does not exist in ~/x; it has "dev", "prod"'],
    ['a current context that does not exist', kubeconfig('gone', [['dev', 'dev']]), undefined, 'the current context "gone" of ~/x does not exist; it has "dev"'],
    ['no current context', kubeconfig('', [['dev', 'dev']]), undefined, '~/x sets no current context; choose one with --context (it has "dev")'],
    ['no contexts at all', kubeconfig('', []), undefined, '~/x sets no current context; choose one with --context (it has no contexts)'],
    ['a context whose cluster is missing', kubeconfig('dev', [['dev', 'elsewhere']]), undefined, 'context "dev" in ~/x names cluster "elsewhere", which is not defined there'],
  ])('%s', (_what, text, context, problem) => {
    expect(contextProblem(load(text, context), '~/x', !!context)).toBe(problem);
  });

  it('refuses --context nope before anything connects, listing the contexts there are', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'coxswain-kc-')), 'config');
    writeFileSync(file, kubeconfig('dev', [['dev', 'dev'], ['prod', 'dev']]));
    await expect(KubeClient.fromEnvironment(file, 'nope')).rejects.toThrow(`context "nope" does not exist in ${file}; it has "dev", "prod"`);
    const client = await KubeClient.fromEnvironment(file, 'prod');
    expect(client.currentNamespace).toBe('default');
    client.close();
  });
});

describe('a user authenticated by an exec plugin', () => {
  it('is handed to client-node, which runs the plugin; its token goes on each request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coxswain-exec-'));
    const plugin = join(dir, 'plugin.sh');
    writeFileSync(plugin, '#!/bin/sh\necho \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec"}}\'\n', { mode: 0o755 });
    const seen: Array<string | undefined> = [];
    const server = createServer((req, res) => { seen.push(req.headers.authorization); res.setHeader('Content-Type', 'application/json'); res.end('{"ok":true}'); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const file = join(dir, 'config');
    writeFileSync(file, [
      'apiVersion: v1', 'kind: Config', 'current-context: dev',
      'clusters:', '- name: dev', `  cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true }`,
      'users:', '- name: me', `  user: { exec: { apiVersion: client.authentication.k8s.io/v1, command: "${plugin}", interactiveMode: Never } }`,
      'contexts:', '- name: dev', '  context: { cluster: dev, user: me }',
    ].join('\n'));
    const client = await KubeClient.fromEnvironment(file);
    try {
      expect(await client.request('GET', '/version')).toEqual({ ok: true });
      expect(seen).toEqual(['Bearer from-exec']);
    } finally {
      client.close();
      server.close();
    }
  });
});
