// The serving certificate of /metrics: tls.crt and tls.key from a directory (a mounted Secret:
// cert-manager's or the user's), read again whenever they change, or a self-signed one made at
// start. A pair that does not load (half-written, key and certificate apart) is logged and the
// previous one kept, so a rotation never takes the endpoint down.
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { KeyPair } from './selfsigned.js';

export const CERT_FILE = 'tls.crt';
export const KEY_FILE = 'tls.key';
/** How often the files are read again besides on a change event (a Secret volume swaps a symlink, which some file systems do not report). */
export const POLL_MS = 10_000;

/** The names a self-signed certificate is made for: what a local scraper or a port-forward connects to. */
export const selfSignedHosts = (): string[] => ['localhost', '127.0.0.1', hostname()];

export class CertificateWatcher {
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private current?: KeyPair;

  /** `onChange` gets every pair that loads and differs from the one served. */
  private constructor(private readonly dir: string, private readonly log: Logger, private readonly onChange: (pair: KeyPair) => void) {}

  /** The pair to start with, and a watcher that reports replacements; without a directory, a self-signed pair and no watcher. */
  static async start(dir: string | undefined, log: Logger, onChange: (pair: KeyPair) => void, pollMs = POLL_MS): Promise<{ pair: KeyPair; watcher?: CertificateWatcher }> {
    if (!dir) {
      // Loaded only here: the X.509 encoder costs about 4 MiB that a mounted certificate never needs.
      const { selfSigned } = await import('./selfsigned.js');
      const hosts = selfSignedHosts();
      log.info({ hosts }, 'metrics: serving a self-signed certificate made at start (no --metrics-cert-dir)');
      return { pair: selfSigned(hosts, new Date()) };
    }
    const w = new CertificateWatcher(dir, log, onChange);
    const pair = await loadPair(dir);
    w.current = pair;
    try {
      w.watcher = watch(dir, () => void w.reload());
      w.watcher.on('error', () => w.watcher?.close());
    } catch {
      // No change events here: the poll alone finds replacements.
    }
    w.timer = setInterval(() => void w.reload(), pollMs);
    w.timer.unref();
    log.info({ dir }, 'metrics: serving the certificate from the directory, reloaded when it changes');
    return { pair, watcher: w };
  }

  /** Reads the files again; hands on a pair that loads and is new. */
  async reload(): Promise<void> {
    let pair: KeyPair;
    try {
      pair = await loadPair(this.dir);
    } catch (err) {
      this.log.warn({ dir: this.dir, err: err instanceof Error ? err.message : String(err) }, 'metrics: the certificate does not load; still serving the previous one');
      return;
    }
    if (pair.cert === this.current?.cert && pair.key === this.current.key) return;
    this.current = pair;
    this.log.info({ dir: this.dir }, 'metrics: serving the replaced certificate');
    this.onChange(pair);
  }

  stop(): void {
    this.watcher?.close();
    clearInterval(this.timer);
  }
}

/** The pair in `dir`, checked to load together (createSecureContext throws on a key that does not match). */
export async function loadPair(dir: string): Promise<KeyPair> {
  const [cert, key] = await Promise.all([readFile(join(dir, CERT_FILE), 'utf8'), readFile(join(dir, KEY_FILE), 'utf8')]);
  createSecureContext({ cert, key });
  return { cert, key };
}
