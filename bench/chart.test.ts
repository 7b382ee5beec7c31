import { describe, expect, it } from 'vitest';
import { costCurveSVG, extrapolate, niceStep, PANELS, slopePer1000, type CostCurve } from './chart.js';

const curve = (): CostCurve => ({
  date: '2026-12-06', restSeconds: 120, peers: ['Coxswain', 'Argo Rollouts'],
  sizes: [
    { objects: 3000, peers: { Coxswain: { rssMiB: 150, cpuMs: 240, startupMs: 4000, rssAfterRestartMiB: 170 }, 'Argo Rollouts': { rssMiB: 200, cpuMs: 360, startupMs: 6000, rssAfterRestartMiB: 190 } } },
    { objects: 1000, peers: { Coxswain: { rssMiB: 110, cpuMs: 120, startupMs: 1500, rssAfterRestartMiB: 150 }, 'Argo Rollouts': { rssMiB: 130, cpuMs: 180, startupMs: 2000, rssAfterRestartMiB: 130 } } },
    { objects: 5000, peers: { Coxswain: { rssMiB: 190, cpuMs: 360 }, 'Argo Rollouts': { rssMiB: 270, cpuMs: 540, startupMs: 10_000, rssAfterRestartMiB: 260 } } },
  ],
});

/** The panel's group of the SVG, by title. */
function panel(svg: string, title: string): string {
  const start = svg.indexOf(`<g data-panel="${title}">`);
  expect(start).toBeGreaterThanOrEqual(0);
  return svg.slice(start, svg.indexOf('</g>', start));
}

/** The points a panel draws: where, and the value and series each carries. */
function points(group: string) {
  return [...group.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)" r="[\d.]+" fill="([^"]+)"[^>]*data-peer="([^"]+)" data-objects="(\d+)" data-value="([\d.]+)"/g)]
    .map((m) => ({ cx: Number(m[1]), cy: Number(m[2]), fill: m[3]!, peer: m[4]!, objects: Number(m[5]), value: Number(m[6]) }));
}

describe('costCurveSVG', () => {
  it('places every point by its value: x in proportion to the objects, y to the measure, both from one origin per panel', () => {
    const svg = costCurveSVG(curve());
    for (const p of PANELS) {
      const pts = points(panel(svg, p.title));
      expect(pts.length).toBeGreaterThan(0);
      // One scale per axis: (x - x0) / objects and (y0 - y) / value are the same for every point.
      const origin = /<line x1="([\d.]+)" y1="([\d.]+)" x2="[\d.]+" y2="[\d.]+" stroke="#444"\/>\n<line x1="[\d.]+" y1="[\d.]+" x2="[\d.]+" y2="[\d.]+" stroke="#444"\/>\n<text[^>]*>objects each/.exec(panel(svg, p.title))!;
      const [x0, y0] = [Number(origin[1]), Number(origin[2])];
      const xs = pts.map((q) => (q.cx - x0) / q.objects);
      const ys = pts.map((q) => (y0 - q.cy) / q.value);
      for (const s of xs) expect(s).toBeCloseTo(xs[0]!, 3);
      for (const s of ys) expect(s).toBeCloseTo(ys[0]!, 2);
      expect(ys[0]).toBeGreaterThan(0);
      // ... and the scale the tick labels read: a point sits where its value falls between them.
      const ticks = [...panel(svg, p.title).matchAll(/<text x="[\d.]+" y="([\d.]+)" dy="4" text-anchor="end">([\d.]+)<\/text>/g)].map((m) => ({ y: Number(m[1]), label: Number(m[2]) }));
      const top = ticks.at(-1)!;
      expect(ticks[0]).toEqual({ y: y0, label: 0 });
      for (const q of pts) expect(q.cy).toBeCloseTo(y0 - ((y0 - top.y) * q.value) / top.label, 1);
      const xTicks = [...panel(svg, p.title).matchAll(/<text x="([\d.]+)" y="[\d.]+" text-anchor="middle">(\d+)<\/text>/g)].map((m) => ({ x: Number(m[1]), label: Number(m[2]) }));
      const right = xTicks.at(-1)!;
      for (const q of pts) expect(q.cx).toBeCloseTo(x0 + ((right.x - x0) * q.objects) / right.label, 1);
    }
  });

  it('draws each measured value where it belongs, per series: a higher value is higher on the chart', () => {
    const pts = points(panel(costCurveSVG(curve()), 'RSS at rest'));
    expect(pts.map((q) => [q.peer, q.objects, q.value])).toEqual([
      ['Coxswain', 1000, 110], ['Coxswain', 3000, 150], ['Coxswain', 5000, 190],
      ['Argo Rollouts', 1000, 130], ['Argo Rollouts', 3000, 200], ['Argo Rollouts', 5000, 270],
    ]);
    const at = (peer: string, objects: number) => pts.find((q) => q.peer === peer && q.objects === objects)!;
    expect(at('Argo Rollouts', 5000).cy).toBeLessThan(at('Coxswain', 5000).cy);
    expect(at('Coxswain', 3000).cx).toBeGreaterThan(at('Coxswain', 1000).cx);
    expect(at('Coxswain', 3000).cx).toBe(at('Argo Rollouts', 3000).cx);
  });

  it('gives CPU per minute of the at-rest window, whatever its length', () => {
    const c = curve();
    const cpu = (svg: string) => points(panel(svg, 'CPU at rest')).find((q) => q.peer === 'Coxswain' && q.objects === 1000)!.value;
    expect(cpu(costCurveSVG(c))).toBe(60);
    expect(cpu(costCurveSVG({ ...c, restSeconds: 60 }))).toBe(120);
  });

  it('labels the axes: panel titles, units, objects, and tick values that span the data', () => {
    const svg = costCurveSVG(curve());
    for (const p of PANELS) {
      const g = panel(svg, p.title);
      expect(g).toContain('>objects each</text>');
      expect(g).toContain(`rotate(-90)" text-anchor="middle">${p.unit}</text>`);
      expect(g).toMatch(/text-anchor="middle">5000<\/text>/);
    }
    // RSS at rest runs to 270 MiB: ticks of 100 up to 300, not 500 (half the panel empty), nor 250 (the point cut off).
    const ticks = [...panel(svg, 'RSS at rest').matchAll(/text-anchor="end">(\d+)<\/text>/g)].map((m) => Number(m[1]));
    expect(ticks).toEqual([0, 100, 200, 300]);
    expect(svg).toContain('>Coxswain</text>');
    expect(svg).toContain('>Argo Rollouts</text>');
  });

  it('skips a value not measured, and draws extrapolated sizes hollow on a dashed line', () => {
    const c = curve();
    c.sizes.push({ objects: 7000, extrapolated: true, peers: { Coxswain: { rssMiB: 230 } } });
    const svg = costCurveSVG(c);
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
    const startup = points(panel(svg, 'Start-up: process start to all reconciled'));
    expect(startup.filter((q) => q.peer === 'Coxswain').map((q) => q.objects)).toEqual([1000, 3000]);
    const rss = points(panel(svg, 'RSS at rest'));
    expect(rss.find((q) => q.objects === 7000)).toMatchObject({ peer: 'Coxswain', fill: '#fff' });
    expect(rss.find((q) => q.objects === 5000 && q.peer === 'Coxswain')!.fill).not.toBe('#fff');
    expect(panel(svg, 'RSS at rest')).toContain('stroke-dasharray');
    expect(panel(svg, 'CPU at rest')).not.toContain('stroke-dasharray');
    expect(svg).toContain('extrapolated, not measured');
  });

  it('escapes names, so any peer name leaves well-formed XML', () => {
    const c = curve();
    c.peers = ['Coxswain <dev> & "co"', 'Argo Rollouts'];
    c.sizes = c.sizes.map((s) => ({ ...s, peers: { 'Coxswain <dev> & "co"': s.peers.Coxswain!, 'Argo Rollouts': s.peers['Argo Rollouts']! } }));
    const svg = costCurveSVG(c);
    expect(svg).not.toContain('<dev>');
    expect(svg).toContain('Coxswain &#60;dev&#62; &#38; &#34;co&#34;');
  });
});

describe('niceStep', () => {
  it('is 1, 2 or 5 times a power of ten, and five steps cover the maximum', () => {
    expect(niceStep(270)).toBe(100);
    expect(niceStep(150)).toBe(50);
    expect(niceStep(5000)).toBe(1000);
    expect(niceStep(3000)).toBe(1000);
    expect(niceStep(0.4)).toBe(0.1);
    expect(niceStep(0)).toBe(1);
    for (const max of [1, 7, 49, 333, 12_345]) expect(niceStep(max) * 5).toBeGreaterThanOrEqual(max);
  });
});

describe('slopePer1000', () => {
  const [rss, cpu, startup] = [PANELS[0]!, PANELS[1]!, PANELS[2]!];
  it('is the least-squares slope through the measured sizes, per 1,000 objects', () => {
    expect(slopePer1000(curve(), rss, 'Coxswain')).toBeCloseTo(20, 6); // 110, 150, 190 at 1k, 3k, 5k
    expect(slopePer1000(curve(), rss, 'Argo Rollouts')).toBeCloseTo(35, 6); // 130, 200, 270
    expect(slopePer1000(curve(), cpu, 'Argo Rollouts')).toBeCloseTo(45, 6); // 90, 180, 270 ms a minute
    const bent = curve();
    bent.sizes.find((s) => s.objects === 1000)!.peers.Coxswain!.rssMiB = 100; // 100, 150, 190: not on one line
    expect(slopePer1000(bent, rss, 'Coxswain')).toBeCloseTo(22.5, 6);
  });

  it('leaves out extrapolated sizes and values not measured, and needs two sizes', () => {
    const c = curve();
    c.sizes.push({ objects: 9000, extrapolated: true, peers: { Coxswain: { rssMiB: 1000 } } });
    expect(slopePer1000(c, rss, 'Coxswain')).toBeCloseTo(20, 6);
    expect(slopePer1000(c, startup, 'Coxswain')).toBeCloseTo(1.25, 6); // 1.5 s, 4 s: 5000 has none
    expect(slopePer1000({ ...c, sizes: c.sizes.slice(0, 1) }, rss, 'Coxswain')).toBeUndefined();
    expect(slopePer1000(c, rss, 'nobody')).toBeUndefined();
  });
});

describe('extrapolate', () => {
  it('reads each measure off its least-squares line, marks the size extrapolated, and keeps what was measured', () => {
    const c = curve();
    const e = extrapolate(c, [7000]);
    expect(e.sizes.slice(0, 3)).toEqual(c.sizes);
    const at7 = e.sizes[3]!;
    expect(at7).toMatchObject({ objects: 7000, extrapolated: true });
    expect(at7.peers.Coxswain!.rssMiB).toBeCloseTo(230, 6); // 110, 150, 190 at 1k, 3k, 5k: +20 a thousand
    expect(at7.peers.Coxswain!.startupMs).toBeCloseTo(9000, 6); // 1,500 and 4,000 ms at 1k and 3k: +1,250 a thousand
    expect(at7.peers['Argo Rollouts']!.cpuMs).toBeCloseTo(720, 6); // 180, 360, 540
    // An extrapolated size is no measurement: the slopes stay as they were.
    expect(slopePer1000(e, PANELS[0]!, 'Coxswain')).toBeCloseTo(20, 6);
  });

  it('never reads a cost below zero off a falling line', () => {
    const c = curve();
    for (const s of c.sizes) s.peers.Coxswain!.cpuMs = 400 - s.objects / 20; // 350, 250, 150: -50 a thousand
    expect(extrapolate(c, [9000]).sizes[3]!.peers.Coxswain!.cpuMs).toBe(0);
    const svg = costCurveSVG(extrapolate(c, [9000]));
    const pts = points(panel(svg, 'CPU at rest'));
    const bottom = Math.max(...pts.map((q) => q.cy));
    expect(pts.find((q) => q.objects === 9000 && q.peer === 'Coxswain')!.cy).toBe(bottom);
  });

  it('leaves out a measure with fewer than two measured sizes', () => {
    const c = curve();
    c.sizes = c.sizes.filter((s) => s.objects === 1000);
    expect(extrapolate(c, [5000]).sizes[1]!.peers.Coxswain).toEqual({});
  });
});
