import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatAction, parseAction, type ActionRequest } from './names.js';

describe('the action annotation: <action>[=<arg>]:<id>', () => {
  it.each<[string | undefined, ActionRequest | undefined]>([
    ['promote:lx2k9-3f00aa', { action: 'promote', id: 'lx2k9-3f00aa' }],
    ['promote-full:lx2k9-3f00aa', { action: 'promote-full', id: 'lx2k9-3f00aa' }],
    ['undo=4b1c0d9e2a:lx2k9-3f00ab', { action: 'undo', arg: '4b1c0d9e2a', id: 'lx2k9-3f00ab' }],
    ['undo=7:lx2k9-3f00ab', { action: 'undo', arg: '7', id: 'lx2k9-3f00ab' }],
    // Written by hand: no id, so every write is a request of its own.
    ['promote', { action: 'promote' }],
    ['undo=4b1c0d9e2a', { action: 'undo', arg: '4b1c0d9e2a' }],
    [' promote : x1 ', { action: 'promote', id: 'x1' }],
    ['undo=:x1', { action: 'undo', id: 'x1' }],
    ['promote:', { action: 'promote' }],
    // Malformed, yet a request: the operator refuses what it does not know, rather than ignoring it.
    ['=4:x1', { action: '', arg: '4', id: 'x1' }],
    ['promote:a:b', { action: 'promote', id: 'a:b' }],
    ['', undefined],
    ['   ', undefined],
    [undefined, undefined],
  ])('%j', (value, expected) => {
    expect(parseAction(value)).toEqual(expected);
  });

  it.each<[ActionRequest, string]>([
    [{ action: 'promote', id: 'x1' }, 'promote:x1'],
    [{ action: 'undo', arg: '4b1c0d9e2a', id: 'x1' }, 'undo=4b1c0d9e2a:x1'],
    [{ action: 'pause' }, 'pause'],
  ])('writes %j as %s', (request, value) => {
    expect(formatAction(request)).toBe(value);
  });

  it('reads back every request it writes', () => {
    const word = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,11}$/);
    fc.assert(fc.property(fc.record({ action: word, arg: word, id: word }, { requiredKeys: ['action'] }), (request) => {
      expect(parseAction(formatAction(request))).toEqual(request);
    }));
  });
});
