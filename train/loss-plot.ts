// Loss curves as a small self-contained SVG (one polyline per metric), rewritten every epoch; the
// quality estimates (FID), when the run makes them, in a second panel below (their own scale, from
// their least value: what matters is where they stop falling).

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd'];

/**
 * One panel at vertical offset `top`: the rows' `keys` against the epoch, epochs without a value
 * skipped; the scale from 0 or from the least value.
 */
function panel(rows: Record<string, number>[], keys: string[], top: number, width: number, height: number, fromZero: boolean): string {
  const m = { l: 50, r: 120, t: 20, b: 30 };
  const values = rows.flatMap((r) => keys.map((k) => r[k]).filter((v): v is number => Number.isFinite(v)));
  const lo = fromZero ? Math.min(0, ...values) : Math.min(...values);
  const hi = Math.max(lo + 1e-6, ...values);
  const x = (i: number): number => m.l + (rows.length <= 1 ? 0 : (i / (rows.length - 1)) * (width - m.l - m.r));
  const y = (v: number): number => top + m.t + (1 - (v - lo) / (hi - lo)) * (height - m.t - m.b);
  const lines = keys.map((k, j) => {
    const pts = rows.map((r, i) => (Number.isFinite(r[k]) ? `${x(i).toFixed(1)},${y(r[k]!).toFixed(1)}` : '')).filter(Boolean);
    const c = COLOURS[j % COLOURS.length];
    const dots = pts.length === 1 ? `<circle cx="${pts[0]!.split(',')[0]}" cy="${pts[0]!.split(',')[1]}" r="2" fill="${c}"/>` : '';
    return (
      `<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${pts.join(' ')}"/>${dots}` +
      `<text x="${width - m.r + 8}" y="${top + m.t + 16 * j + 10}" fill="${c}" font-size="12">${k}</text>`
    );
  });
  // Enough digits that the two ends differ (a panel of FID estimates can span a fraction of a unit).
  const digits = Math.min(6, Math.max(3, Math.ceil(Math.log10(Math.max(Math.abs(hi), Math.abs(lo), 1e-6) / (hi - lo))) + 2));
  const bottom = top + height;
  const axis =
    `<line x1="${m.l}" y1="${y(lo)}" x2="${width - m.r}" y2="${y(lo)}" stroke="#aaa"/>` +
    `<text x="4" y="${top + m.t + 10}" font-size="11">${hi.toPrecision(digits)}</text><text x="4" y="${bottom - m.b}` +
    `" font-size="11">${lo.toPrecision(digits)}</text>` +
    `<text x="${m.l}" y="${bottom - 8}" font-size="11">epoch 1</text><text x="${width - m.r - 50}" y="` +
    `${bottom - 8}" font-size="11">epoch ${rows.length}</text>`;
  return axis + lines.join('');
}

/** `keys` in the top panel; `qualityKeys` below when any row has one. */
export function lossCurveSvg(
  rows: Record<string, number>[],
  keys: string[],
  qualityKeys: string[] = [],
  width = 640,
  height = 320,
): string {
  const quality = qualityKeys.filter((k) => rows.some((r) => Number.isFinite(r[k])));
  const below = quality.length ? 200 : 0;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height + below}" ` +
    `font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${panel(rows, keys, 0, width, height, true)}` +
    `${quality.length ? panel(rows, quality, height, width, below, false) : ''}</svg>\n`
  );
}
