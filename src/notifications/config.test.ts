import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadNotificationsConfig, optedIn, parseNotificationsConfig, wants } from './config.js';

describe('parseNotificationsConfig', () => {
  it('fills the defaults', () => {
    const c = parseNotificationsConfig('targets: [{ name: ops, format: slack, urlFile: /u }]', 'f.yaml');
    expect(c).toEqual({ defaultEnabled: true, timeoutSeconds: 5, retries: 3, queueSize: 1000, targets: [{ name: 'ops', format: 'slack', urlFile: '/u', minSeverity: 'info' }] });
  });

  it.each([
    ['targets: [{ name: ops, format: discord, urlFile: /u }]', /^f\.yaml: targets\.0\.format: /],
    ['targets: [{ name: Ops!, format: slack, urlFile: /u }]', /targets\.0\.name: a DNS label/],
    ['targets: [{ name: ops, format: slack }]', /targets\.0\.urlFile: /],
    ['targets: [{ name: ops, format: slack, urlFile: /u, url: "https://hooks" }]', /targets\.0: Unrecognized key: "url"/],
    ['targets: [{ name: ops, format: slack, urlFile: /u, events: [merged] }]', /targets\.0\.events\.0: /],
    ['targets: [{ name: a, format: slack, urlFile: /u }, { name: a, format: teams, urlFile: /v }]', /targets\.1\.name: duplicate target name a/],
    ['retries: 99', /retries: /],
    ['targets: [', /not YAML/],
  ])('%s: an error that names the field', (text, error) => {
    expect(() => parseNotificationsConfig(text, 'f.yaml')).toThrow(error);
  });

  it('refuses a URL file it cannot read, naming the target, never printing what a file holds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cx-notify-'));
    const config = join(dir, 'config.yaml');
    writeFileSync(config, `targets: [{ name: ops, format: slack, urlFile: ${join(dir, 'missing')} }]`);
    expect(() => loadNotificationsConfig(config)).toThrow(/targets\.0\.urlFile: cannot read .*missing: ENOENT/);
    writeFileSync(join(dir, 'url'), 'https://hooks.example/T000/secret-token\n');
    writeFileSync(config, `targets: [{ name: ops, format: slack, urlFile: ${join(dir, 'url')} }]`);
    expect(loadNotificationsConfig(config).targets[0]!.urlFile).toBe(join(dir, 'url'));
  });
});

describe('wants', () => {
  const t = (over: object = {}) => parseNotificationsConfig(JSON.stringify({ targets: [{ name: 'a', format: 'slack', urlFile: '/u', ...over }] }), 'x').targets[0]!;
  it.each([
    [{}, 'started', 'info', true],
    [{ minSeverity: 'warning' }, 'started', 'info', false],
    [{ minSeverity: 'warning' }, 'paused', 'warning', true],
    [{ minSeverity: 'warning' }, 'aborted', 'error', true],
    [{ events: ['aborted', 'completed'] }, 'completed', 'info', true],
    [{ events: ['aborted', 'completed'] }, 'started', 'info', false],
    [{ events: ['completed'], minSeverity: 'error' }, 'completed', 'info', false],
  ] as const)('%j: %s (%s) -> %s', (over, type, severity, want) => {
    expect(wants(t(over), type, severity)).toBe(want);
  });
});

describe('optedIn', () => {
  it.each([
    [undefined, undefined, true, true],
    [undefined, undefined, false, false],
    [undefined, 'false', true, false],
    [undefined, 'true', false, true],
    ['true', 'false', false, true],
    ['false', 'true', true, false],
    ['yes', undefined, false, false], // not "true" or "false": unset
  ] as const)('Microservice %s, namespace %s, default %s -> %s', (ms, ns, def, want) => {
    expect(optedIn(ms, ns, def)).toBe(want);
  });
});
