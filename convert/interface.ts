// The converted file's interface, and how a parity sample feeds both sides. Plain conversions keep
// the tfjs model's own inputs and outputs (names, dtypes, layouts, a dynamic batch);
// --as-generator gives onnxgan's generator contract (noise, label -> image [N, C, H, W]) and metadata.
import { ELEM } from '../common/onnx-graph.js';
import { generatorLabels } from '../common/generator-runner.js';
import { IO, metadataToProps, type ImageShape, type ModelMetadata } from '../common/metadata.js';
import { fillUniform, generatorNoise, Rng } from '../common/rng.js';
import type { DType, Emitter, Shape, Value } from './emitter.js';
import { UnsupportedError } from './ops/errors.js';

export interface Port {
  name: string;
  dtype: DType;
  /** tfjs shape; null: not fixed (the batch). */
  shape: Shape;
}

export interface ModelIO {
  inputs: Port[];
  outputs: Port[];
}

export type Data = Float32Array | Int32Array | Uint8Array | BigInt64Array;
export interface HostTensor {
  data: Data;
  shape: number[];
  dtype: DType;
}

export interface InterfacePlan {
  /** ONNX graph inputs; returns the values that feed the tfjs model's inputs, in order. */
  inputs(e: Emitter): Value[];
  /** ONNX graph outputs from the tfjs model's outputs. */
  outputs(e: Emitter, values: Value[]): void;
  /** One random sample of `n` rows: the tfjs model's inputs and the ONNX file's. */
  sample(n: number, seed: number): { tfjs: HostTensor[]; onnx: Record<string, HostTensor> };
  /** What the ONNX file must output for these tfjs outputs. */
  expected(tfjsOutputs: HostTensor[]): Record<string, HostTensor>;
  metadata: Record<string, string>;
  /** For generators: their metadata (the parity check runs them through GeneratorRunner). */
  generator?: ModelMetadata;
}

/** Fixed dims for a sample: an open batch is n, other open dims `free` (a fixed batch stays). */
const sampleShape = (shape: Shape, n: number, free = 16): number[] => shape.map((d, i) => d ?? (i === 0 ? n : free));
const onnxDims = (p: Port): (number | string)[] => p.shape.map((d, i) => (d !== null ? d : i === 0 ? 'N' : `${p.name}_${i}`));
const count = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

function randomTensor(p: Port, shape: number[], rng: Rng, intRange: number): HostTensor {
  const n = count(shape);
  if (p.dtype === 'float32') return { data: fillUniform(rng, new Float32Array(n)), shape, dtype: 'float32' };
  if (p.dtype === 'bool') return { data: Uint8Array.from({ length: n }, () => rng.int(2)), shape, dtype: 'bool' };
  return { data: Int32Array.from({ length: n }, () => rng.int(intRange)), shape, dtype: 'int32' };
}

/** The tfjs model's own interface. `indexRange` bounds random ints (an embedding's input_dim). */
export function plainInterface(io: ModelIO, indexRange: Map<string, number>, source: Record<string, string>): InterfacePlan {
  return {
    inputs: (e) => io.inputs.map((p) => e.input(p.name, p.dtype, onnxDims(p), p.shape)),
    outputs: (e, values) => values.forEach((v, i) => e.output(v, io.outputs[i]!.name, onnxDims(io.outputs[i]!))),
    sample: (n, seed) => {
      const rng = new Rng(seed);
      const tfjs = io.inputs.map((p) => randomTensor(p, sampleShape(p.shape, n), rng, indexRange.get(p.name) ?? 2));
      return { tfjs, onnx: Object.fromEntries(io.inputs.map((p, i) => [p.name, tfjs[i]!])) };
    },
    expected: (outs) => Object.fromEntries(io.outputs.map((p, i) => [p.name, outs[i]!])),
    metadata: source,
  };
}

export interface GeneratorOptions {
  noiseDim?: number;
  classes?: string[];
  /** The range of the model's output; mapped to onnxgan's [-1, 1]. */
  valueRange?: [number, number];
  dataset: string;
  /** Metadata the model already carries (an onnxgan export): kind, epochs, steps and EMA carry over. */
  carried?: ModelMetadata;
}

/** Which input is the noise and which the label; checks the model fits a generator. */
function generatorPorts(io: ModelIO, o: GeneratorOptions): { noise: number; label: number | null; noiseDim: number } {
  const perRow = (p: Port): number | null => (p.shape.slice(1).some((d) => d === null) ? null : count(p.shape.slice(1) as number[]));
  const names = io.inputs.map((p) => `${p.name} [${p.shape.map((d) => d ?? 'N').join(', ')}] ${p.dtype}`).join(', ');
  let noise = 0;
  let label: number | null = null;
  if (o.classes) {
    if (io.inputs.length !== 2)
      throw new UnsupportedError(`--classes needs a model with two inputs (noise and label); this one has ${io.inputs.length}: ${names}`);
    label = io.inputs.findIndex((p) => p.dtype === 'int32');
    if (label < 0) label = io.inputs.findIndex((p) => perRow(p) === 1);
    if (label < 0 || perRow(io.inputs[label]!) !== 1) throw new UnsupportedError(`no label input (one class index per row) among ${names}`);
    noise = 1 - label;
  } else if (io.inputs.length !== 1) {
    throw new UnsupportedError(
      `--as-generator without --classes needs a model with one input (the noise); this one has ` +
        `${io.inputs.length}: ${names} (give --classes for a conditional generator)`,
    );
  }
  const n = io.inputs[noise]!;
  const dim = perRow(n);
  if (n.dtype !== 'float32' || dim === null)
    throw new UnsupportedError(`the noise input ${n.name} must be float32 with a fixed size per row (got ${names})`);
  if (o.noiseDim !== undefined && o.noiseDim !== dim)
    throw new UnsupportedError(`--noise-dim ${o.noiseDim} does not match the noise input ${n.name}, which takes ${dim} values per row`);
  if (io.outputs.length !== 1)
    throw new UnsupportedError(
      `--as-generator needs a model with one output (the image); this one has ${io.outputs.length}: ` +
        `${io.outputs.map((p) => p.name).join(', ')}`,
    );
  return { noise, label, noiseDim: dim };
}

/** [C, H, W] of the output and how to get there: channels-last images are transposed, flat grey squares reshaped. */
function imageLayout(out: Port): { shape: ImageShape; from: 'nhwc' | 'nchw' | 'hw' | 'flat' } {
  const s = out.shape.slice(1);
  const bad = (): never => {
    throw new UnsupportedError(
      `the output ${out.name} [${out.shape.map((d) => d ?? 'N').join(', ')}] is not an image: expected [N, ` +
        `H, W, C] or [N, C, H, W] with 1 or 3 channels, [N, H, W], or [N, S*S]`,
    );
  };
  if (s.some((d) => d === null)) bad();
  const d = s as number[];
  if (d.length === 3 && [1, 3].includes(d[2]!)) return { shape: [d[2]!, d[0]!, d[1]!], from: 'nhwc' };
  if (d.length === 3 && [1, 3].includes(d[0]!)) return { shape: [d[0]!, d[1]!, d[2]!], from: 'nchw' };
  if (d.length === 2) return { shape: [1, d[0]!, d[1]!], from: 'hw' };
  if (d.length === 1 && Number.isInteger(Math.sqrt(d[0]!))) return { shape: [1, Math.sqrt(d[0]!), Math.sqrt(d[0]!)], from: 'flat' };
  return bad();
}

/** onnxgan's generator contract around the tfjs model. */
export function generatorInterface(io: ModelIO, o: GeneratorOptions): InterfacePlan {
  const { noise, label, noiseDim } = generatorPorts(io, o);
  const out = io.outputs[0]!;
  const image = imageLayout(out);
  const [low, high] = o.valueRange ?? [-1, 1];
  if (!(high > low)) throw new UnsupportedError(`--value-range ${low},${high}: the high end must be above the low end`);
  const carried = o.carried && (o.carried.classes !== null) === Boolean(o.classes) ? o.carried : undefined;
  const meta: ModelMetadata = {
    kind: carried?.kind ?? (o.classes ? 'cgan' : 'gan'),
    noiseDim,
    noise: 'uniform(-1,1)',
    classes: o.classes ?? null,
    dataset: o.dataset,
    epochs: carried?.epochs ?? 0,
    steps: carried?.steps ?? 0,
    valueRange: [-1, 1],
    imageShape: image.shape,
    ...(carried?.ema !== undefined ? { ema: carried.ema } : {}),
  };
  const tfjsShape = (i: number, n: number): number[] => sampleShape(io.inputs[i]!.shape, n);
  const [c, h, w] = image.shape;
  return {
    inputs: (e) => {
      const values: Value[] = [];
      const noisePort = io.inputs[noise]!;
      const z = e.input(IO.noise, 'float32', ['N', noiseDim], [null, noiseDim]);
      values[noise] =
        noisePort.shape.length === 2
          ? z
          : e.op(
              'Reshape',
              [z, e.int64([-1, ...(noisePort.shape.slice(1) as number[])])],
              {},
              { dtype: 'float32', shape: noisePort.shape },
            );
      if (label !== null) {
        const p = io.inputs[label]!;
        const l = e.input(IO.label, 'int64', ['N'], [null]);
        const typed = e.op('Cast', [l], { to: { i: p.dtype === 'float32' ? ELEM.float : ELEM.int32 } }, { dtype: p.dtype, shape: [null] });
        values[label] =
          p.shape.length === 1
            ? typed
            : e.op('Reshape', [typed, e.int64([-1, ...(p.shape.slice(1) as number[])])], {}, { dtype: p.dtype, shape: p.shape });
      }
      return values;
    },
    outputs: (e, [v]) => {
      if (v!.dtype !== 'float32') throw new UnsupportedError(`the output ${out.name} is ${v!.dtype}, not float32 pixels`);
      // Stored [N, C, H, W] whatever the tfjs layout: NHWC images are (or already were) moved to NCHW.
      let x = image.from === 'nhwc' ? e.toNchw(v!).name : e.g.node('Reshape', [e.logical(v!).name, e.int64([-1, c, h, w])]);
      if (low !== -1 || high !== 1) {
        const scale = 2 / (high - low);
        x = e.g.node('Add', [e.g.node('Mul', [x, e.floats([scale], []).name]), e.floats([-1 - low * scale], []).name]);
      }
      e.g.node('Identity', [x], {}, IO.image);
      e.g.output(IO.image, ELEM.float, ['N', c, h, w]);
    },
    sample: (n, seed) => {
      const z = generatorNoise(seed, n, noiseDim);
      const tfjs: HostTensor[] = [];
      tfjs[noise] = { data: z, shape: tfjsShape(noise, n), dtype: 'float32' };
      const onnx: Record<string, HostTensor> = { [IO.noise]: { data: z, shape: [n, noiseDim], dtype: 'float32' } };
      if (label !== null) {
        const labels = generatorLabels(meta, n)!;
        const p = io.inputs[label]!;
        tfjs[label] = { data: p.dtype === 'float32' ? Float32Array.from(labels) : labels, shape: tfjsShape(label, n), dtype: p.dtype };
        onnx[IO.label] = { data: BigInt64Array.from(labels, (l) => BigInt(l)), shape: [n], dtype: 'int64' };
      }
      return { tfjs, onnx };
    },
    expected: ([y]) => {
      const n = y!.shape[0]!;
      let data = y!.data as Float32Array;
      if (image.from === 'nhwc') {
        const moved = new Float32Array(data.length);
        for (let b = 0; b < n; b++)
          for (let i = 0; i < h * w; i++) for (let k = 0; k < c; k++) moved[(b * c + k) * h * w + i] = data[(b * h * w + i) * c + k]!;
        data = moved;
      }
      if (low !== -1 || high !== 1) data = data.map((v) => ((v - low) * 2) / (high - low) - 1);
      return { [IO.image]: { data, shape: [n, c, h, w], dtype: 'float32' } };
    },
    metadata: metadataToProps(meta),
    generator: meta,
  };
}
