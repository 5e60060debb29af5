// Eigenvalues of a symmetric matrix: Householder reduction to tridiagonal form, then the implicit QL
// algorithm (Numerical Recipes' tred2 and tqli, eigenvalues only). The bootstrap needs hundreds of
// 128 x 128 spectra per eval (FID's trace of a matrix square root); ml-matrix's decomposition,
// which also forms eigenvectors through per-element accessors, takes ~8x the CPU time per matrix.

/** Eigenvalues (unsorted) of the symmetric n x n matrix `a` (row-major; only its lower triangle is read; not modified). */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  if (a.length !== n * n) throw new Error(`expected ${n} x ${n} values, got ${a.length}`);
  const m = Float64Array.from(a);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  // Householder: rows i = n-1 .. 1 reduce m to tridiagonal (diagonal d, sub-diagonal e).
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1;
    const ri = i * n;
    let h = 0;
    if (l > 0) {
      let scale = 0;
      for (let k = 0; k <= l; k++) scale += Math.abs(m[ri + k]!);
      if (scale === 0) {
        e[i] = m[ri + l]!;
      } else {
        for (let k = 0; k <= l; k++) {
          m[ri + k]! /= scale;
          h += m[ri + k]! * m[ri + k]!;
        }
        let f = m[ri + l]!;
        let g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
        e[i] = scale * g;
        h -= f * g;
        m[ri + l] = f - g;
        f = 0;
        for (let j = 0; j <= l; j++) {
          const rj = j * n;
          g = 0;
          for (let k = 0; k <= j; k++) g += m[rj + k]! * m[ri + k]!;
          for (let k = j + 1; k <= l; k++) g += m[k * n + j]! * m[ri + k]!;
          e[j] = g / h;
          f += e[j]! * m[ri + j]!;
        }
        const hh = f / (h + h);
        for (let j = 0; j <= l; j++) {
          const fj = m[ri + j]!;
          const gj = e[j]! - hh * fj;
          e[j] = gj;
          const rj = j * n;
          for (let k = 0; k <= j; k++) m[rj + k]! -= fj * e[k]! + gj * m[ri + k]!;
        }
      }
    } else {
      e[i] = m[ri + l]!;
    }
  }
  for (let i = 0; i < n; i++) d[i] = m[i * n + i]!;
  // Implicit QL with Wilkinson shifts on the tridiagonal matrix.
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  if (n > 0) e[n - 1] = 0;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    for (;;) {
      let mm = l;
      for (; mm < n - 1; mm++) {
        const dd = Math.abs(d[mm]!) + Math.abs(d[mm + 1]!);
        if (Math.abs(e[mm]!) <= Number.EPSILON * dd) break;
      }
      if (mm === l) break;
      if (iter++ === 60) throw new Error('symmetricEigenvalues: no convergence');
      let g = (d[l + 1]! - d[l]!) / (2 * e[l]!);
      let r = Math.hypot(g, 1);
      g = d[mm]! - d[l]! + e[l]! / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let i = mm - 1;
      for (; i >= l; i--) {
        const f = s * e[i]!;
        const b = c * e[i]!;
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          d[i + 1]! -= p;
          e[mm] = 0;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1]! - p;
        r = (d[i]! - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
      }
      if (r === 0 && i >= l) continue;
      d[l]! -= p;
      e[l] = g;
      e[mm] = 0;
    }
  }
  return d;
}

/** tr(M^(1/2)) of a symmetric positive semi-definite matrix (negative round-off eigenvalues count as 0). */
export function traceSqrtPsd(a: Float64Array, n: number): number {
  let t = 0;
  for (const v of symmetricEigenvalues(a, n)) if (v > 0) t += Math.sqrt(v);
  return t;
}
