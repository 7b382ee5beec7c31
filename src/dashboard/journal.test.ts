import { describe, expect, it } from 'vitest';
import { Journal } from './journal.js';

describe('Journal', () => {
  it('coalesces changes to one object between commits into its last value', () => {
    const j = new Journal<string>();
    j.put('a', 'a1');
    j.put('a', 'a2');
    j.put('b', 'b1');
    expect(j.commit()).toEqual({ seq: 1, snapshot: false, upserts: ['a2', 'b1'], deletes: [] });
    expect(j.commit()).toBeUndefined();
  });

  it('gives a page coming back with Last-Event-ID only what changed after it, deletes included', () => {
    const j = new Journal<string>();
    j.put('a', 'a1');
    j.put('b', 'b1');
    j.commit();
    j.put('b', 'b2');
    j.put('a', undefined);
    j.commit();
    j.put('c', 'c1');
    j.commit();
    expect(j.since('1')).toEqual({ seq: 3, snapshot: false, upserts: ['b2', 'c1'], deletes: ['a'] });
    expect(j.since('3')).toEqual({ seq: 3, snapshot: false, upserts: [], deletes: [] });
  });

  it('sends the whole state for an id it never gave (another process) or none', () => {
    const j = new Journal<string>();
    j.put('a', 'a1');
    j.put('b', 'b1');
    j.commit();
    j.put('b', undefined);
    j.commit();
    for (const id of [undefined, '7', 'x', '-1']) expect(j.since(id)).toEqual({ seq: 2, snapshot: true, upserts: ['a1'], deletes: [] });
  });

  it('does not report the delete of an object no page ever saw', () => {
    const j = new Journal<string>();
    j.put('a', 'a1');
    j.put('a', undefined);
    expect(j.commit()).toEqual({ seq: 1, snapshot: false, upserts: [], deletes: [] });
  });
});
