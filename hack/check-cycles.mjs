#!/usr/bin/env node
// Fails when the modules under src/ (tests aside) import each other in a cycle, type-only imports
// included: a layer that needs another's types depends on it all the same. Prints each cycle.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', 'src');
const files = (function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
})(root).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));

const edges = new Map();
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const deps = [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm), ...text.matchAll(/^\s*import\s+'(\.[^']+)'/gm)]
    .map((m) => resolve(dirname(file), m[1].replace(/\.js$/, '.ts')))
    .filter((d) => d.startsWith(root));
  edges.set(file, [...new Set(deps)]);
}

const cycles = [];
const state = new Map(); // 1: on the stack, 2: done
const stack = [];
function visit(f) {
  state.set(f, 1);
  stack.push(f);
  for (const d of edges.get(f) ?? []) {
    if (state.get(d) === 1) cycles.push([...stack.slice(stack.indexOf(d)), d]);
    else if (!state.has(d)) visit(d);
  }
  stack.pop();
  state.set(f, 2);
}
for (const f of files) if (!state.has(f)) visit(f);

const name = (f) => relative(resolve(root, '..'), f);
for (const c of cycles) console.error(`import cycle: ${c.map(name).join(' -> ')}`);
if (cycles.length > 0) process.exit(1);
console.log(`no import cycles among ${files.length} modules in src/`);
