// Generates the Microservice CustomResourceDefinition from the zod schemas.
// Kubernetes wants a structural schema: every node typed, no $ref, no additionalProperties next
// to properties; int-or-string and preserve-unknown-fields marked with their extensions.
import { z } from 'zod';
import { API_VERSION, ROOT_RULES, GROUP, KIND, MicroserviceSpec, MicroserviceStatus, PLURAL, VERSION, NAME_RULES } from './schema.js';
import { ANALYSIS_TEMPLATE, AnalysisTemplateSpec, CLUSTER_ANALYSIS_TEMPLATE } from '../analysis/api.js';

type JsonSchema = { [key: string]: unknown };

/** Keys of zod's JSON Schema output that a structural CRD schema does not take. */
const DROPPED = new Set(['$schema', 'id', '$id']);

function structural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(structural);
  if (node === null || typeof node !== 'object') return node;
  const src = node as JsonSchema;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(src)) {
    if (DROPPED.has(key)) continue;
    // zod writes JavaScript's safe-integer bounds on every int; they say nothing here.
    if ((key === 'maximum' || key === 'minimum') && Math.abs(value as number) === Number.MAX_SAFE_INTEGER) continue;
    if (key === '$ref' || key === 'allOf' || key === 'oneOf') throw new Error(`structural schema cannot hold ${key}: ${JSON.stringify(src)}`);
    // Under `properties` the keys are field names (a field may be called `id`), not schema keywords.
    out[key] = key === 'properties'
      ? Object.fromEntries(Object.entries(value as JsonSchema).map(([field, schema]) => [field, structural(schema)]))
      : structural(value);
  }
  if (src['x-kubernetes-preserve-unknown-fields']) {
    // A looseObject: keep it open, but a structural schema may not pair properties with additionalProperties.
    delete out.additionalProperties;
    if (out.properties && Object.keys(out.properties as object).length === 0) delete out.properties;
    // A schemaless scalar (analysis' `equals`: a number, string or boolean): the branches say
    // nothing the API server may hold, and the operator checks the value with zod.
    if (out.anyOf) { delete out.anyOf; delete out.type; }
  }
  if (src['x-kubernetes-int-or-string']) {
    // Defaults and descriptions may sit beside anyOf; types may not. The API server takes the
    // branches only as exactly [{type: integer}, {type: string}], so their checks (minimum,
    // pattern) move up beside anyOf, where each applies only to values of its own type.
    delete out.type;
    for (const branch of (out.anyOf as JsonSchema[] | undefined) ?? []) {
      for (const [key, value] of Object.entries(branch)) {
        if (key === 'type') continue;
        if (key in out) throw new Error(`int-or-string: ${key} is set twice: ${JSON.stringify(src)}`);
        out[key] = value;
      }
    }
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  return out;
}

export function openAPISchema(schema: z.ZodType): JsonSchema {
  return structural(z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'throw' })) as JsonSchema;
}


/** The schema of a top-level object: apiVersion, kind and metadata, and its spec (required) and more. */
function topLevel(description: string, properties: Record<string, JsonSchema>): JsonSchema {
  return { type: 'object', description, required: ['spec'], properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, ...properties } };
}

export function microserviceCRD(): JsonSchema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${GROUP}`, labels: { 'app.kubernetes.io/name': 'coxswain' } },
    spec: {
      group: GROUP,
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: 'microservice', shortNames: ['ms', 'msvc'], categories: ['all', 'coxswain'] },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: {
            status: {},
            scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
          },
          additionalPrinterColumns: [
            { name: 'Image', type: 'string', jsonPath: '.spec.image' },
            { name: 'Ready', type: 'string', jsonPath: '.status.ready' },
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            { name: 'Weight', type: 'integer', jsonPath: '.status.rollout.weight' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              ...topLevel(`${KIND} describes one service; Coxswain reconciles it into a Deployment per slot, a Service, an HPA, a ConfigMap and a NetworkPolicy (${API_VERSION}).`,
                { spec: openAPISchema(MicroserviceSpec), status: openAPISchema(MicroserviceStatus) }),
              'x-kubernetes-validations': [
                ...NAME_RULES.map(({ rule, message }) => ({ rule, message })),
                ...ROOT_RULES.map(({ holds: _, ...r }) => r),
              ],
            },
          },
        },
      ],
    },
  };
}

/** The template kinds: AnalysisTemplate (namespaced) and ClusterAnalysisTemplate, both with spec.metrics. */
export const TEMPLATE_KINDS = [
  { kind: ANALYSIS_TEMPLATE, plural: 'analysistemplates', singular: 'analysistemplate', scope: 'Namespaced', shortNames: ['at'] },
  { kind: CLUSTER_ANALYSIS_TEMPLATE, plural: 'clusteranalysistemplates', singular: 'clusteranalysistemplate', scope: 'Cluster', shortNames: ['cat'] },
] as const;

export function analysisTemplateCRD(kind: typeof ANALYSIS_TEMPLATE | typeof CLUSTER_ANALYSIS_TEMPLATE): JsonSchema {
  const k = TEMPLATE_KINDS.find((t) => t.kind === kind)!;
  const where = k.scope === 'Cluster' ? 'any namespace' : 'its namespace';
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${GROUP}`, labels: { 'app.kubernetes.io/name': 'coxswain' } },
    spec: {
      group: GROUP,
      names: { kind: k.kind, listKind: `${k.kind}List`, plural: k.plural, singular: k.singular, shortNames: [...k.shortNames], categories: ['coxswain'] },
      scope: k.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          additionalPrinterColumns: [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
          schema: {
            openAPIV3Schema: topLevel(`${k.kind} holds named analysis metrics that Microservices in ${where} use through spec.analysis.templateRefs (${API_VERSION}).`,
              { spec: openAPISchema(AnalysisTemplateSpec) }),
          },
        },
      ],
    },
  };
}

/** Every CRD Coxswain installs, each with the file name it has under crds/. */
export function allCRDs(): Array<{ file: string; crd: JsonSchema }> {
  return [
    { file: `${GROUP}_${PLURAL}.yaml`, crd: microserviceCRD() },
    ...TEMPLATE_KINDS.map((k) => ({ file: `${GROUP}_${k.plural}.yaml`, crd: analysisTemplateCRD(k.kind) })),
  ];
}
