// The operator's version: package.json's, which ships beside dist/ in the image (and beside src/
// in a checkout). It goes into the User-Agent, the startup log, `coxswain version` and metrics.
import { readFileSync } from 'node:fs';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** What the API server's audit log shows as the client, in the form of kubectl's `kubectl/v1.32.0 (linux/amd64)`. */
export function userAgent(program: 'coxswain' | 'kubectl-coxswain'): string {
  return `${program}/${VERSION} (${process.platform}/${process.arch}) node/${process.versions.node}`;
}
