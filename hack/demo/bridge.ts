// A byte pipe through the wall of a network namespace: it listens on one endpoint and joins each
// connection to a new one to the other, copying both ways. A unix socket named by a path is a file,
// seen from every network namespace, so a listener on one side of the wall and a client on the
// other meet there; nothing else crosses (the demo's namespace has no interface but its loopback).
// TCP only ever on 127.0.0.1, so no packet of a bridge leaves the machine.
//
// Usage: node --import tsx hack/demo/bridge.ts FROM=TO...   (FROM and TO: tcp:127.0.0.1:PORT or unix:PATH)
// Prints "listening FROM" for each (a tcp port 0 becomes the one the OS chose), then "ready".
import { rmSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server } from 'node:net';
import { resolve } from 'node:path';

export type Endpoint = { port: number } | { path: string };

/** `tcp:127.0.0.1:PORT` or `unix:PATH`; anything else (another host) is refused. */
export function endpoint(text: string): Endpoint {
  const tcp = /^tcp:127\.0\.0\.1:(\d{1,5})$/.exec(text);
  if (tcp) return { port: Number(tcp[1]) };
  if (/^unix:./.test(text)) return { path: text.slice('unix:'.length) };
  throw new Error(`${JSON.stringify(text)}: an endpoint is tcp:127.0.0.1:PORT or unix:PATH (loopback only)`);
}

export const show = (e: Endpoint) => ('path' in e ? `unix:${e.path}` : `tcp:127.0.0.1:${e.port}`);

/** Listens on `from` (a stale socket file there is replaced); resolves once listening, with where. */
export function bridge(from: Endpoint, to: Endpoint): Promise<{ server: Server; listening: Endpoint }> {
  if ('path' in from) rmSync(from.path, { force: true });
  // Half-open both ways, so a client that finishes sending still gets its answer.
  const server = createServer({ allowHalfOpen: true }, (inbound) => {
    const outbound = 'path' in to ? connect({ path: to.path, allowHalfOpen: true }) : connect({ port: to.port, host: '127.0.0.1', allowHalfOpen: true });
    inbound.pipe(outbound).pipe(inbound);
    // A failure on either side ends both, as it would end one connection.
    const end = () => { inbound.destroy(); outbound.destroy(); };
    inbound.on('error', end).on('close', end);
    outbound.on('error', end).on('close', end);
  });
  return new Promise((done, fail) => {
    server.once('error', fail);
    const listening = () => done({ server, listening: 'path' in from ? from : { port: (server.address() as AddressInfo).port } });
    if ('path' in from) server.listen(from.path, listening);
    else server.listen(from.port, '127.0.0.1', listening);
  });
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  const pairs = process.argv.slice(2).map((arg) => {
    const [from, to, ...rest] = arg.split('=');
    if (!from || !to || rest.length > 0) throw new Error(`${JSON.stringify(arg)}: expected FROM=TO`);
    return [endpoint(from), endpoint(to)] as const;
  });
  if (pairs.length === 0) throw new Error('usage: bridge.ts FROM=TO...');
  for (const [from, to] of pairs) process.stdout.write(`listening ${show((await bridge(from, to)).listening)}\n`);
  process.stdout.write('ready\n');
}
