// Issue 8, class 8: specs that the API server would refuse further down (server-side apply of the
// Deployment or the Service fails on them) are refused at `kubectl apply` already, with a message
// that names the field, instead of being admitted and retried for ever.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, createNamespace, deleteNamespace, installCRD, microservice } from './harness.js';

let ns: string;
beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-c-refuse');
});
afterAll(async () => deleteNamespace(ns));

const bad: Array<[string, Record<string, unknown>, RegExp]> = [
  ['two env entries with the same name', {
    image: 'x:1', env: [{ name: 'MODE', value: 'a' }, { name: 'MODE', value: 'b' }],
  }, /spec\.env\b/],
  ['two ports on the same servicePort', {
    image: 'x:1', ports: [{ name: 'http', port: 8080, servicePort: 80 }, { name: 'admin', port: 8081, servicePort: 80 }],
  }, /spec\.ports\b.*servicePort|servicePort.*spec\.ports\b/],
];

describe('kubectl apply of a spec the objects could not hold', () => {
  it.each(bad)('refuses %s, naming the field', async (_what, spec, message) => {
    // A server-side dry run: the API server's whole validation, nothing stored.
    const r = await apply(microservice('twice', spec, ns), '--dry-run=server');
    expect(r.code, `kubectl apply said: ${r.stdout}${r.stderr}`).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('still accepts one port number on two protocols, and distinct servicePorts', async () => {
    const ok = await apply(microservice('fine', {
      image: 'x:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }],
      ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }, { name: 'http', port: 8080, servicePort: 80 }],
    }, ns), '--dry-run=server');
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
  });
});
