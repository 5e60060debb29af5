// Loss curves as a small self-contained SVG (one polyline per metric), rewritten every epoch.

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd'];

export function lossCurveSvg(rows: Record<string, number>[], keys: string[], width = 640, height = 320): string {
  const m = { l: 50, r: 120, t: 20, b: 30 };
  const values = rows.flatMap((r) => keys.map((k) => r[k]).filter((v): v is number => Number.isFinite(v)));
  const lo = Math.min(0, ...values);
  const hi = Math.max(lo + 1e-6, ...values);
  const x = (i: number): number => m.l + (rows.length <= 1 ? 0 : (i / (rows.length - 1)) * (width - m.l - m.r));
  const y = (v: number): number => m.t + (1 - (v - lo) / (hi - lo)) * (height - m.t - m.b);
  const lines = keys.map((k, j) => {
    const pts = rows.map((r, i) => (Number.isFinite(r[k]) ? `${x(i).toFixed(1)},${y(r[k]!).toFixed(1)}` : '')).filter(Boolean);
    const c = COLOURS[j % COLOURS.length];
    return (
      `<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${pts.join(' ')}"/>` +
      `<text x="${width - m.r + 8}" y="${m.t + 16 * j + 10}" fill="${c}" font-size="12">${k}</text>`
    );
  });
  const axis =
    `<line x1="${m.l}" y1="${y(0)}" x2="${width - m.r}" y2="${y(0)}" stroke="#aaa"/>` +
    `<text x="4" y="${m.t + 10}" font-size="11">${hi.toPrecision(3)}</text><text x="4" y="${height - m.b}` +
    `" font-size="11">${lo.toPrecision(3)}</text>` +
    `<text x="${m.l}" y="${height - 8}" font-size="11">epoch 1</text><text x="${width - m.r - 50}" y="` +
    `${height - 8}" font-size="11">epoch ${rows.length}</text>`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${axis}${lines.join('')}` +
    `</svg>\n`
  );
}
