// The web provider: GET or POST a URL; the value is picked from the JSON response by a JSONPath,
// or, without one, is the HTTP status code itself.
import type { Metric } from './api.js';
import type { Sample, Vars } from './types.js';
import { durationMs } from '../rollout/weights.js';
import { errorText, httpRequest } from './http.js';
import { pick } from './jsonpath.js';
import { expand, json, url } from './placeholders.js';

export async function queryWeb(web: NonNullable<Metric['web']>, vars: Vars): Promise<Sample> {
  const target = expand(web.url, vars, url);
  try {
    const res = await httpRequest({
      url: target,
      method: web.method,
      headers: { Accept: 'application/json', ...(web.body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      ...(web.body !== undefined ? { body: expand(web.body, vars, json) } : {}),
      timeoutMs: durationMs(web.timeout),
    });
    if (!web.jsonPath) return { values: [res.status] };
    if (res.status < 200 || res.status >= 300) return { error: `${target} answered HTTP ${res.status}: ${res.body.slice(0, 200).trim()}` };
    let doc: unknown;
    try {
      doc = JSON.parse(res.body);
    } catch {
      return { error: `${target} answered with no JSON: ${res.body.slice(0, 200).trim()}` };
    }
    return pick(doc, web.jsonPath);
  } catch (err) {
    return { error: `${web.method} ${target}: ${errorText(err)}` };
  }
}
