// A network's training-mode forward and backward passes on Float32Arrays from each layer kind's own hand-written
// forward and backward (train/layers/<kind>.ts `handForward`, `handBackward`), with the products on onnxruntime's GEMM and the
// convolutions on backend/conv-kernels.ts. Images are NHWC between layers, as tfjs's tensors are, so
// every layer's values equal the tfjs layer's (tests/hand-conv.test.ts). The step engine
// (mlp-step.ts on mlp-net.ts) does not use it: tfjs's wasm convolutions measured faster
// (bench/conv-engines.ts), so conv networks train on tfjs's autodiff.
import type { Gemm } from '../backend/ort-matmul.js';
import { ConvKernels } from '../backend/conv-kernels.js';
import type { Sequential } from './layers.js';
import { kindOf } from './layers/registry.js';

/** The first layer of `net` without a hand-written forward (and with `backward`, backward); null: every layer has them. */
export function noHandForward(net: Sequential, backward = false): string | null {
  const c = net.config.layers.find((l) => !kindOf(l).handForward || (backward && !kindOf(l).handBackward));
  return c ? `no hand-written ${backward && kindOf(c).handForward ? 'backward' : 'forward'} for ${c.type}` : null;
}

/** Each layer's output for x [n, inputDim] (the last is the network's), batch statistics in BatchNorm. */
export function handForward(net: Sequential, gemm: Gemm, x: Float32Array, n: number, labels?: Int32Array): Float32Array[] {
  const why = noHandForward(net);
  if (why) throw new Error(`${net.name}: ${why}`);
  const conv = new ConvKernels(gemm);
  const outs: Float32Array[] = [];
  let h = x;
  net.layers.forEach((layer, i) => {
    h = kindOf(layer.config).handForward!(layer, h, { gemm, conv, n, shape: net.shapes[i]!, labels });
    outs.push(h);
  });
  return outs;
}

/**
 * The gradients of <dOut, net(x)> after `handForward` gave `outs`: one per `net.trainable` (in its
 * order) and the input's.
 */
export function handBackward(
  net: Sequential,
  gemm: Gemm,
  x: Float32Array,
  outs: Float32Array[],
  dOut: Float32Array,
  n: number,
  labels?: Int32Array,
): { grads: Float32Array[]; dx: Float32Array } {
  const why = noHandForward(net, true);
  if (why) throw new Error(`${net.name}: ${why}`);
  const conv = new ConvKernels(gemm);
  const grads = net.layers.map((l) => l.trainable.map((v) => new Float32Array(v.size)));
  let g = dOut;
  for (let i = net.layers.length - 1; i >= 0; i--) {
    const layer = net.layers[i]!;
    g = kindOf(layer.config).handBackward!(
      layer,
      i ? outs[i - 1]! : x,
      outs[i]!,
      g,
      { gemm, conv, n, shape: net.shapes[i]!, labels },
      grads[i]!,
    );
  }
  return { grads: grads.flat(), dx: g };
}

/**
 * The penalty's two passes on a critic after `handForward` of x gave `outs`: `inputGradient` is
 * gx = d sum_i <weights, net(x)_i> / dx with every layer's upstream kept (its weight gradients are
 * computed and dropped: a cost the fused MLP engine avoids); `penaltyGrads`, given dP/dgx, walks the
 * layers forward with each kind's `handPenalty` and returns dP/dweights (per `net.trainable`).
 */
export function inputGradient(
  net: Sequential,
  gemm: Gemm,
  x: Float32Array,
  outs: Float32Array[],
  weights: number[],
  n: number,
  labels?: Int32Array,
): { gx: Float32Array; upstream: Float32Array[] } {
  const why =
    noHandForward(net, true) ??
    net.config.layers.map((c) => (kindOf(c).handPenalty ? null : `no hand-written penalty double backward for ${c.type}`)).find((w) => w) ??
    null;
  if (why) throw new Error(`${net.name}: ${why}`);
  const conv = new ConvKernels(gemm);
  const upstream: Float32Array[] = [];
  let u: Float32Array = Float32Array.from({ length: outs.at(-1)!.length }, (_, i) => weights[i % weights.length]!);
  for (let i = net.layers.length - 1; i >= 0; i--) {
    const layer = net.layers[i]!;
    upstream[i] = u;
    u = kindOf(layer.config).handBackward!(
      layer,
      i ? outs[i - 1]! : x,
      outs[i]!,
      u,
      { gemm, conv, n, shape: net.shapes[i]!, labels },
      layer.trainable.map((v) => new Float32Array(v.size)),
    );
  }
  return { gx: u, upstream };
}

export function penaltyGrads(
  net: Sequential,
  gemm: Gemm,
  x: Float32Array,
  outs: Float32Array[],
  upstream: Float32Array[],
  dGx: Float32Array,
  n: number,
  labels?: Int32Array,
): Float32Array[] {
  const conv = new ConvKernels(gemm);
  const grads = net.layers.map((l) => l.trainable.map((v) => new Float32Array(v.size)));
  let G = dGx;
  net.layers.forEach((layer, i) => {
    G = kindOf(layer.config).handPenalty!(
      layer,
      i ? outs[i - 1]! : x,
      upstream[i]!,
      G,
      { gemm, conv, n, shape: net.shapes[i]!, labels },
      grads[i]!,
    );
  });
  return grads.flat();
}
