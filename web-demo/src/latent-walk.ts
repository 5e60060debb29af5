// Latent walk: images along the straight line between two seeds' noise vectors.
import { interpolateNoise } from '../../common/rng.js';
import type { Generated, Generator } from './generator.js';

/** `steps` evenly spaced points from seed `from` (t=0) to seed `to` (t=1), one image each. */
export function walkStrip(g: Generator, from: number, to: number, steps: number, label: number | null): Promise<Generated> {
  const a = g.noise(from, 1);
  const b = g.noise(to, 1);
  const noise = new Float32Array(steps * a.length);
  for (let i = 0; i < steps; i++) noise.set(interpolateNoise(a, b, steps === 1 ? 0 : i / (steps - 1)), i * a.length);
  return g.run(noise, g.labelsFor(steps, label ?? 0));
}

/** The single image at position t in [0, 1]. */
export function walkFrame(g: Generator, from: number, to: number, t: number, label: number | null): Promise<Generated> {
  return g.run(interpolateNoise(g.noise(from, 1), g.noise(to, 1), t), g.labelsFor(1, label ?? 0));
}

/** Same noise for every class: row c holds class c, column j uses noise row j of `seed`. */
export function classRows(g: Generator, seed: number, columns: number): Promise<Generated> {
  const noise = g.noise(seed, columns);
  const classes = g.classes.length;
  const all = new Float32Array(classes * noise.length);
  const labels: number[] = [];
  for (let c = 0; c < classes; c++) {
    all.set(noise, c * noise.length);
    for (let j = 0; j < columns; j++) labels.push(c);
  }
  return g.run(all, labels);
}

/** Seed of the k-th fixed direction of the latent sliders (any fixed values work; these are public). */
const DIRECTION_SEED = 0x5eed0000;

/**
 * Latent sliders: seed `base`'s noise moved by amounts[k] along fixed random directions k,
 * clamped to [-1, 1] (the support of the training noise).
 */
export function nudgedFrame(g: Generator, base: number, amounts: number[], label: number | null): Promise<Generated> {
  const noise = g.noise(base, 1);
  amounts.forEach((a, k) => {
    if (a === 0) return;
    const direction = g.noise(DIRECTION_SEED + k, 1);
    for (let i = 0; i < noise.length; i++) noise[i] = Math.max(-1, Math.min(1, noise[i]! + a * direction[i]!));
  });
  return g.run(noise, g.labelsFor(1, label ?? 0));
}
