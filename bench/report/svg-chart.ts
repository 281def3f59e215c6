/**
 * A minimal SVG line chart (no dependency, no browser): x/y axes with ticks, one polyline
 * per series, optional second y axis, legend. Enough for BENCHMARKS.md's generated charts.
 */

export interface Series {
  name: string;
  points: [number, number][];
  color: string;
  /** Plot against the right-hand axis. */
  right?: boolean;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  yRightLabel?: string;
  series: Series[];
  logX?: boolean;
  /** Category labels for x positions (the x values are then 0..n-1). */
  xCategories?: string[];
}

const W = 720;
const H = 360;
const M = { l: 70, r: 70, t: 40, b: 60 };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const fmt = (v: number) =>
  v >= 1e6 ? `${v / 1e6}M` : v >= 1e3 ? `${v / 1e3}k` : String(Math.round(v * 100) / 100);

export function lineChart(spec: ChartSpec): string {
  const all = spec.series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const fx = spec.logX ? (x: number) => Math.log10(Math.max(1, x)) : (x: number) => x;
  const xMin = Math.min(...xs.map(fx));
  const xMax = Math.max(...xs.map(fx));
  const leftMax = niceMax(
    Math.max(0, ...spec.series.filter((s) => !s.right).flatMap((s) => s.points.map((p) => p[1]))),
  );
  const rightMax = niceMax(
    Math.max(0, ...spec.series.filter((s) => s.right).flatMap((s) => s.points.map((p) => p[1]))),
  );
  const px = (x: number) => M.l + ((fx(x) - xMin) / Math.max(1e-9, xMax - xMin)) * (W - M.l - M.r);
  const py = (y: number, right = false) =>
    H - M.b - (y / (right ? rightMax : leftMax)) * (H - M.t - M.b);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(spec.title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const y = H - M.b - (i / 5) * (H - M.t - M.b);
    out.push(`<line x1="${M.l}" x2="${W - M.r}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`);
    out.push(
      `<text x="${M.l - 8}" y="${y + 4}" text-anchor="end">${fmt((leftMax * i) / 5)}</text>`,
    );
    if (spec.yRightLabel)
      out.push(`<text x="${W - M.r + 8}" y="${y + 4}">${fmt((rightMax * i) / 5)}</text>`);
  }
  const xTicks = [...new Set(xs)].sort((a, b) => a - b);
  for (const x of xTicks) {
    const label = spec.xCategories ? (spec.xCategories[x] ?? String(x)) : fmt(x);
    out.push(`<text x="${px(x)}" y="${H - M.b + 18}" text-anchor="middle">${esc(label)}</text>`);
  }
  out.push(
    `<text x="${(M.l + W - M.r) / 2}" y="${H - 18}" text-anchor="middle">${esc(spec.xLabel)}</text>`,
  );
  out.push(
    `<text x="18" y="${H / 2}" text-anchor="middle" transform="rotate(-90 18 ${H / 2})">${esc(spec.yLabel)}</text>`,
  );
  if (spec.yRightLabel) {
    out.push(
      `<text x="${W - 14}" y="${H / 2}" text-anchor="middle" transform="rotate(90 ${W - 14} ${H / 2})">${esc(spec.yRightLabel)}</text>`,
    );
  }
  spec.series.forEach((s, i) => {
    const pts = s.points
      .map(([x, y]) => `${px(x).toFixed(1)},${py(y, s.right).toFixed(1)}`)
      .join(' ');
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2.5" points="${pts}"/>`);
    for (const [x, y] of s.points)
      out.push(
        `<circle cx="${px(x).toFixed(1)}" cy="${py(y, s.right).toFixed(1)}" r="3.5" fill="${s.color}"/>`,
      );
    out.push(
      `<rect x="${M.l + 10 + i * 170}" y="${M.t - 2}" width="12" height="12" fill="${s.color}"/>`,
    );
    out.push(
      `<text x="${M.l + 28 + i * 170}" y="${M.t + 8}">${esc(s.name)}${s.right ? ' (right)' : ''}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}
