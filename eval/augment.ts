// Training-time augmentation of the judges. The report judge's removes two shortcuts a judge can take, exact
// placement (random shifts, small rotations and scalings) and stroke speckle (pixel noise and
// salt-and-pepper specks), so its features follow shapes, not where a stroke sits or how clean it is;
// the select judge's is whole-pixel shifts. Pure functions on images laid out [C, H, W] in [-1, 1].
import type { ImageShape } from '../common/metadata.js';
import type { Rng } from '../common/rng.js';

export interface Augmentation {
  /** Largest shift, as a fraction of the image side (0.1 = 2.8 px on 28 x 28). */
  shift: number;
  /** Largest rotation, degrees. */
  rotate: number;
  /** Largest relative change of size (0.1: 90% to 110%). */
  scale: number;
  /** Probability that an image gets speckle. */
  speckle: number;
  /** Largest standard deviation of the Gaussian pixel noise of a speckled image. */
  noise: number;
  /** Largest share of a speckled image's pixels replaced by uniform random values. */
  specks: number;
}

export const REPORT_AUGMENTATION: Augmentation = { shift: 0.1, rotate: 12, scale: 0.1, speckle: 0.5, noise: 0.2, specks: 0.04 };

/**
 * Write an augmented copy of src (one image at sOff) into dst at dOff: a random affine map sampled
 * bilinearly (edge pixels repeat outside the image), then, with probability `speckle`, noise and specks.
 */
export function augmentInto(
  dst: Float32Array,
  dOff: number,
  src: Float32Array,
  sOff: number,
  [c, h, w]: ImageShape,
  rng: Rng,
  a: Augmentation,
): void {
  const side = Math.min(h, w);
  const tx = (rng.uniform() * 2 - 1) * a.shift * side;
  const ty = (rng.uniform() * 2 - 1) * a.shift * side;
  const angle = ((rng.uniform() * 2 - 1) * a.rotate * Math.PI) / 180;
  const s = 1 + (rng.uniform() * 2 - 1) * a.scale;
  // Inverse map: output (x, y) reads the source at R(-angle) ((x, y) - centre - t) / s + centre.
  const cos = Math.cos(angle) / s;
  const sin = Math.sin(angle) / s;
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const plane = h * w;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const ox = x - cx - tx;
      const oy = y - cy - ty;
      const u = Math.min(Math.max(cos * ox + sin * oy + cx, 0), w - 1);
      const v = Math.min(Math.max(-sin * ox + cos * oy + cy, 0), h - 1);
      const u0 = Math.min(Math.floor(u), Math.max(w - 2, 0));
      const v0 = Math.min(Math.floor(v), Math.max(h - 2, 0));
      const fu = w > 1 ? u - u0 : 0;
      const fv = h > 1 ? v - v0 : 0;
      const u1 = Math.min(u0 + 1, w - 1);
      const v1 = Math.min(v0 + 1, h - 1);
      for (let ch = 0; ch < c; ch++) {
        const base = sOff + ch * plane;
        const top = src[base + v0 * w + u0]! * (1 - fu) + src[base + v0 * w + u1]! * fu;
        const bottom = src[base + v1 * w + u0]! * (1 - fu) + src[base + v1 * w + u1]! * fu;
        dst[dOff + ch * plane + y * w + x] = top * (1 - fv) + bottom * fv;
      }
    }
  }
  if (rng.uniform() >= a.speckle) return;
  const sigma = rng.uniform() * a.noise;
  const share = rng.uniform() * a.specks;
  const n = c * plane;
  for (let i = 0; i < n; i++) {
    let v = dst[dOff + i]! + sigma * rng.normal();
    if (rng.uniform() < share) v = rng.uniform() * 2 - 1;
    dst[dOff + i] = v < -1 ? -1 : v > 1 ? 1 : v;
  }
}

/** Copy image src ([C, H, W] at sOff) into dst at dOff shifted by (dx, dy) whole pixels, filling with background (-1). */
export function shiftInto(
  dst: Float32Array,
  dOff: number,
  src: Float32Array,
  sOff: number,
  dx: number,
  dy: number,
  [c, h, w]: ImageShape,
): void {
  for (let k = 0; k < c; k++) {
    const plane = k * h * w;
    for (let y = 0; y < h; y++) {
      const sy = y - dy;
      for (let x = 0; x < w; x++) {
        const sx = x - dx;
        dst[dOff + plane + y * w + x] = sy >= 0 && sy < h && sx >= 0 && sx < w ? src[sOff + plane + sy * w + sx]! : -1;
      }
    }
  }
}
