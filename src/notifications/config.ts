// The install's notification settings: a YAML (or JSON) file named by --notifications-config,
// which the chart renders from its values. Webhook URLs and signing secrets are files too (a
// mounted Secret), read when a message is sent, so a rotated Secret needs no restart and the
// operator reads no Secret through the API. Parsing and the opt-in rule are pure.
import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { z } from 'zod';
import { FORMATS } from './formats.js';
import { SEVERITIES, type Severity, TRANSITIONS, type TransitionType } from './transitions.js';

/** On a Microservice or its Namespace: "true" or "false"; the Microservice's wins. */
export const ANNOTATION_NOTIFICATIONS = 'coxswain.dev/notifications';

const Target = z.object({
  name: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'a DNS label: lower case letters, digits and -').describe('Names the target in logs and the metric label; never the URL.'),
  format: z.enum(FORMATS),
  urlFile: z.string().min(1).describe('A file holding the webhook URL (a mounted Secret key).'),
  signingSecretFile: z.string().min(1).optional().describe('A file holding the HMAC-SHA256 key: requests then carry X-Coxswain-Signature-256.'),
  events: z.array(z.enum(TRANSITIONS)).min(1).optional().describe('Only these transitions; default all.'),
  minSeverity: z.enum(SEVERITIES).default('info'),
}).strict();

export const NotificationsConfig = z.object({
  cluster: z.string().min(1).optional().describe('The cluster name in every message; --cluster-name wins.'),
  defaultEnabled: z.boolean().default(true).describe('For a Microservice whose object and namespace carry no coxswain.dev/notifications annotation.'),
  timeoutSeconds: z.number().positive().max(60).default(5),
  retries: z.int().min(0).max(10).default(3),
  queueSize: z.int().min(1).max(100_000).default(1000),
  targets: z.array(Target).default([]),
}).strict().superRefine((c, ctx) => {
  const seen = new Set<string>();
  c.targets.forEach((t, i) => {
    if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: ['targets', i, 'name'], message: `duplicate target name ${t.name}` });
    seen.add(t.name);
  });
});

export type NotificationsConfig = z.output<typeof NotificationsConfig>;
export type TargetConfig = NotificationsConfig['targets'][number];

/** Parses the file's text; the error names the field, e.g. `targets.0.format: ...`. */
export function parseNotificationsConfig(text: string, source: string): NotificationsConfig {
  let raw: unknown;
  try {
    raw = load(text) ?? {};
  } catch (err) {
    throw new Error(`${source}: not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = NotificationsConfig.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${source}: ${issues.join('; ')}`);
  }
  return parsed.data;
}

/** Reads and checks the file, and that every URL and secret file can be read now (not what they hold: that is never printed). */
export function loadNotificationsConfig(path: string): NotificationsConfig {
  const config = parseNotificationsConfig(readFileSync(path, 'utf8'), path);
  config.targets.forEach((t, i) => {
    for (const [field, file] of [['urlFile', t.urlFile], ['signingSecretFile', t.signingSecretFile]] as const) {
      if (file === undefined) continue;
      try {
        if (readFileSync(file, 'utf8').trim() === '') throw new Error('it is empty');
      } catch (err) {
        throw new Error(`${path}: targets.${i}.${field}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
  });
  return config;
}

/** Does a target want this transition? */
export function wants(t: TargetConfig, type: TransitionType, severity: Severity): boolean {
  if (t.events && !t.events.includes(type)) return false;
  return SEVERITIES.indexOf(severity) >= SEVERITIES.indexOf(t.minSeverity);
}

/**
 * Opted in? The Microservice's annotation, else its namespace's, else the install's default.
 * A value other than "true" or "false" counts as unset.
 */
export function optedIn(msAnnotation: string | undefined, namespaceAnnotation: string | undefined, defaultEnabled: boolean): boolean {
  for (const v of [msAnnotation, namespaceAnnotation]) {
    if (v === 'true') return true;
    if (v === 'false') return false;
  }
  return defaultEnabled;
}
