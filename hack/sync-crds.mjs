#!/usr/bin/env node
// Copies the generated CRDs (crds/, from `npm run gen:crd`) to where the Helm chart and the
// kustomize base need it: neither may read files outside its own directory. The chart's copy is
// a template: installed unless crds.install=false, and kept on `helm uninstall` (crds.keep), since
// deleting a CRD deletes every Microservice with it.
//
//   node hack/sync-crds.mjs           write the copies
//   node hack/sync-crds.mjs --check   exit 1 if a copy differs (the test suite runs this)
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// One entry per CRD in crds/: its file there, and the name of its chart template.
const CRDS = [
  ['coxswain.dev_microservices.yaml', 'microservices.coxswain.dev.yaml'],
  ['coxswain.dev_analysistemplates.yaml', 'analysistemplates.coxswain.dev.yaml'],
  ['coxswain.dev_clusteranalysistemplates.yaml', 'clusteranalysistemplates.coxswain.dev.yaml'],
];

function chartTemplate(file, body) {
  // Helm would read any {{ in the schema's descriptions as template code.
  const escaped = body.replace(/\{\{/g, '{{ "{{" }}');
  const withAnnotations = escaped.replace(/^metadata:\n {2}name: (.*)\n/m, (m) =>
    `${m}  {{- if .Values.crds.keep }}\n  annotations:\n    helm.sh/resource-policy: keep\n  {{- end }}\n`);
  if (withAnnotations === escaped) throw new Error('unexpected CRD layout: no metadata.name line to annotate');
  return `{{- /* Copied from crds/${file} by hack/sync-crds.mjs (npm run gen:crd). Do not edit. */ -}}\n`
    + `{{- if .Values.crds.install }}\n${withAnnotations.trimEnd()}\n{{- end }}\n`;
}

const targets = CRDS.flatMap(([file, template]) => {
  const text = readFileSync(resolve(root, 'crds', file), 'utf8');
  const body = text.replace(/^#.*\n/gm, ''); // the "generated, do not edit" header says the wrong thing in a copy
  const header = `# Copied from crds/${file} by hack/sync-crds.mjs (npm run gen:crd). Do not edit.\n`;
  return [
    [resolve(root, 'charts/coxswain/templates/crds', template), chartTemplate(file, body)],
    [resolve(root, 'config/crd/bases', file), header + body],
  ];
});

const check = process.argv.includes('--check');
let stale = 0;
for (const [file, want] of targets) {
  const have = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  if (have === want) continue;
  if (check) {
    console.error(`${file.slice(root.length + 1)} differs from crds/; run: npm run gen:crd (or node hack/sync-crds.mjs)`);
    stale++;
  } else {
    writeFileSync(file, want);
    console.error(`wrote ${file.slice(root.length + 1)}`);
  }
}
process.exit(stale ? 1 : 0);
