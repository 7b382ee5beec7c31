import * as yaml from 'js-yaml';

/** Objects as a YAML stream, `---` between documents. */
export function toYamlStream(objects: unknown[], header = ''): string {
  return header + objects.map((o) => yaml.dump(o, { noRefs: true, lineWidth: -1, sortKeys: false })).join('---\n');
}
