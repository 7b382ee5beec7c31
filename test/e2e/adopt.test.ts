// Issue 22: moving a running Deployment, Service and HPA under a Microservice. They are made by
// another field manager (`helm`, as Helm or Argo CD would); `kubectl coxswain adopt` prints the
// Microservice without writing anything; applied, it takes over with the Ready pods behind the
// Service never below 4 (every pod and Service change watched, not polled); a Service another
// manager keeps rewriting is put back with a doubling wait, not fought (audit log: at most 2
// writes in 60 s); something scaling the old Deployment back up, after the takeover or mid-way,
// is reported with its manager's name and not fought (mid-way held there by a ResourceQuota),
// and its return to 0 or deletion lets the takeover carry on; new pods that never become Ready put
// the old Deployment back; and operators killed at seeded random instants during three takeovers
// side by side finish them all.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isDeepStrictEqual } from 'node:util';
import * as yaml from 'js-yaml';
import {
  apply, auditMark, condition, createNamespace, deleteNamespace, eventually, getJSON, hasAuditLog, installCRD, kubectl, kubectlCoxswain, Operator, operatorRequests, seeded, sleep, WRITE_VERBS,
} from './harness.js';
import { current, servingPods, story, watchServing } from './rollout-harness.js';
import { chart, holdOnePodMore, installChart, releasePods, teardown } from './adopt-harness.js';

let ns: string;
let operator: Operator;

beforeAll(async () => {
  await installCRD();
  ns = await createNamespace('e2e-adopt');
  operator = new Operator(['--namespaces', ns]).start();
});
// A test that failed while holding pods back must not hold the next one's.
afterEach(async () => {
  await releasePods(ns);
});
afterAll(async () => {
  await teardown(ns, operator);
});

const install = (name: string, replicas: number) => installChart(ns, name, replicas);

/** The operator's writes in the namespace since the mark, once the audit log has written its last line out whole. */
async function operatorWrites(mark: number): Promise<string[]> {
  const requests = await eventually('the audit log flushed', async () => { try { return operatorRequests(mark, ns); } catch { return undefined; } }, 30_000);
  return requests.filter((e) => WRITE_VERBS.has(e.verb)).map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.subresource ?? ''}${e.objectRef?.name}`);
}

const stalledBy = (name: string, reason: string) => eventually(reason, async () => {
  const c = condition(await current(ns, name), 'Stalled');
  return c?.reason === reason && c;
}, 90_000);

/**
 * Argo CD's self-heal, played: its application controller needs a repository server, Redis and a
 * Git repository, more than this suite runs, and what matters here is only what it writes. Each
 * second it looks at the live Service and, when its selector is not the chart's, applies the
 * chart's Service again (server-side, forced, as the field manager argocd-controller).
 */
function selfHeal(name: string): { stop: () => Promise<number> } {
  const svc = chart(ns, name, 4)[1]!;
  let running = true;
  let rewrites = 0;
  const loop = (async () => {
    while (running) {
      const live = await getJSON('service', '-n', ns, name);
      if (live && !isDeepStrictEqual(live.spec.selector, svc.spec.selector)) {
        const r = await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=argocd-controller', '-f', '-'], JSON.stringify(svc));
        if (r.code === 0) rewrites++;
      }
      await sleep(1000);
    }
  })();
  return { stop: async () => { running = false; await loop; return rewrites; } };
}

/**
 * The chart's objects as any write but a status one would leave its mark: metadata (managed fields
 * too) and spec. Not the resourceVersion: the controllers write status on their own time (the HPA
 * controller's first look at a new HPA comes some 15 s after it was made, which can fall between
 * two reads here on a loaded machine).
 */
const written = async (name: string) =>
  Promise.all(['deployment', 'service', 'hpa'].map(async (kind) => {
    const o = await getJSON(kind, '-n', ns, name);
    if (!o) return undefined;
    const { resourceVersion: _rv, managedFields, ...metadata } = o.metadata;
    return { metadata, managedFields: managedFields?.filter((f: { subresource?: string }) => f.subresource !== 'status'), spec: o.spec };
  }));

describe('adopting a 4-replica Deployment, its Service and HPA', () => {
  const name = 'shop';

  it('prints the Microservice, writes nothing, and takes over with 4 Ready pods behind the Service throughout', async () => {
    await install(name, 4);
    const before = await written(name);
    const printed = await kubectlCoxswain(ns, ['adopt', `deployment/${name}`, '--service', name, '--hpa', name]);
    expect(printed.stderr).toBe('');
    expect(printed.code).toBe(0);
    expect(await written(name)).toEqual(before);
    const ms = yaml.load(printed.stdout) as any;
    expect(ms.spec).toMatchObject({ image: `registry.example/${name}:1`, replicas: 4, adopt: { deployment: name, service: name, hpa: name },
      autoscaling: { minReplicas: 4, maxReplicas: 8, targetCPUUtilizationPercentage: 70 } });

    const watch = await watchServing(ns, name);
    const applied = await apply(printed.stdout);
    expect(applied.stderr).toBe('');
    const done = await eventually('the takeover done', async () => {
      const o = await current(ns, name);
      return o?.status?.adoption?.phase === 'Done' && condition(o, 'Ready')?.status === 'True' && o;
    }, 180_000);
    const timeline = await watch.stop();
    const min = Math.min(...timeline.map((t) => t.pods.length));
    expect(min, `Ready pods behind service/${name} at each of ${timeline.length} changes: ${story(timeline)}`).toBeGreaterThanOrEqual(4);
    expect(timeline.some((t) => t.pods.some((p) => p.slot === 'blue')) && timeline.some((t) => t.pods.some((p) => p.slot === undefined)), 'old and new pods served side by side').toBe(true);

    // The Service selects the blue slot only, and is Coxswain's; the old Deployment at 0, annotated, kept.
    const svc = await getJSON('service', '-n', ns, name);
    expect(svc.spec.selector).toMatchObject({ 'app.kubernetes.io/name': name, 'app.kubernetes.io/managed-by': 'coxswain' });
    const serving = await servingPods(ns, name);
    expect(serving?.pods.map((p) => p.slot)).toEqual(['blue', 'blue', 'blue', 'blue']);
    expect(svc.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Microservice', name, uid: done.metadata.uid, controller: true })]);
    const old = await getJSON('deployment', '-n', ns, name);
    expect([old.spec.replicas, old.metadata.annotations['coxswain.dev/adopted-by']]).toEqual([0, name]);
    // One HPA, on the Microservice.
    const hpas = (await getJSON('hpa', '-n', ns)).items;
    expect(hpas.map((h: any) => [h.metadata.name, h.spec.scaleTargetRef.kind, h.spec.scaleTargetRef.name])).toEqual([[name, 'Microservice', name]]);
    expect((await kubectlCoxswain(ns, ['get', name])).stdout).toMatch(/^Adoption: +deployment\/shop Done \(at 0 of 4 replicas\)/m);
  });

  it('puts back a Service another manager keeps rewriting with a doubling wait, naming it, serving throughout: at most 2 writes of it in 60 s', async () => {
    const watch = await watchServing(ns, name);
    const mark = auditMark();
    const started = Date.now();
    const rival = selfHeal(name);
    const rewritten = await stalledBy(name, 'AdoptedServiceRewritten');
    expect(rewritten.message).toContain(`service/${name} was rewritten by argocd-controller after Coxswain took it over`);
    await sleep(60_000 - (Date.now() - started));
    const rewrites = await rival.stop();
    if (hasAuditLog) {
      // Put back at once (the first rewrite is plain drift), then 30 s later; the next is due 60 s after that.
      const writes = (await operatorWrites(mark)).filter((w) => w.startsWith('patch services/') || w.startsWith('update services/') || w.startsWith('create services/'));
      console.log(`in 60 s: ${writes.length} writes of service/${name} by the operator, ${rewrites} by argocd-controller`);
      expect(writes.length, writes.join(', ')).toBeGreaterThanOrEqual(1);
      expect(writes.length, writes.join(', ')).toBeLessThanOrEqual(2);
      expect(rewrites).toBeGreaterThanOrEqual(writes.length);
    }
    expect((await current(ns, name)).status.adoption.serviceRewrites).toMatchObject({ manager: 'argocd-controller', count: 2 });
    const timeline = await watch.stop();
    expect(Math.min(...timeline.map((t) => t.pods.length)), `Ready pods behind service/${name}: ${story(timeline)}`).toBeGreaterThanOrEqual(4);
  });

  it('reports the old Deployment scaled back up by another manager, naming it, and does not fight it', async () => {
    // As an Argo CD sync does: the chart's Deployment applied again, by its own field manager.
    const deployment = chart(ns, name, 4)[0]!;
    const scale = (replicas: number) => kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=argocd-controller', '-f', '-'],
      JSON.stringify({ ...deployment, spec: { ...deployment.spec, replicas } }));
    expect((await scale(2)).code).toBe(0);
    const revived = await stalledBy(name, 'AdoptedWorkloadRevived');
    expect(revived.message).toContain('by argocd-controller');
    const mark = auditMark();
    await sleep(60_000);
    // Nothing written: not the Deployment, nor the Service (rewritten above, and left so while the Deployment is revived).
    if (hasAuditLog) expect(await operatorWrites(mark)).toEqual([]);
    expect((await getJSON('deployment', '-n', ns, name)).spec.replicas).toBe(2);
    // The Microservice's pods kept serving meanwhile.
    expect((await servingPods(ns, name))?.pods.filter((p) => p.slot === 'blue').length).toBe(4);
    // Back at 0: it carries on, and puts the Service back (no longer rewritten: the report clears 30 s later).
    expect((await scale(0)).code).toBe(0);
    const back = await eventually('the Service put back, and nothing stalled', async () => {
      const [o, svc] = await Promise.all([current(ns, name), getJSON('service', '-n', ns, name)]);
      return condition(o, 'Stalled')?.status === 'False' && svc.spec.selector['app.kubernetes.io/managed-by'] === 'coxswain' && o.status.adoption.phase === 'Done' && o;
    }, 90_000);
    // Put back once more, the third time: the record stays (forgotten after 10 quiet minutes), the report is gone.
    expect(back.status.adoption.serviceRewrites, JSON.stringify(back.status)).toMatchObject({ manager: 'argocd-controller', count: 3 });
  });
});

describe('the old Deployment revived mid-way, then deleted', () => {
  it('is reported while revived, and once deleted the takeover carries on to the Service, never below 4 Ready pods', async () => {
    const name = 'midway';
    await install(name, 4);
    const printed = await kubectlCoxswain(ns, ['adopt', `deployment/${name}`, '--service', name, '--hpa', name]);
    expect(printed.code).toBe(0);
    // A takeover held half-way, for as long as the test needs: a ResourceQuota lets the namespace
    // have one pod more than it has, so the new pods come one at a time, each only once an old one
    // has gone; and each counts once Ready for 5 s.
    await holdOnePodMore(ns);
    const ms = yaml.load(printed.stdout) as any;
    ms.spec.minReadySeconds = 5;
    const watch = await watchServing(ns, name);
    expect((await apply(ms)).stderr).toBe('');
    await eventually('the old Deployment scaled down to 3', async () => {
      const a = (await current(ns, name))?.status?.adoption;
      return a?.phase === 'ScalingDown' && a.scaledTo === 3;
    }, 90_000, 200);
    const deployment = chart(ns, name, 4)[0]!;
    expect((await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=argocd-controller', '-f', '-'], JSON.stringify(deployment))).code).toBe(0);
    expect((await stalledBy(name, 'AdoptedWorkloadRevived')).message).toContain('scaled back up to 4 by argocd-controller');
    expect((await current(ns, name)).status.adoption).toMatchObject({ phase: 'ScalingDown', scaledTo: 3 });
    // Deleted, as the guide says, once the Microservice's own pods serve in full.
    expect((await kubectl(['delete', 'resourcequota', 'one-pod-more', '-n', ns])).code).toBe(0);
    await eventually('4 new pods Ready', async () => (await servingPods(ns, name))?.pods.filter((p) => p.slot === 'blue').length === 4, 90_000);
    expect((await kubectl(['delete', 'deployment', name, '-n', ns])).code).toBe(0);
    await eventually('the takeover done', async () => {
      const o = await current(ns, name);
      return o?.status?.adoption?.phase === 'Done' && condition(o, 'Stalled')?.status === 'False';
    }, 90_000);
    const timeline = await watch.stop();
    expect(Math.min(...timeline.map((t) => t.pods.length)), story(timeline)).toBeGreaterThanOrEqual(4);
    expect((await getJSON('service', '-n', ns, name)).metadata.ownerReferences?.[0]?.kind).toBe('Microservice');
  });
});

describe('the operator killed at seeded random instants during three takeovers side by side', () => {
  it('finishes each, with 4 Ready pods behind each Service throughout', async () => {
    const { seed, random } = seeded('adoption kills');
    const names = ['crash-a', 'crash-b', 'crash-c'];
    await Promise.all(names.map((n) => install(n, 4)));
    const printed = await Promise.all(names.map((n) => kubectlCoxswain(ns, ['adopt', `deployment/${n}`, '--service', n, '--hpa', n])));
    expect(printed.map((p) => p.code)).toEqual([0, 0, 0]);
    const watches = await Promise.all(names.map((n) => watchServing(ns, n)));
    // Each applied at its own instant of the first 3 s; the operator SIGKILLed (no graceful
    // shutdown) at a random instant of the first 2.5 s of each operator's life, a new one started at
    // once, until every takeover is done (six kills at most): the kills fall on every phase of some
    // takeover (not begun, scaling down, taking the Service).
    const applyAt = names.map(() => Math.floor(random() * 3000));
    const applied = Promise.all(names.map(async (n, i) => {
      await sleep(applyAt[i]!);
      expect((await apply(printed[i]!.stdout)).stderr).toBe('');
    }));
    const adoptions = async () => Promise.all(names.map(async (n) => (await current(ns, n))?.status?.adoption));
    const killed: string[] = [];
    for (let i = 0; i < 6; i++) {
      const after = Math.floor(random() * 2500);
      await sleep(after);
      const before = await adoptions();
      if (before.every((a) => a?.phase === 'Done')) break;
      await operator.stop('SIGKILL');
      killed.push(`${after} ms in (${before.map((a) => (a ? `${a.phase} at ${a.scaledTo}` : 'not begun')).join(', ')})`);
      operator = new Operator(['--namespaces', ns]).start();
    }
    await applied;
    const replay = `seed ${seed}: applied at ${applyAt.join(', ')} ms; killed ${killed.length} times: ${killed.join('; ')}`;
    await eventually('every takeover done', async () => (await Promise.all(names.map((n) => current(ns, n)))).every((o) => o?.status?.adoption?.phase === 'Done'), 180_000);
    const timelines = await Promise.all(watches.map((w) => w.stop()));
    console.log(`${replay}; Ready pods: ${timelines.map(story).join(' | ')}`);
    for (const [i, n] of names.entries()) {
      expect(Math.min(...timelines[i]!.map((t) => t.pods.length)), `${n}, ${replay}: ${story(timelines[i]!)}`).toBeGreaterThanOrEqual(4);
      expect((await getJSON('deployment', '-n', ns, n)).spec.replicas).toBe(0);
      expect((await getJSON('service', '-n', ns, n)).metadata.ownerReferences?.[0]?.kind).toBe('Microservice');
    }
  });
});

describe('adoption whose new pods never become Ready', () => {
  it('puts the old Deployment back at full size, loses no endpoint, and says AdoptionFailed', async () => {
    const name = 'stuck';
    await install(name, 3);
    // Its HPA not named: refused, as it would scale the old Deployment back up.
    const refused = await kubectlCoxswain(ns, ['adopt', `deployment/${name}`, '--service', name]);
    expect([refused.code, refused.stdout, refused.stderr]).toEqual([2, '',
      `cannot adopt deployment/${name}:\n  - horizontalpodautoscaler/${name} scales deployment/${name}: name it with --hpa, or it would scale the old Deployment back up during the takeover\n`]);
    const printed = await kubectlCoxswain(ns, ['adopt', `deployment/${name}`, '--service', name, '--hpa', name]);
    expect(printed.code).toBe(0);
    const ms = yaml.load(printed.stdout) as any;
    // The KWOK stage keeps pods with this label unready: a release that never starts.
    ms.spec.pod.labels['coxswain.dev/e2e-ready'] = 'false';
    ms.spec.strategy = { ...ms.spec.strategy, progressDeadlineSeconds: 20 };
    const watch = await watchServing(ns, name);
    expect((await apply(ms)).stderr).toBe('');
    const failed = await eventually('AdoptionFailed', async () => {
      const c = condition(await current(ns, name), 'Stalled');
      return c?.reason === 'AdoptionFailed' && c;
    }, 120_000);
    expect(failed.message).toContain(`deployment/${name} is back at 3 replicas`);
    const timeline = await watch.stop();
    expect(Math.min(...timeline.map((t) => t.pods.length)), story(timeline)).toBeGreaterThanOrEqual(3);
    const old = await getJSON('deployment', '-n', ns, name);
    expect([old.spec.replicas, old.status.readyReplicas]).toEqual([3, 3]);
    // The Service is still the chart's, on the old pods.
    const svc = await getJSON('service', '-n', ns, name);
    expect([svc.metadata.ownerReferences, svc.spec.selector['app.kubernetes.io/instance']]).toEqual([undefined, name]);
  });
});
