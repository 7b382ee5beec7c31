import { readFileSync } from 'node:fs';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { allCRDs, analysisTemplateCRD, microserviceCRD, openAPISchema } from './crd.js';

const CRD_FILE = new URL('../../crds/coxswain.dev_microservices.yaml', import.meta.url);
const OUT_OF_DATE = 'crds/coxswain.dev_microservices.yaml does not match src/api/schema.ts: run `npm run gen:crd` and commit the result';

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every schema node under `node` with its path, through properties, items and additionalProperties. */
function walk(node: Node, path = ''): Array<[string, Node]> {
  const out: Array<[string, Node]> = [[path || '<root>', node]];
  for (const [k, v] of Object.entries((node.properties as Node | undefined) ?? {})) out.push(...walk(v as Node, `${path}.${k}`));
  if (isNode(node.items)) out.push(...walk(node.items, `${path}[*]`));
  if (isNode(node.additionalProperties)) out.push(...walk(node.additionalProperties, `${path}{*}`));
  return out;
}

/** Every object anywhere inside `value`, with its path, anyOf branches included. */
function everyObject(value: unknown, path = ''): Array<[string, Node]> {
  if (Array.isArray(value)) return value.flatMap((v, i) => everyObject(v, `${path}[${i}]`));
  if (!isNode(value)) return [];
  return [[path, value], ...Object.entries(value).flatMap(([k, v]) => everyObject(v, `${path}/${k}`))];
}

const crd = microserviceCRD() as any;
const version = crd.spec.versions[0];
const root = version.schema.openAPIV3Schema as Node;
const nodes = walk(root);

/** The schema node a printer column or scale path such as `.status.rollout.weight` points at. */
function nodeAt(jsonPath: string): Node | undefined {
  return jsonPath.split('.').slice(1).reduce<Node | undefined>((n, key) => (n?.properties as Node | undefined)?.[key] as Node | undefined, root);
}

describe('the checked-in CRD', () => {
  const text = readFileSync(CRD_FILE, 'utf8');

  it.each(allCRDs())('crds/$file is what the schema generates', ({ file, crd: want }) => {
    const docs = yaml.loadAll(readFileSync(new URL(`../../crds/${file}`, import.meta.url), 'utf8'));
    expect(docs, `crds/${file} is out of date: run \`npm run gen:crd\``).toEqual([want]);
  });

  it('is what microserviceCRD() generates', () => {
    const docs = yaml.loadAll(text);
    expect(docs, OUT_OF_DATE).toHaveLength(1);
    expect(docs[0], OUT_OF_DATE).toEqual(microserviceCRD());
  });

  it('starts with a comment saying it is generated', () => {
    expect(text.split('\n')[0]).toMatch(/^# Generated .*npm run gen:crd/);
  });

  it('would be caught out of date by a one-word edit', () => {
    const edited = yaml.load(text.replace('shortNames:\n      - ms\n', 'shortNames:\n      - mss\n'));
    expect(edited).not.toEqual(microserviceCRD());
  });
});

describe('names, scope and subresources', () => {
  it('is microservices.coxswain.dev, namespaced, with short names ms and msvc', () => {
    expect(crd.metadata.name).toBe('microservices.coxswain.dev');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({ kind: 'Microservice', plural: 'microservices', singular: 'microservice', shortNames: ['ms', 'msvc'] });
  });

  it('serves and stores exactly one version, v1alpha1', () => {
    expect(crd.spec.versions.map((v: Node) => [v.name, v.served, v.storage])).toEqual([['v1alpha1', true, true]]);
  });

  it('has a status subresource and a scale subresource on spec.replicas, status.replicas and status.selector', () => {
    expect(version.subresources.status).toEqual({});
    expect(version.subresources.scale).toEqual({ specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' });
  });

  it('points the scale paths at fields of the right type', () => {
    const { specReplicasPath, statusReplicasPath, labelSelectorPath } = version.subresources.scale;
    expect([nodeAt(specReplicasPath)?.type, nodeAt(statusReplicasPath)?.type, nodeAt(labelSelectorPath)?.type]).toEqual(['integer', 'integer', 'string']);
  });

  it('prints Image, Ready, Phase, Weight and Age', () => {
    expect(version.additionalPrinterColumns.map((c: Node) => c.name)).toEqual(['Image', 'Ready', 'Phase', 'Weight', 'Age']);
  });

  const columns = (version.additionalPrinterColumns as Node[]).filter((c) => !String(c.jsonPath).startsWith('.metadata.'));
  it.each(columns)(
    'points printer column $name at a schema field of type $type',
    (column) => {
      expect(nodeAt(column.jsonPath as string)?.type).toBe(column.type);
    },
  );
});

describe('the schema is structural', () => {
  it('walks a schema of useful size', () => {
    expect(nodes.length).toBeGreaterThan(100);
  });

  it('holds no $ref, allOf, oneOf or not anywhere', () => {
    const bad = everyObject(root).flatMap(([path, n]) => ['$ref', 'allOf', 'oneOf', 'not', '$defs', 'definitions'].filter((k) => k in n).map((k) => `${path}/${k}`));
    expect(bad).toEqual([]);
  });

  it('types every node, or marks it int-or-string or preserve-unknown-fields', () => {
    const untyped = nodes.filter(([, n]) => !n.type && !n['x-kubernetes-int-or-string'] && !n['x-kubernetes-preserve-unknown-fields']);
    expect(untyped.map(([p]) => p)).toEqual([]);
  });

  it('gives every node with properties type object', () => {
    expect(nodes.filter(([, n]) => 'properties' in n && n.type !== 'object').map(([p]) => p)).toEqual([]);
  });

  it('never pairs properties with additionalProperties', () => {
    expect(nodes.filter(([, n]) => 'properties' in n && 'additionalProperties' in n).map(([p]) => p)).toEqual([]);
  });

  it('gives every array its items', () => {
    expect(nodes.filter(([, n]) => n.type === 'array' && !isNode(n.items)).map(([p]) => p)).toEqual([]);
  });

  it('keeps preserve-unknown-fields nodes typed object, but for the one schemaless scalar (analysis equals)', () => {
    const open = nodes.filter(([, n]) => n['x-kubernetes-preserve-unknown-fields']);
    expect(open.length).toBeGreaterThan(0);
    expect(open.filter(([, n]) => n.type !== 'object').map(([p]) => p)).toEqual(['.spec.analysis.metrics[*].equals']);
    expect(nodeAt('.spec.analysis')).toBeDefined();
  });

  it('writes int-or-string exactly as the API server accepts it: anyOf [integer, string] and nothing else in the branches', () => {
    const intOrString = nodes.filter(([, n]) => n['x-kubernetes-int-or-string']);
    expect(intOrString.map(([p]) => p)).toEqual(expect.arrayContaining(['.spec.resources.requests{*}', '.spec.strategy.canary.maxSurge']));
    for (const [path, n] of intOrString) {
      expect(n.type, path).toBeUndefined();
      expect(n.anyOf, path).toEqual([{ type: 'integer' }, { type: 'string' }]);
    }
  });

  it('uses anyOf only for int-or-string', () => {
    expect(nodes.filter(([, n]) => 'anyOf' in n && !n['x-kubernetes-int-or-string']).map(([p]) => p)).toEqual([]);
  });

  it('still constrains quantities and percentages after the branches are flattened', () => {
    expect(nodeAt('.spec.resources')).toBeDefined();
    const quantity = (nodeAt('.spec.resources.requests') as Node).additionalProperties as Node;
    const surge = nodeAt('.spec.strategy.canary.maxSurge') as Node;
    expect(new RegExp(quantity.pattern as string).test('500m')).toBe(true);
    expect(new RegExp(quantity.pattern as string).test('lots')).toBe(false);
    expect(new RegExp(surge.pattern as string).test('25%')).toBe(true);
    expect(new RegExp(surge.pattern as string).test('25')).toBe(false);
    expect([quantity.minimum, surge.minimum]).toEqual([0, 0]);
  });

  it('compiles every pattern', () => {
    for (const [path, n] of nodes) if (typeof n.pattern === 'string') expect(() => new RegExp(n.pattern as string), path).not.toThrow();
  });

  it('drops the safe-integer bounds zod adds to every int', () => {
    const huge = nodes.filter(([, n]) => [n.minimum, n.maximum].some((b) => typeof b === 'number' && Math.abs(b) >= Number.MAX_SAFE_INTEGER));
    expect(huge.map(([p]) => p)).toEqual([]);
  });

  it('restricts nothing in metadata but allows it', () => {
    expect(root.properties).toMatchObject({ metadata: { type: 'object' } });
    expect((root.properties as Node).metadata).toEqual({ type: 'object' });
  });

  it('requires spec and spec.image', () => {
    expect(root.required).toEqual(['spec']);
    expect(nodeAt('.spec')?.required).toEqual(['image']);
  });

  it('carries schema defaults into the CRD', () => {
    expect([nodeAt('.spec.replicas')?.default, nodeAt('.spec.strategy.progressDeadlineSeconds')?.default, nodeAt('.spec.strategy.type')?.default])
      .toEqual([1, 600, 'RollingUpdate']);
  });

  it('gives every CEL rule a message, and checks metadata.name at the root', () => {
    const rules = everyObject(root).flatMap(([, n]) => (n['x-kubernetes-validations'] as Node[] | undefined) ?? []);
    expect(rules.length).toBeGreaterThan(5);
    for (const r of rules) expect(r.message, String(r.rule)).toMatch(/\S/);
    expect((root['x-kubernetes-validations'] as Node[]).map((r) => r.rule).join(' ')).toContain('self.metadata.name');
  });
});

describe('the CEL rules stay within the API server\'s cost budget', () => {
  /** `self.pod.volumes` -> the schema node of pod.volumes under `node`. */
  const below = (node: Node, fields: string[]) =>
    fields.reduce<Node | undefined>((n, f) => (n?.properties as Node | undefined)?.[f] as Node | undefined, node);
  /** Every list a rule walks with a macro (all, exists, exists_one, filter, map), and the node it hangs on. */
  const walked = nodes.flatMap(([path, n]) => ((n['x-kubernetes-validations'] as Array<{ rule: string }> | undefined) ?? [])
    .flatMap(({ rule }) => [...rule.matchAll(/\bself((?:\.\w+)*)\.(?:all|exists|exists_one|filter|map)\(/g)]
      .map((m) => ({ at: `${path}${m[1]}`, rule, list: below(n, m[1]!.split('.').slice(1)) }))))
    .filter(({ list }) => list?.type === 'array');

  it('finds the lists the uniqueness rules walk', () => {
    expect(walked.map((w) => w.at)).toEqual(expect.arrayContaining(['.spec.env', '.spec.ports', '.spec.pod.volumes', '.spec.pod.volumeMounts', '.spec.pod.imagePullSecrets']));
  });

  // The API server estimates each rule's worst case from maxItems and maxLength, and refuses the
  // whole CRD when one is unbounded: a rule over a list of any length costs more than any budget.
  it('bounds every list a rule walks with maxItems', () => {
    expect(walked.filter(({ list }) => typeof list!.maxItems !== 'number').map(({ at, rule }) => `${at}: ${rule}`)).toEqual([]);
  });

  it('bounds the strings of every item a rule compares with maxLength or an enum', () => {
    /** Fields read through a macro's variable: `x.name` in `self.all(x, ...)`. */
    const fieldsRead = (rule: string) => {
      const vars = [...rule.matchAll(/\b(?:all|exists|exists_one|filter|map)\((\w+),/g)].map((m) => m[1]);
      return new Set([...rule.matchAll(new RegExp(`\\b(?:${vars.join('|')})\\.(\\w+)`, 'g'))].map((m) => m[1]!));
    };
    const open = walked.flatMap(({ at, rule, list }) => [...fieldsRead(rule)].flatMap((field) => {
      const p = ((list!.items as Node).properties as Record<string, Node> | undefined)?.[field];
      return p?.type === 'string' && typeof p.maxLength !== 'number' && !p.enum ? [`${at}[*].${field}`] : [];
    }));
    expect(walked.some(({ rule }) => fieldsRead(rule).has('name'))).toBe(true);
    expect(open).toEqual([]);
  });
});

describe('openAPISchema', () => {
  it('refuses a recursive schema, which would need $ref', () => {
    const Tree: z.ZodType = z.lazy(() => z.object({ children: z.array(Tree) }));
    expect(() => openAPISchema(z.object({ tree: Tree }))).toThrow(/\$ref/);
  });
});

describe('the template CRDs', () => {
  it.each([['AnalysisTemplate', 'Namespaced', 'analysistemplates'], ['ClusterAnalysisTemplate', 'Cluster', 'clusteranalysistemplates']] as const)(
    '%s is %s, plural %s, with spec.metrics required and typed like spec.analysis.metrics',
    (kind, scope, plural) => {
      const t = analysisTemplateCRD(kind) as any;
      expect(t.metadata.name).toBe(`${plural}.coxswain.dev`);
      expect(t.spec.scope).toBe(scope);
      const spec = t.spec.versions[0].schema.openAPIV3Schema.properties.spec;
      expect(spec.required).toEqual(['metrics']);
      expect(spec.properties.metrics.minItems).toBe(1);
      expect(spec.properties.metrics.items).toEqual((nodeAt('.spec.analysis.metrics') as any).items);
    },
  );
});
