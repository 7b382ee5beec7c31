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
