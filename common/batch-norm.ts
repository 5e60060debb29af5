// Inference batch normalisation is an affine map per channel, y = x * scale + shift, with
// scale = gamma / sqrt(variance + epsilon) and shift = beta - mean * scale: the one place that
// computes it, for export's BatchNorm nodes, convert's BatchNormalization layers and FusedBatchNorm
// ops, and the report judge's weights (folded into the convolution before it).

export interface ChannelAffine {
  scale: Float32Array;
  shift: Float32Array;
}

/** The affine of batch normalisation's running statistics (float64 arithmetic, then float32); no gamma/beta: 1/0. */
export function batchNormAffine(
  gamma: ArrayLike<number> | null,
  beta: ArrayLike<number> | null,
  mean: ArrayLike<number>,
  variance: ArrayLike<number>,
  epsilon: number,
): ChannelAffine {
  const n = mean.length;
  const scale = new Float32Array(n);
  const shift = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = (gamma ? gamma[i]! : 1) / Math.sqrt(variance[i]! + epsilon);
    scale[i] = s;
    shift[i] = (beta ? beta[i]! : 0) - mean[i]! * s;
  }
  return { scale, shift };
}

/**
 * A linear map (conv or dense) followed by the affine, as one linear map: the kernel's output
 * channel is its fastest index (tfjs's [..., Cout] layouts), so column o is scaled by scale[o];
 * bias' = bias * scale + shift. Returns new arrays.
 */
export function foldIntoLinear(kernel: Float32Array, bias: Float32Array, a: ChannelAffine): { kernel: Float32Array; bias: Float32Array } {
  const cout = bias.length;
  if (a.scale.length !== cout || kernel.length % cout !== 0)
    throw new Error(`batch norm of ${a.scale.length} channels cannot fold into a kernel of ${kernel.length} values with ${cout} outputs`);
  return { kernel: kernel.map((v, i) => v * a.scale[i % cout]!), bias: bias.map((b, o) => b * a.scale[o]! + a.shift[o]!) };
}
