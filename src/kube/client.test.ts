import { describe, expect, it } from 'vitest';
import { toApiError } from './client.js';

const NOTE = 'Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation';

describe('toApiError', () => {
  // Bodies the API server (v1.36) sent for a Microservice that failed its schema: it adds a
  // fieldless `<nil>` cause saying that the CEL rules did not run.
  it('drops the API server\'s fieldless <nil> note, and the brackets around the one cause left', () => {
    const err = toApiError(422, JSON.stringify({
      kind: 'Status', code: 422, reason: 'Invalid',
      message: `Microservice.coxswain.dev "good" is invalid: [spec.env[0].name: Required value, <nil>: ${NOTE}]`,
      details: { causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.env[0].name' }, { reason: 'FieldValueInvalid', message: NOTE, field: '<nil>' }] },
    }));
    expect([err.status, err.reason, err.message]).toEqual([422, 'Invalid', 'Microservice.coxswain.dev "good" is invalid: spec.env[0].name: Required value']);
    expect(err.causes).toEqual([{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.env[0].name' }]);
  });

  it('keeps the list when several causes are left', () => {
    const err = toApiError(422, JSON.stringify({
      reason: 'Invalid',
      message: `Microservice.coxswain.dev "good" is invalid: [spec.replicas: Invalid value: "string": must be of type integer, spec.image: Required value, <nil>: ${NOTE}]`,
      details: { causes: [{ field: 'spec.replicas', message: 'Invalid value: "string": must be of type integer' }, { field: 'spec.image', message: 'Required value' }, { field: '<nil>', message: NOTE }] },
    }));
    expect(err.message).toBe('Microservice.coxswain.dev "good" is invalid: [spec.replicas: Invalid value: "string": must be of type integer, spec.image: Required value]');
    expect(err.message).not.toContain('<nil>');
    expect(err.causes.map((c) => c.field)).toEqual(['spec.replicas', 'spec.image']);
  });

  it('leaves any other message as the server wrote it', () => {
    const message = 'Microservice.coxswain.dev "good" is invalid: spec.ports: Invalid value: every port needs a name when there are several';
    expect(toApiError(422, JSON.stringify({ reason: 'Invalid', message })).message).toBe(message);
  });

  it('reads a body that is not a Status as the message', () => {
    const err = toApiError(502, '<html>bad gateway</html>');
    expect([err.status, err.reason, err.message, err.causes]).toEqual([502, '502', '<html>bad gateway</html>', []]);
  });
});
