import { describe, expect, it } from 'vitest';
import { API_VERSION, KIND, type MicroserviceObject, type MicroserviceStatus } from '../api/schema.js';
import { ANNOTATION_ACTION } from '../api/names.js';
import { answerLine, answerOf, newRequestId, pendingMessage, pendingRequest, requestPatch } from './request.js';

type LastAction = NonNullable<MicroserviceStatus['lastAction']>;

function ms(annotation?: string, lastAction?: LastAction, others: Record<string, string> = {}): MicroserviceObject {
  const annotations = { ...others, ...(annotation !== undefined ? { [ANNOTATION_ACTION]: annotation } : {}) };
  return {
    apiVersion: API_VERSION, kind: KIND,
    metadata: { name: 'orders', namespace: 'shop', resourceVersion: '42', ...(Object.keys(annotations).length ? { annotations } : {}) },
    spec: { image: 'a' },
    ...(lastAction ? { status: { lastAction } } : {}),
  };
}
const answered = (id: string, ok = true, message = 'promoted past the pause'): LastAction => ({ id, action: 'promote', at: '2026-12-01T00:00:00Z', ok, message });

describe('pendingRequest: a request the operator has not answered yet', () => {
  it.each<[string, MicroserviceObject, unknown]>([
    ['none', ms(), undefined],
    ['another annotation only', ms(undefined, undefined, { team: 'x' }), undefined],
    ['one waiting', ms('promote:a1'), { action: 'promote', id: 'a1', value: 'promote:a1' }],
    ['an undo to a revision, waiting', ms('undo=4b1c0d9e2a:a1', answered('a0')), { action: 'undo', arg: '4b1c0d9e2a', id: 'a1', value: 'undo=4b1c0d9e2a:a1' }],
    ['one answered, not yet cleared', ms('promote:a1', answered('a1')), undefined],
    ['one written by hand, without an id', ms('promote', answered('promote')), { action: 'promote', value: 'promote' }],
  ])('%s', (_what, obj, expected) => {
    expect(pendingRequest(obj)).toEqual(expected);
  });

  it('names the pending action and says how to wait for it or withdraw it', () => {
    const obj = ms('undo=4b1c0d9e2a:a1');
    expect(pendingMessage(obj, pendingRequest(obj)!, 'shop')).toBe(
      'orders already has an action waiting for the operator: undo 4b1c0d9e2a (coxswain.dev/action=undo=4b1c0d9e2a:a1); '
      + 'wait for its answer (kubectl coxswain get orders -n shop), or withdraw it: kubectl annotate microservice orders -n shop coxswain.dev/action-');
  });
});

describe('requestPatch: set the annotation only if nobody else did meanwhile', () => {
  it('tests the annotations as read, then adds the action to them', () => {
    expect(requestPatch(ms(undefined, undefined, { team: 'x' }), 'pause:b2')).toEqual([
      { op: 'test', path: '/metadata/annotations', value: { team: 'x' } },
      { op: 'add', path: '/metadata/annotations/coxswain.dev~1action', value: 'pause:b2' },
    ]);
  });

  it('with no annotations at all, tests the resourceVersion and adds the map', () => {
    expect(requestPatch(ms(), 'pause:b2')).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '42' },
      { op: 'add', path: '/metadata/annotations', value: { [ANNOTATION_ACTION]: 'pause:b2' } },
    ]);
  });
});

describe('answerOf: what became of our request, version by version', () => {
  const mine = 'promote:a1';

  it('finds its answer in a run of versions where a later action\'s answer follows at once', () => {
    // What a watch from our write delivers: our answer, the annotation cleared, the next request, its answer.
    const versions = [ms(mine), ms(mine, answered('a1')), ms(undefined, answered('a1')), ms('resume:b2', answered('a1')), ms(undefined, answered('b2', true, 'orders resumes'))];
    const first = versions.map((v) => answerOf(v, mine, 'a1')).find((a) => a.state !== 'waiting');
    expect(first).toEqual({ state: 'answered', ok: true, message: 'promoted past the pause' });
    // Reading only the last version, as polling could, the answer is lost: hence the watch.
    expect(answerOf(versions.at(-1), mine, 'a1').state).toBe('gone');
  });

  it.each<[string, MicroserviceObject | undefined, unknown]>([
    ['still waiting', ms(mine, answered('a0')), { state: 'waiting' }],
    ['refused', ms(mine, answered('a1', false, 'orders is not paused; nothing to promote')), { state: 'answered', ok: false, message: 'orders is not paused; nothing to promote' }],
    ['withdrawn by hand', ms(undefined, answered('a0')), { state: 'gone', message: expect.stringContaining('withdrawn') }],
    ['overwritten by hand', ms('abort', answered('a0')), { state: 'gone', message: expect.stringContaining('replaced by coxswain.dev/action=abort') }],
    ['deleted', undefined, { state: 'gone', message: expect.stringContaining('deleted') }],
  ])('%s', (_what, obj, expected) => {
    expect(answerOf(obj, mine, 'a1')).toEqual(expected);
  });
});

describe('answerLine', () => {
  it.each<[string, string]>([
    ['promoted past the pause', 'api: promoted past the pause'],
    ['api has no rollout in progress; nothing to promote', 'api has no rollout in progress; nothing to promote'],
    ['api is paused; kubectl coxswain resume api continues it', 'api is paused; kubectl coxswain resume api continues it'],
    ['apis are not the name', 'api: apis are not the name'],
  ])('%s', (message, line) => {
    expect(answerLine('api', message)).toBe(line);
  });
});

describe('newRequestId', () => {
  it('sorts by time and holds nothing the grammar reserves', () => {
    const a = newRequestId(new Date('2026-12-01T00:00:00Z'), 'ab12cd');
    const b = newRequestId(new Date('2026-12-01T00:00:01Z'), '000000');
    expect(a < b).toBe(true);
    expect(a).toMatch(/^[a-z0-9]+-ab12cd$/);
  });
});
