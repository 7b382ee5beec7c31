import { describe, expect, it } from 'vitest';
import { actionRequest, commandFor, deniedReason } from './actions.js';

describe('actionRequest', () => {
  it('turns the page\'s ask into the plugin\'s request, undo with the revision to go back to', () => {
    expect(actionRequest('promote', undefined)).toEqual({ action: 'promote' });
    expect(actionRequest('undo', 'abc123')).toEqual({ action: 'undo', arg: 'abc123' });
    expect(actionRequest('undo', undefined)).toEqual({ action: 'undo' });
    expect(actionRequest('abort', 'abc123')).toEqual({ action: 'abort' });
  });

  it('names the field of what is not an action or not a revision hash', () => {
    expect(actionRequest('delete', undefined)).toMatch(/^action: one of promote/);
    expect(actionRequest(7, undefined)).toMatch(/^action:/);
    expect(actionRequest('undo', 'a:b=c')).toMatch(/^revision:/);
  });
});

describe('commandFor', () => {
  it('shows the kubectl coxswain command that does the same', () => {
    expect(commandFor({ action: 'promote-full' }, 'shop', 'orders')).toBe('kubectl coxswain promote orders -n shop --full');
    expect(commandFor({ action: 'undo', arg: 'abc' }, 'shop', 'orders')).toBe('kubectl coxswain undo orders -n shop --to-revision abc');
    expect(commandFor({ action: 'pause' }, 'shop', 'orders')).toBe('kubectl coxswain pause orders -n shop');
  });
});

describe('deniedReason', () => {
  it('says what is missing and how to check it', () => {
    expect(deniedReason('shop', 'orders', '')).toBe('you may not patch microservice orders in namespace shop: kubectl auth can-i patch microservices.coxswain.dev/orders -n shop');
  });
});
