// The monitoring API: `spec.monitoring`, a PodMonitor <name> (monitoring.coreos.com/v1, the
// Prometheus Operator's) over every pod of the Microservice, rendered by src/render/monitoring.ts
// where that CRD is served. Patterns are the PodMonitor CRD's own, so a spec this CRD accepts
// renders a PodMonitor its CRD accepts too.
import { z } from 'zod';
import type { Rule } from './rules.js';

export const MONITORING_GROUP = 'monitoring.coreos.com';

/** A Prometheus duration as the PodMonitor CRD's pattern has it, largest unit first (30s, 1m30s). */
const PROMETHEUS_DURATION = /^(0|([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$/;

export const Monitoring = z.object({
  port: z.string().min(1).max(15).describe('The name of the port in spec.ports that serves the metrics.'),
  path: z.string().regex(/^\//, 'must be an absolute path such as /metrics').default('/metrics'),
  interval: z.string().min(1).regex(PROMETHEUS_DURATION, 'must be a Prometheus duration such as 30s or 1m30s').optional()
    .describe("How often Prometheus scrapes; omitted, Prometheus' own scrape interval."),
});

type SpecShape = { ports?: Array<{ name?: string | undefined }> | undefined; monitoring?: { port: string } | undefined };

/** Rules of the whole spec that tie spec.monitoring to the ports. */
export const MONITORING_RULES: Array<Rule<SpecShape>> = [
  {
    rule: '!has(self.monitoring) || (has(self.ports) && self.ports.exists(p, has(p.name) && p.name == self.monitoring.port))',
    message: 'monitoring.port must be the name of a port in spec.ports (give the port a name)', fieldPath: '.monitoring.port',
    holds: (s) => !s.monitoring || (s.ports ?? []).some((p) => p.name === s.monitoring!.port),
  },
];
