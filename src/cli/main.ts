#!/usr/bin/env node
// `coxswain run | render | crd`: the operator, an offline renderer, and the CRD generator.
import './node-check.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { allCRDs } from '../api/crd.js';
import { renderFile } from './render.js';
import { toYamlStream } from './yaml.js';

const USAGE = `Usage:
  coxswain run [--kubeconfig FILE] [--context NAME] [--namespaces a,b] [--concurrency N]
               [--listen HOST:PORT] [--resync SECONDS] [--log-level LEVEL] [--log-format json|pretty]
               [--prometheus-address URL] [--prometheus-timeout SECONDS] [--prometheus-ca-file FILE]
               [--prometheus-bearer-token-file FILE | --prometheus-basic-auth-username NAME
                --prometheus-basic-auth-password-file FILE] [--prometheus-header NAME=VALUE ...]
               [--cluster-analysis-templates]  (read them with --namespaces too; needs that read)
               [--gateway-api true|false] [--pod-monitors true|false] [--track-secrets]
               [--metrics-secure true|false] [--metrics-listen HOST:PORT] [--metrics-cert-dir DIR]
      Run the operator. Flags fall back to COXSWAIN_NAMESPACES, COXSWAIN_CONCURRENCY,
      COXSWAIN_LISTEN, COXSWAIN_RESYNC_SECONDS, LOG_LEVEL, LOG_FORMAT, COXSWAIN_GATEWAY_API,
      COXSWAIN_POD_MONITORS, COXSWAIN_METRICS_SECURE, COXSWAIN_METRICS_LISTEN,
      COXSWAIN_METRICS_CERT_DIR and KUBECONFIG.
      --listen (:8080) serves /healthz and /readyz over plain HTTP. /metrics is HTTPS on
      --metrics-listen (:8443) for bearer tokens the API server accepts (TokenReview) and allows
      to get /metrics (SubjectAccessReview); the certificate is tls.crt and tls.key in
      --metrics-cert-dir, reloaded when replaced, else self-signed at start.
      --metrics-secure=false serves plain /metrics on --listen instead. HTTPRoutes are watched
      once the Gateway API's CRDs are installed, and PodMonitors once the Prometheus Operator's
      are (asked of discovery every 10s), unless --gateway-api=false or --pod-monitors=false.
      --track-secrets (or COXSWAIN_TRACK_SECRETS=true) watches Secrets, so those a Microservice
      references roll out with it, unless its spec.trackSecrets is false (needs RBAC for
      Secrets; docs/secrets.md).
  coxswain render -f FILE|-
      Print the objects the Microservices in FILE would get, as a YAML stream; touches no cluster.
      Exit code 2 and one line per problem on stderr when the input is invalid.
  coxswain version
      Print the version.
  coxswain crd [-o FILE | --dir DIR]
      Print (or write) the CustomResourceDefinitions: Microservice, AnalysisTemplate and
      ClusterAnalysisTemplate; --dir writes one file each, as crds/ holds them.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run': {
      const { runOperator } = await import('./run.js');
      return runOperator(rest);
    }
    case 'render': {
      const { values } = parseArgs({ args: rest, options: { filename: { type: 'string', short: 'f' } } });
      if (!values.filename) return usage('render needs -f FILE');
      const text = readFileSync(values.filename === '-' ? 0 : values.filename, 'utf8');
      const result = renderFile(text);
      if (!result.ok) {
        for (const p of result.problems) process.stderr.write(`${p}\n`);
        return 2;
      }
      process.stdout.write(toYamlStream(result.objects));
      return 0;
    }
    case 'crd': {
      const { values } = parseArgs({ args: rest, options: { output: { type: 'string', short: 'o' }, dir: { type: 'string' } } });
      const header = '# Generated from src/api/schema.ts by `npm run gen:crd`. Do not edit.\n';
      if (values.dir) {
        for (const { file, crd } of allCRDs()) writeFileSync(join(values.dir, file), toYamlStream([crd], header));
        return 0;
      }
      const text = toYamlStream(allCRDs().map((c) => c.crd), header);
      if (values.output) writeFileSync(values.output, text);
      else process.stdout.write(text);
      return 0;
    }
    case 'version':
    case '--version': {
      const { VERSION } = await import('../version.js');
      process.stdout.write(`${VERSION}\n`);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      return usage(`unknown command ${command}`);
  }
}

function usage(problem: string): number {
  process.stderr.write(`coxswain: ${problem}\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`coxswain: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
