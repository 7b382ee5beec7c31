import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRunOptions } from './run.js';

describe('coxswain run: leader election options', () => {
  it('is off by default, with the Lease coxswain-leader in the pod namespace when on', () => {
    const off = parseRunOptions([], {});
    expect(off.leaderElect).toBe(false);
    const on = parseRunOptions(['--leader-elect'], { POD_NAMESPACE: 'coxswain-system' });
    expect(on).toMatchObject({ leaderElect: true, leaderElectionNamespace: 'coxswain-system', leaderElectionId: 'coxswain-leader' });
  });

  it('takes the flags over the environment', () => {
    const o = parseRunOptions(['--leader-elect', '--leader-election-namespace', 'ops', '--leader-election-id', 'other'],
      { POD_NAMESPACE: 'coxswain-system', COXSWAIN_LEADER_ELECTION_ID: 'env-id' });
    expect(o).toMatchObject({ leaderElect: true, leaderElectionNamespace: 'ops', leaderElectionId: 'other' });
  });

  it('reads COXSWAIN_LEADER_ELECT and COXSWAIN_LEADER_ELECTION_ID', () => {
    expect(parseRunOptions([], { COXSWAIN_LEADER_ELECT: 'true' }).leaderElect).toBe(true);
    expect(parseRunOptions([], { COXSWAIN_LEADER_ELECT: '0' }).leaderElect).toBe(false);
    expect(parseRunOptions([], { COXSWAIN_LEADER_ELECTION_ID: 'env-id' }).leaderElectionId).toBe('env-id');
  });

  it('leaves the namespace to the kubeconfig without the flag or POD_NAMESPACE', () => {
    expect(parseRunOptions(['--leader-elect'], {}).leaderElectionNamespace).toBeUndefined();
  });
});

describe('coxswain run: the Gateway API', () => {
  it('watches HTTPRoutes where they are served unless --gateway-api=false or COXSWAIN_GATEWAY_API=false', () => {
    expect(parseRunOptions([], {}).manager.gatewayAPI).toBe(true);
    expect(parseRunOptions(['--gateway-api', 'false'], {}).manager.gatewayAPI).toBe(false);
    expect(parseRunOptions([], { COXSWAIN_GATEWAY_API: 'false' }).manager.gatewayAPI).toBe(false);
    expect(parseRunOptions(['--gateway-api=true'], { COXSWAIN_GATEWAY_API: 'false' }).manager.gatewayAPI).toBe(true);
  });

  it('refuses anything but true or false', () => {
    expect(() => parseRunOptions(['--gateway-api', 'maybe'], {})).toThrow(/--gateway-api must be true or false/);
  });
});

describe('coxswain run: PodMonitors', () => {
  it('watches PodMonitors where they are served unless --pod-monitors=false or COXSWAIN_POD_MONITORS=false', () => {
    expect(parseRunOptions([], {}).manager.podMonitors).toBe(true);
    expect(parseRunOptions(['--pod-monitors', 'false'], {}).manager.podMonitors).toBe(false);
    expect(parseRunOptions([], { COXSWAIN_POD_MONITORS: 'false' }).manager.podMonitors).toBe(false);
    expect(parseRunOptions(['--pod-monitors=true'], { COXSWAIN_POD_MONITORS: 'false' }).manager.podMonitors).toBe(true);
    expect(() => parseRunOptions(['--pod-monitors', 'no'], {})).toThrow(/--pod-monitors must be true or false/);
  });
});

describe('coxswain run: the operator Prometheus', () => {
  it('has a 10 s timeout and nothing else by default', () => {
    expect(parseRunOptions([], {}).manager.prometheus).toEqual({ timeoutMs: 10_000 });
  });

  it('takes the address, credentials files, headers and CA from flags', () => {
    const o = parseRunOptions(['--prometheus-address', 'https://prom:9090', '--prometheus-bearer-token-file', '/var/run/token', '--prometheus-header', 'X-Scope-OrgID=team-a',
      '--prometheus-header', 'X-Other = b', '--prometheus-ca-file', '/etc/ca.pem', '--prometheus-timeout', '3'], {});
    expect(o.manager.prometheus).toEqual({ address: 'https://prom:9090', bearerTokenFile: '/var/run/token', headers: { 'X-Scope-OrgID': 'team-a', 'X-Other': 'b' }, caFile: '/etc/ca.pem', timeoutMs: 3000 });
  });

  it('falls back to COXSWAIN_PROMETHEUS_*', () => {
    const o = parseRunOptions([], { COXSWAIN_PROMETHEUS_ADDRESS: 'http://p:9090', COXSWAIN_PROMETHEUS_BASIC_AUTH_USERNAME: 'u', COXSWAIN_PROMETHEUS_BASIC_AUTH_PASSWORD_FILE: '/pw', COXSWAIN_PROMETHEUS_HEADERS: 'A=1,B=2' });
    expect(o.manager.prometheus).toEqual({ address: 'http://p:9090', basicAuth: { username: 'u', passwordFile: '/pw' }, headers: { A: '1', B: '2' }, timeoutMs: 10_000 });
  });

  it.each<[string, string[], RegExp]>([
    ['a header without =', ['--prometheus-header', 'X-Scope-OrgID'], /NAME=VALUE/],
    ['a username without a password file', ['--prometheus-basic-auth-username', 'u'], /go together/],
    ['a token and basic auth', ['--prometheus-bearer-token-file', '/t', '--prometheus-basic-auth-username', 'u', '--prometheus-basic-auth-password-file', '/p'], /not both/],
    ['a timeout of 0', ['--prometheus-timeout', '0'], /positive whole number/],
  ])('refuses %s', (_what, args, message) => {
    expect(() => parseRunOptions(args, {})).toThrow(message);
  });

  it('reads ClusterAnalysisTemplates with --namespaces only when told to', () => {
    expect(parseRunOptions(['--namespaces', 'a'], {}).manager.clusterAnalysisTemplates).toBeUndefined();
    expect(parseRunOptions(['--namespaces', 'a', '--cluster-analysis-templates'], {}).manager.clusterAnalysisTemplates).toBe(true);
  });
});

describe('coxswain run: Secrets', () => {
  it('tracks Secrets only with --track-secrets or COXSWAIN_TRACK_SECRETS=true', () => {
    expect(parseRunOptions([], {}).manager.trackSecrets).toBeUndefined();
    expect(parseRunOptions(['--track-secrets'], {}).manager.trackSecrets).toBe(true);
    expect(parseRunOptions([], { COXSWAIN_TRACK_SECRETS: 'true' }).manager.trackSecrets).toBe(true);
    expect(parseRunOptions([], { COXSWAIN_TRACK_SECRETS: 'false' }).manager.trackSecrets).toBeUndefined();
  });
});

describe('coxswain run: notifications', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cx-run-notify-'));
  writeFileSync(join(dir, 'url'), 'https://hooks.example/secret\n');
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ cluster: 'from-file', targets: [{ name: 'ops', format: 'teams', urlFile: join(dir, 'url') }] }));

  it('are off without --notifications-config', () => {
    expect(parseRunOptions([], {}).manager.notifications).toBeUndefined();
  });

  it('reads the config; the cluster name from --cluster-name, else the file, else "kubernetes"', () => {
    const o = parseRunOptions(['--notifications-config', config, '--cluster-name', 'prod-eu'], {}).manager.notifications!;
    expect(o.cluster).toBe('prod-eu');
    expect(o.config.targets.map((t) => t.format)).toEqual(['teams']);
    expect(parseRunOptions([], { COXSWAIN_NOTIFICATIONS_CONFIG: config }).manager.notifications!.cluster).toBe('from-file');
    writeFileSync(join(dir, 'bare.json'), JSON.stringify({ targets: [] }));
    expect(parseRunOptions(['--notifications-config', join(dir, 'bare.json')], {}).manager.notifications!.cluster).toBe('kubernetes');
  });

  it('refuses a bad config at start, naming the field', () => {
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ targets: [{ name: 'ops', format: 'email', urlFile: join(dir, 'url') }] }));
    expect(() => parseRunOptions(['--notifications-config', join(dir, 'bad.json')], {})).toThrow(/bad\.json: targets\.0\.format: /);
  });
});

describe('coxswain run: /metrics', () => {
  it('is HTTPS on :8443 with a self-signed certificate by default, health and readiness plain on :8080', () => {
    const o = parseRunOptions([], {});
    expect(o.manager.listen).toBe(':8080');
    expect(o.manager.metrics).toEqual({ secure: true, listen: ':8443' });
  });

  it('takes the address and the certificate directory from flags, else COXSWAIN_METRICS_*', () => {
    expect(parseRunOptions(['--metrics-listen', '127.0.0.1:9443', '--metrics-cert-dir', '/certs'], {}).manager.metrics)
      .toEqual({ secure: true, listen: '127.0.0.1:9443', certDir: '/certs' });
    expect(parseRunOptions([], { COXSWAIN_METRICS_LISTEN: ':9000', COXSWAIN_METRICS_CERT_DIR: '/c' }).manager.metrics)
      .toEqual({ secure: true, listen: ':9000', certDir: '/c' });
  });

  it('keeps the plain endpoint with --metrics-secure=false or COXSWAIN_METRICS_SECURE=false', () => {
    expect(parseRunOptions(['--metrics-secure=false'], {}).manager.metrics.secure).toBe(false);
    expect(parseRunOptions([], { COXSWAIN_METRICS_SECURE: 'false' }).manager.metrics.secure).toBe(false);
    expect(parseRunOptions(['--metrics-secure', 'true'], { COXSWAIN_METRICS_SECURE: 'false' }).manager.metrics.secure).toBe(true);
  });

  it.each<[string, string[], RegExp]>([
    ['anything but true or false', ['--metrics-secure', 'yes'], /--metrics-secure must be true or false/],
    ['a certificate directory for a plain endpoint', ['--metrics-secure=false', '--metrics-cert-dir', '/c'], /--metrics-cert-dir needs --metrics-secure=true/],
  ])('refuses %s', (_what, args, message) => {
    expect(() => parseRunOptions(args, {})).toThrow(message);
  });
});
