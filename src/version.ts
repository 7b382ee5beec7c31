// The operator's version and the Node.js it needs: package.json's, which ships beside dist/ in the
// image (and beside src/ in a checkout). The version goes into the User-Agent, the startup log,
// `coxswain version` and metrics.
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string; engines: { node: string } };

export const VERSION: string = pkg.version;

/** What the API server's audit log shows as the client, in the form of kubectl's `kubectl/v1.32.0 (linux/amd64)`. */
export function userAgent(program: 'coxswain' | 'kubectl-coxswain'): string {
  return `${program}/${VERSION} (${process.platform}/${process.arch}) node/${process.versions.node}`;
}

/** Why this Node.js (e.g. "v20.20.2") cannot run Coxswain, by package.json's engines (">=22.19.0"); undefined when it can. */
export function nodeProblem(running: string, wanted = pkg.engines.node): string | undefined {
  const min = /^>=\s*v?(\d+)\.(\d+)\.(\d+)$/.exec(wanted)?.slice(1).map(Number);
  if (!min) return undefined;
  const have = running.replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    if ((have[i] ?? 0) !== min[i]) {
      return (have[i] ?? 0) > min[i]! ? undefined : `needs Node.js ${min.join('.')} or later (24 LTS recommended); this is ${running}`;
    }
  }
  return undefined;
}
