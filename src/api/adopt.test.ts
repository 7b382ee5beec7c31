// spec.adopt: the objects named, and the Service taken over being the Microservice's own <name>.
import { describe, expect, it } from 'vitest';
import { validateMicroservice } from './validate.js';
import { API_VERSION, KIND } from './schema.js';

const problemsOf = (name: string, adopt: unknown) => {
  const r = validateMicroservice({ apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace: 'ns' }, spec: { image: 'a', adopt } });
  return r.ok ? [] : r.problems;
};

describe('spec.adopt', () => {
  it('takes a Deployment alone, or with its Service <name> and HPA', () => {
    expect(problemsOf('orders', { deployment: 'orders-v1.2' })).toEqual([]);
    expect(problemsOf('orders', { deployment: 'orders', service: 'orders', hpa: 'orders' })).toEqual([]);
  });

  it('refuses a Service not named like the Microservice, naming the field', () => {
    expect(problemsOf('orders', { deployment: 'orders', service: 'orders-svc' }))
      .toEqual(['spec.adopt.service: adopt.service must be named like the Microservice: the Service taken over becomes its Service <name>']);
  });

  it('refuses an adopt without a Deployment, or a name that is no object name', () => {
    expect(problemsOf('orders', { service: 'orders' })).toEqual(['spec.adopt.deployment: required']);
    expect(problemsOf('orders', { deployment: 'Orders' })).toEqual(['spec.adopt.deployment: must be a lowercase DNS subdomain']);
  });
});
