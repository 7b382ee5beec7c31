// The demo's data plane (hack/demo/demo.sh runs it inside the demo's network namespace): the
// data-plane tests' own parts (test/e2e/dataplane/dataplane.ts: Traefik as the Gateway, the
// GatewayClass and Gateway, pods.ts answering for KWOK's pods, the load generator), started for one
// namespace and left running, with a line a few seconds saying where the requests went.
// The cluster's API server stays outside the namespace: a bridge listens on its port on the
// namespace's loopback and reaches it through DIR/apiserver.sock (the host side of demo.sh
// listens there); the gateway is offered back the same way, on DIR/gateway.sock.
//
// Usage: COXSWAIN_E2E_KUBECONFIG=KUBECONFIG node --import tsx hack/demo/plane.ts DIR NAMESPACE HOST APISERVER_PORT
// (the e2e harness that dataplane.ts builds on reads the cluster's kubeconfig from that variable).
// Prints "ready" once the Gateway is programmed and the load runs, then a line every 5 s.
import { join } from 'node:path';
import { type Answer, failed, failures, GATEWAY_PORT, LoadGenerator, startDataPlane } from '../../test/e2e/dataplane/dataplane.js';
import { bridge } from './bridge.js';

const [dir, namespace, host, apiserverPort] = process.argv.slice(2);
if (!dir || !namespace || !host || !apiserverPort) throw new Error('usage: plane.ts DIR NAMESPACE HOST APISERVER_PORT');

/** Requests a second: enough to see a 10% step within one line, light on a laptop. */
const RPS = 20;
const EVERY_MS = 5000;

/**
 * "blue a80efb9955 90, green 99b128f123 10; failed 0": the answers by slot and revision (the
 * gateway's own by status, such as its 404 before the route exists), then the failures.
 */
function summary(answers: readonly Answer[]): string {
  const by = new Map<string, number>();
  for (const a of answers.filter((x) => !failed(x))) {
    const key = a.slot ? `${a.slot} ${a.revision}` : `HTTP ${a.code} from the gateway`;
    by.set(key, (by.get(key) ?? 0) + 1);
  }
  const served = [...by].sort().map(([k, n]) => `${k} ${n}`).join(', ') || 'nothing served';
  const bad = answers.filter(failed).length;
  return `${served}; failed ${bad}${bad ? ` (${failures(answers)})` : ''}`;
}

await bridge({ port: Number(apiserverPort) }, { path: join(dir, 'apiserver.sock') });
const plane = await startDataPlane(namespace);
await bridge({ path: join(dir, 'gateway.sock') }, { port: GATEWAY_PORT });
const load = new LoadGenerator(host, RPS).start();
process.stdout.write(`ready: ${RPS} requests/s to ${host} through the gateway\n`);

const tick = setInterval(() => {
  // Each line counts the answers that came since the last; they are dropped then, so memory stays flat.
  const done = load.answers.filter((a) => a.done > 0);
  load.answers.splice(0, load.answers.length, ...load.answers.filter((a) => a.done === 0));
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${host}: ${done.length} answers in ${EVERY_MS / 1000}s: ${summary(done)}\n`);
  // Traefik's output is kept by dataplane.ts to show after a failure; the last part is enough.
  plane.traefik.output = plane.traefik.output.slice(-20_000);
  plane.pods.output = plane.pods.output.slice(-20_000);
}, EVERY_MS);

let stopping = false;
async function stop(code: number): Promise<never> {
  stopping = true;
  clearInterval(tick);
  await load.stop();
  await plane.stop();
  process.exit(code);
}
for (const part of [plane.traefik, plane.pods] as const) {
  void part.exit.then(() => {
    if (stopping) return;
    process.stderr.write(`a part of the data plane exited:\n${part.output.slice(-4000)}\n`);
    void stop(1);
  });
}
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
