// The cost curve as a chart: what `make bench-peers` measured at each size (BENCH_RESULTS), drawn
// as four small line charts (RSS and CPU at rest, start-up, RSS after a restart) against the
// number of objects, one line per controller. A pure function from the results to an SVG string,
// so it is tested without a cluster and needs no plotting library.
//
// Re-render a results file by hand, with sizes not measured read off each measure's least-squares
// line if asked: tsx bench/chart.ts docs/cost-curve.json [3000,5000] > docs/cost-curve.svg
import { readFileSync } from 'node:fs';

/** One controller at one size. A field left out was not measured (the panel skips the point). */
export interface PeerCost {
  rssMiB?: number;
  /** CPU time used over the at-rest window (`restSeconds`). */
  cpuMs?: number;
  writes?: number;
  /** Process start -> every object reconciled once. */
  startupMs?: number;
  rssAfterRestartMiB?: number;
}

export interface CostSize {
  /** Objects each controller holds. */
  objects: number;
  /** The 1-minute load average when the size was measured. */
  loadAverage?: number;
  /** Not measured: extrapolated on paper; drawn hollow, joined by a dashed line. */
  extrapolated?: boolean;
  peers: Record<string, PeerCost>;
}

export interface CostCurve {
  date: string;
  /** The at-rest window CPU is measured over. */
  restSeconds: number;
  /** The controllers, in legend order. */
  peers: string[];
  sizes: CostSize[];
}

export interface Panel { title: string; unit: string; value: (c: PeerCost, curve: CostCurve) => number | undefined }

export const PANELS: Panel[] = [
  { title: 'RSS at rest', unit: 'MiB', value: (c) => c.rssMiB },
  { title: 'CPU at rest', unit: 'ms of CPU a minute', value: (c, curve) => (c.cpuMs === undefined ? undefined : (c.cpuMs * 60) / curve.restSeconds) },
  { title: 'Start-up: process start to all reconciled', unit: 's', value: (c) => (c.startupMs === undefined ? undefined : c.startupMs / 1000) },
  { title: 'RSS 30 s after that restart', unit: 'MiB', value: (c) => c.rssAfterRestartMiB },
];

const COLOURS = ['#1f6fb4', '#d1462f', '#2b9a48', '#8a55b8'];
const PANEL_W = 400;
const PANEL_H = 260;
const M = { left: 60, right: 20, top: 34, bottom: 46 };
const HEADER = 56;

/** The smallest 1, 2 or 5 times a power of ten that `ticks` steps from 0 stretch to cover `max`. */
export function niceStep(max: number, ticks = 5): number {
  if (!(max > 0)) return 1;
  const raw = max / ticks;
  const pow = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * pow).find((s) => s * ticks >= max)!;
}

/** The least-squares line through points [x, y]; undefined with fewer than two distinct x. */
function fit(pts: ReadonlyArray<readonly [number, number]>): { slope: number; intercept: number } | undefined {
  if (new Set(pts.map(([x]) => x)).size < 2) return undefined;
  const mx = pts.reduce((a, [x]) => a + x, 0) / pts.length;
  const my = pts.reduce((a, [, y]) => a + y, 0) / pts.length;
  const slope = pts.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / pts.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return { slope, intercept: my - slope * mx };
}

/** A measure's points, [thousands of objects, value], at the measured sizes (extrapolated ones left out). */
function measured(curve: CostCurve, peer: string, value: (c: PeerCost) => number | undefined): Array<[number, number]> {
  return curve.sizes.flatMap((s) => {
    const v = !s.extrapolated && s.peers[peer] ? value(s.peers[peer]) : undefined;
    return v === undefined || !Number.isFinite(v) ? [] : [[s.objects / 1000, v] as [number, number]];
  });
}

/**
 * The slope of a measure against objects, per 1,000 objects: a least-squares line through the
 * measured sizes (extrapolated ones left out). Undefined with fewer than two measured sizes.
 */
export function slopePer1000(curve: CostCurve, panel: Panel, peer: string): number | undefined {
  return fit(measured(curve, peer, (c) => panel.value(c, curve)))?.slope;
}

const FIELDS = ['rssMiB', 'cpuMs', 'startupMs', 'rssAfterRestartMiB'] as const;

/**
 * The curve with sizes it could not measure added on paper: each measure of each peer read off
 * the least-squares line through its measured sizes, marked `extrapolated`.
 */
export function extrapolate(curve: CostCurve, objects: number[]): CostCurve {
  const guessed = objects.map((n): CostSize => ({
    objects: n, extrapolated: true,
    peers: Object.fromEntries(curve.peers.map((peer) => [peer, Object.fromEntries(FIELDS.flatMap((f) => {
      const line = fit(measured(curve, peer, (c) => c[f]));
      // Never below zero: a falling line (noise at rest) says nothing of a negative cost.
      return line ? [[f, Math.max(0, line.intercept + (line.slope * n) / 1000)]] : [];
    }))])),
  }));
  return { ...curve, sizes: [...curve.sizes, ...guessed] };
}

/** An axis from 0 to `max`: its tick step, and how many steps reach `max` (at most 5). */
function axis(max: number): [number, number] {
  const step = niceStep(max);
  return [step, Math.max(1, Math.ceil(max / step - 1e-9))];
}

const esc = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1));
const fmt = (v: number) => Number(v.toFixed(2)).toString();

/** The chart of `curve`: a title, a legend, and one panel per measure in a 2 x 2 grid. */
export function costCurveSVG(curve: CostCurve): string {
  const width = 2 * PANEL_W;
  const height = HEADER + 2 * PANEL_H;
  const sizes = [...curve.sizes].sort((a, b) => a.objects - b.objects);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">The cost curve: ${esc(curve.peers.join(' and '))}, ${esc(curve.date)}</text>`,
  ];
  curve.peers.forEach((peer, i) => {
    const x = 20 + i * 200;
    out.push(`<line x1="${x}" y1="38" x2="${x + 24}" y2="38" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="2"/>`,
      `<circle cx="${x + 12}" cy="38" r="3" fill="${COLOURS[i % COLOURS.length]}"/>`,
      `<text x="${x + 30}" y="42">${esc(peer)}</text>`);
  });
  if (sizes.some((s) => s.extrapolated)) out.push(`<text x="${width - 20}" y="42" text-anchor="end">hollow, dashed: extrapolated, not measured</text>`);
  PANELS.forEach((panel, i) => out.push(panelSVG(panel, curve, sizes, (i % 2) * PANEL_W, HEADER + Math.floor(i / 2) * PANEL_H)));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function panelSVG(panel: Panel, curve: CostCurve, sizes: CostSize[], ox: number, oy: number): string {
  const w = PANEL_W - M.left - M.right;
  const h = PANEL_H - M.top - M.bottom;
  const x0 = ox + M.left;
  const y0 = oy + PANEL_H - M.bottom;
  const values = sizes.flatMap((s) => curve.peers.map((p) => (s.peers[p] ? panel.value(s.peers[p], curve) : undefined))).filter((v): v is number => v !== undefined && Number.isFinite(v));
  const [yStep, yTicks] = axis(Math.max(0, ...values));
  const [xStep, xTicks] = axis(Math.max(0, ...sizes.map((s) => s.objects)));
  const [yMax, xMax] = [yStep * yTicks, xStep * xTicks];
  const px = (objects: number) => x0 + (objects / xMax) * w;
  const py = (v: number) => y0 - (v / yMax) * h;
  const out: string[] = [
    `<g data-panel="${esc(panel.title)}">`,
    `<text x="${ox + PANEL_W / 2}" y="${oy + 18}" text-anchor="middle" font-size="12" font-weight="bold">${esc(panel.title)}</text>`,
  ];
  for (let t = 0; t <= yTicks; t++) {
    const y = fmt(py(t * yStep));
    out.push(`<line x1="${x0}" y1="${y}" x2="${x0 + w}" y2="${y}" stroke="#e4e4e4"/>`,
      `<text x="${x0 - 6}" y="${y}" dy="4" text-anchor="end">${num(t * yStep)}</text>`);
  }
  for (let t = 0; t <= xTicks; t++) {
    const x = fmt(px(t * xStep));
    out.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + 4}" stroke="#444"/>`,
      `<text x="${x}" y="${y0 + 16}" text-anchor="middle">${num(t * xStep)}</text>`);
  }
  out.push(`<line x1="${x0}" y1="${y0}" x2="${x0 + w}" y2="${y0}" stroke="#444"/>`,
    `<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y0 - h}" stroke="#444"/>`,
    `<text x="${x0 + w / 2}" y="${y0 + 34}" text-anchor="middle">objects each</text>`,
    `<text transform="translate(${ox + 14} ${fmt(y0 - h / 2)}) rotate(-90)" text-anchor="middle">${esc(panel.unit)}</text>`);
  curve.peers.forEach((peer, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const points = sizes.flatMap((s) => {
      const v = s.peers[peer] ? panel.value(s.peers[peer], curve) : undefined;
      return v === undefined || !Number.isFinite(v) ? [] : [{ objects: s.objects, v, extrapolated: !!s.extrapolated }];
    });
    const xy = (p: { objects: number; v: number }) => `${fmt(px(p.objects))},${fmt(py(p.v))}`;
    const measured = points.filter((p) => !p.extrapolated);
    if (measured.length > 1) out.push(`<polyline points="${measured.map(xy).join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    const last = measured.at(-1);
    const guessed = points.filter((p) => p.extrapolated);
    if (guessed.length) out.push(`<polyline points="${[...(last ? [last] : []), ...guessed].map(xy).join(' ')}" fill="none" stroke="${colour}" stroke-width="2" stroke-dasharray="5 4"/>`);
    for (const p of points) {
      out.push(`<circle cx="${fmt(px(p.objects))}" cy="${fmt(py(p.v))}" r="3.5" fill="${p.extrapolated ? '#fff' : colour}" stroke="${colour}" stroke-width="1.5" data-peer="${esc(peer)}" data-objects="${p.objects}" data-value="${fmt(p.v)}">`
        + `<title>${esc(peer)}, ${p.objects} objects: ${num(p.v)} ${esc(panel.unit)}${p.extrapolated ? ' (extrapolated)' : ''}</title></circle>`);
    }
  });
  out.push('</g>');
  return out.join('\n');
}

if (process.argv[1] === import.meta.filename) {
  const [file, more] = process.argv.slice(2);
  if (!file) throw new Error('usage: tsx bench/chart.ts <results.json> [<objects>,... to extrapolate] > chart.svg');
  const curve = JSON.parse(readFileSync(file, 'utf8')) as CostCurve;
  process.stdout.write(costCurveSVG(more ? extrapolate(curve, more.split(',').map(Number)) : curve));
}
