// Seeded PRNG shared by training, the server and the browser demo.
// Pure 32-bit integer arithmetic (sfc32 seeded by splitmix32), so every JS engine produces the
// same bits: the same seed gives the same noise in Node and in the page.

export type RngState = [number, number, number, number];

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | RngState) {
    this.a = this.b = this.c = this.d = 0;
    if (Array.isArray(seed)) {
      this.setState(seed);
      return;
    }
    let s = seed >>> 0;
    const splitmix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = splitmix() | 0;
    this.b = splitmix() | 0;
    this.c = splitmix() | 0;
    this.d = splitmix() | 0;
    for (let i = 0; i < 12; i++) this.nextUint32(); // warm up
  }

  /** Next uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    // sfc32 in int32 arithmetic (`| 0`): V8 keeps it in registers, no float conversions.
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Fill `out` with the next out.length values of nextUint32() (a tight loop: ~10x faster). */
  fillUint32(out: Uint32Array): Uint32Array {
    // The state read as int32 and the length read once keep the loop on 32-bit integers: 1.2 ns
    // per word, against 8-15 with `out.length` in the condition (a typed-array view's length is
    // re-read every iteration) and the fields as they are (heap numbers beyond V8's small integers).
    let a = this.a | 0;
    let b = this.b | 0;
    let c = this.c | 0;
    let d = this.d | 0;
    const n = out.length;
    for (let i = 0; i < n; i++) {
      const t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      out[i] = t; // stored as the same 32 bits, read back unsigned
    }
    [this.a, this.b, this.c, this.d] = [a, b, c, d];
    return out;
  }

  /** Uniform in [0, 1) with 24 random bits: exactly representable in float32. */
  uniform(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Box-Muller), for weight initialisation. */
  normal(): number {
    const u = 1 - this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  getState(): RngState {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }

  setState(state: RngState): void {
    [this.a, this.b, this.c, this.d] = state.map((v) => v | 0) as RngState;
  }
}

/** Fill `out` with U(low, high) values (float32). */
export function fillUniform(rng: Rng, out: Float32Array, low = -1, high = 1): Float32Array {
  const span = high - low;
  const bits = rng.fillUint32(new Uint32Array(out.length)); // same values as rng.uniform() in turn
  const n = out.length;
  for (let i = 0; i < n; i++) out[i] = low + span * ((bits[i]! >>> 8) / 16777216);
  return out;
}

/**
 * The generator's input noise: `count` rows of `dim` values from U(-1, 1), as in the reference
 * (`torch.rand(n, d).uniform_(-1, 1)`). Row-major [count, dim].
 */
export function generatorNoise(seed: number, count: number, dim: number): Float32Array {
  return fillUniform(new Rng(seed), new Float32Array(count * dim));
}

/** Linear interpolation between two seeds' noise vectors (latent walk), t in [0, 1]. */
export function interpolateNoise(a: Float32Array, b: Float32Array, t: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! * (1 - t) + b[i]! * t;
  return out;
}

/** A random uint32 seed when the caller gave none. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x100000000) >>> 0;
}
