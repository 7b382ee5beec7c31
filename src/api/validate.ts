// Validation at reconcile time, with the same schema the CRD is generated from.
import { z } from 'zod';
import { MicroserviceSpec, ROOT_RULES, NAME_RULES, type Microservice, type MicroserviceObject } from './schema.js';

export type Validated = { ok: true; value: Microservice } | { ok: false; problems: string[] };

/** `spec.ports[0].port` from zod's path segments. */
export function fieldPath(root: string, path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : `${acc}.${String(seg)}`), root);
}

export function formatIssues(root: string, error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const missing = issue.code === 'invalid_type' && issue.message.endsWith('received undefined');
    return `${fieldPath(root, issue.path)}: ${missing ? 'required' : issue.message}`;
  });
}

export function validateMicroservice(obj: MicroserviceObject): Validated {
  const problems: string[] = [];
  const name = obj.metadata?.name;
  if (!name) problems.push('metadata.name: required');
  else {
    const broken = NAME_RULES.find((r) => !r.holds(name));
    if (broken) problems.push(`metadata.name: ${broken.message.replace(/^metadata\.name /, '')}`);
  }
  const parsed = MicroserviceSpec.safeParse(obj.spec ?? undefined);
  if (!parsed.success) problems.push(...formatIssues('spec', parsed.error));
  // The rules at the root, over the name and the spec together (the main container's name is the Microservice's).
  else if (name) for (const r of ROOT_RULES) if (!r.holds({ name, spec: parsed.data })) problems.push(`${r.fieldPath!.slice(1)}: ${r.message}`);
  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  return { ok: true, value: { ...obj, spec: parsed.data } };
}
