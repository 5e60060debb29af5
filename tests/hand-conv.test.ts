// The hand-written forward of the --arch dcgan layers (each kind's handForward, train/hand-forward.ts)
// against tfjs's forward of the same networks, layer by layer: a tiny dcgan at 8x8, batch 4.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../backend/select.js';
import { ortGemm, type Gemm } from '../backend/ort-matmul.js';
import { Rng } from '../common/rng.js';
import type { ModelKind } from '../common/metadata.js';
import { Sequential } from '../train/layers.js';
import { architecture } from '../train/models.js';
import { handForward } from '../train/hand-forward.js';

let gemm: Gemm;
beforeAll(async () => {
  await selectBackend('wasm');
  const g = ortGemm();
  if (!('gemm' in g)) throw new Error(g.why);
  gemm = g.gemm;
});

const N = 4;

/** tfjs's training-mode output of every layer (batch statistics, running ones left alone). */
function tfjsOutputs(net: Sequential, x: Float32Array, labels: Int32Array): Float32Array[] {
  return tf.tidy(() => {
    const ctx = { training: true, updateStats: false, labels: tf.tensor1d(labels, 'int32') };
    let h: tf.Tensor = tf.tensor2d(x, [N, net.config.inputDim]);
    return net.layers.map((l) => {
      h = l.apply(h, ctx);
      return h.dataSync() as Float32Array;
    });
  });
}

function check(net: Sequential, rng: Rng): void {
  const x = Float32Array.from({ length: N * net.config.inputDim }, () => rng.uniform() * 2 - 1);
  const labels = Int32Array.from({ length: N }, (_, i) => i % 3);
  const want = tfjsOutputs(net, x, labels);
  const got = handForward(net, gemm, x, N, labels);
  net.layers.forEach((l, i) => {
    const [a, b] = [want[i]!, got[i]!];
    expect(b.length, l.name).toBe(a.length);
    let d = 0;
    let scale = 0;
    for (let j = 0; j < a.length; j++) {
      d = Math.max(d, Math.abs(a[j]! - b[j]!));
      scale = Math.max(scale, Math.abs(a[j]!));
    }
    expect(d, `${l.name}: max |tfjs - hand| of max ${scale}`).toBeLessThan(2e-5 * Math.max(1, scale));
  });
}

describe('the hand-written forward of the dcgan layers', () => {
  for (const kind of ['wgan-gp', 'cgan'] as ModelKind[]) {
    it(`equals tfjs's, layer by layer: ${kind} generator and critic, 8x8 grey and RGB`, () => {
      for (const shape of [[1, 8, 8], [3, 8, 8]] as [1 | 3, number, number][]) {
        const arch = architecture(kind, 3, shape, 'dcgan');
        const rng = new Rng(5);
        const G = new Sequential('generator', arch.generator, rng);
        const D = new Sequential('critic', arch.critic, rng);
        expect(G.config.layers.map((c) => c.type)).toContain('ConvTranspose2D');
        check(G, rng);
        check(D, rng);
        G.dispose();
        D.dispose();
      }
    });
  }
});
