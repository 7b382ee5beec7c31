import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeProblem, userAgent, VERSION } from './version.js';

describe('nodeProblem', () => {
  it.each([
    ['v20.20.2', true],
    ['v22.18.9', true],
    ['v22.19.0', false],
    ['v22.20.0', false],
    ['v24.11.1', false],
    ['v23.0.0', false],
  ])('%s against >=22.19.0: refused %s', (running, refused) => {
    const problem = nodeProblem(running, '>=22.19.0');
    expect(problem !== undefined).toBe(refused);
    if (refused) expect(problem).toBe(`needs Node.js 22.19.0 or later (24 LTS recommended); this is ${running}`);
  });

  it('reads the minimum from package.json, and passes the Node.js running these tests', () => {
    expect(nodeProblem('v1.0.0')).toMatch(/needs Node\.js \d+\.\d+\.\d+ or later/);
    expect(nodeProblem(process.version)).toBeUndefined();
  });

  it('is checked by each command before anything else loads (client-node would fail first, obscurely)', () => {
    for (const command of ['cli/main.ts', 'cli/plugin.ts']) {
      const imports = readFileSync(new URL(`./${command}`, import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('import '));
      expect(imports[0], command).toBe("import './node-check.js';");
    }
  });
});

it('names the program, the version and the platform in the User-Agent, as kubectl does', () => {
  expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
  expect(userAgent('kubectl-coxswain')).toMatch(/^kubectl-coxswain\/\d+\.\d+\.\d+\S* \([a-z0-9]+\/[a-z0-9]+\) node\/\d+\.\d+\.\d+$/);
});
