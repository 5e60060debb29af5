// Load-time self-consistency of a generator: what its metadata promises (noise size, classes, image
// shape, value range) is checked against its graph, and every class is run once. A model that
// disagrees with itself is reported as failed with the reason, so no request ever meets it.
import type onnxProto from 'onnx-proto';
import type { GeneratorRunner, OrtTensorLike } from '../common/generator-runner.js';
import { IO, imageValues, isConditional, type ModelMetadata } from '../common/metadata.js';

type Graph = onnxProto.onnx.IGraphProto;
type ValueInfo = onnxProto.onnx.IValueInfoProto;
const { FLOAT, INT64 } = { FLOAT: 1, INT64: 7 }; // onnx.TensorProto.DataType

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(String(v)));

/** A tensor's dims: numbers where fixed, null where symbolic (or unknown); null if no shape at all. */
function dims(v: ValueInfo): (number | null)[] | null {
  const shape = v.type?.tensorType?.shape;
  if (!shape) return null;
  // Decoded messages name the set member of the oneof in `value` (both fields have defaults).
  return (shape.dim ?? []).map((d) => ((d as { value?: string }).value === 'dimValue' ? num(d.dimValue) : null));
}

const show = (d: (number | null)[]): string => `[${d.map((x) => x ?? 'N').join(', ')}]`;
const elemName = (t: number | null | undefined): string =>
  ({ 1: 'float32', 7: 'int64', 10: 'float16', 6: 'int32', 11: 'float64' })[t ?? 0] ?? `type ${t}`;

/** Ops that pass label indices through unchanged on the way to the embedding's Gather. */
const INDEX_PASSTHROUGH = new Set(['Cast', 'Reshape', 'Unsqueeze', 'Squeeze', 'Flatten', 'Identity']);

/** Rows of the label embedding table, when the graph gathers from a constant table with the label. */
function embeddingRows(graph: Graph): number | null {
  const fromLabel = new Set<string>([IO.label]);
  const nodes = graph.node ?? [];
  // Nodes are topologically sorted in a valid ONNX graph: one pass follows the label forward.
  for (const n of nodes) {
    if (INDEX_PASSTHROUGH.has(n.opType ?? '') && fromLabel.has(n.input?.[0] ?? '')) for (const o of n.output ?? []) fromLabel.add(o);
  }
  for (const n of nodes) {
    if (n.opType !== 'Gather' || !fromLabel.has(n.input?.[1] ?? '')) continue;
    const table = (graph.initializer ?? []).find((t) => t.name === n.input?.[0]);
    const axis = num(n.attribute?.find((a) => a.name === 'axis')?.i ?? 0);
    if (table?.dims?.length && axis === 0) return num(table.dims[0]);
  }
  return null;
}

/** Throws with the first disagreement between the metadata and the graph's declared interface. */
export function checkGraph(model: onnxProto.onnx.IModelProto, meta: ModelMetadata): void {
  const graph = model.graph ?? {};
  const input = (name: string): ValueInfo | undefined => graph.input?.find((i) => i.name === name);
  const noise = input(IO.noise);
  if (noise) {
    const type = noise.type?.tensorType?.elemType;
    if (type !== FLOAT) throw new Error(`input "${IO.noise}" is ${elemName(type)}; expected float32`);
    const d = dims(noise);
    if (d && d.length !== 2) throw new Error(`input "${IO.noise}" has shape ${show(d)}; expected [N, noise_dim]`);
    if (d?.[0] != null)
      throw new Error(
        `input "${IO.noise}" has a fixed batch size of ${d[0]}; requests are batched, so it must be variable ([N, ${meta.noiseDim}])`,
      );
    if (d?.[1] != null && d[1] !== meta.noiseDim)
      throw new Error(`metadata onnxgan.noise_dim is ${meta.noiseDim} but input "${IO.noise}" takes ${d[1]} values per row`);
  }
  if (isConditional(meta)) {
    const classes = meta.classes;
    if (new Set(classes).size !== classes.length) throw new Error(`bad onnxgan.classes: names repeat (${JSON.stringify(classes)})`);
    const label = input(IO.label);
    const type = label?.type?.tensorType?.elemType;
    if (label && type !== INT64) throw new Error(`input "${IO.label}" is ${elemName(type)}; expected int64`);
    const d = label && dims(label);
    if (d && d.length !== 1) throw new Error(`input "${IO.label}" has shape ${show(d)}; expected [N]`);
    const rows = embeddingRows(graph);
    if (rows !== null && rows !== classes.length)
      throw new Error(`metadata onnxgan.classes names ${classes.length} classes but the label embedding has ${rows} rows`);
  }
  const image = graph.output?.find((o) => o.name === IO.image);
  if (image) {
    const type = image.type?.tensorType?.elemType;
    if (type !== FLOAT) throw new Error(`output "${IO.image}" is ${elemName(type)}; expected float32`);
    const d = dims(image);
    const want = [null, ...meta.imageShape];
    if (d && (d.length !== 4 || d.some((x, i) => i > 0 && x !== null && x !== want[i]))) {
      throw new Error(`metadata onnxgan.image_shape is [${meta.imageShape.join(', ')}] but output "${IO.image}" is ${show(d)}`);
    }
  }
}

/**
 * Runs the model once per class (unconditional models: twice, as one batch of 2) with seeded noise,
 * in batches of at most `maxRows`, and checks each output against the metadata's shape and value
 * range (the runner checks shape and finiteness). A failing batch is rerun class by class so the
 * error names the class.
 */
export async function checkRuns(runner: GeneratorRunner<OrtTensorLike>, maxRows: number): Promise<void> {
  const meta = runner.metadata;
  const labels = isConditional(meta) ? meta.classes.map((_, i) => i) : [0, 0];
  const describe = (i: number): string => (isConditional(meta) ? `class ${i} (${JSON.stringify(meta.classes[i])})` : 'a test run');
  const [lo, hi] = meta.valueRange;
  const slack = (hi - lo) * 1e-3;
  const perImage = imageValues(meta.imageShape);
  const runRows = async (first: number, rows: number): Promise<void> => {
    const noise = runner.noise(first, rows); // seed = the first row's index: different noise per class
    const images = await runner.run(noise, isConditional(meta) ? labels.slice(first, first + rows) : null);
    for (let i = 0; i < images.length; i++) {
      const v = images[i]!;
      if (v < lo - slack || v > hi + slack) {
        throw new Error(
          `${describe(first + Math.floor(i / perImage))} gives the value ${v}, outside the metadata's value_range [${lo}, ${hi}]`,
        );
      }
    }
  };
  for (let first = 0; first < labels.length; first += maxRows) {
    const rows = Math.min(maxRows, labels.length - first);
    try {
      await runRows(first, rows);
    } catch (e) {
      if (rows === 1 || !isConditional(meta))
        throw new Error(`${isConditional(meta) ? `${describe(first)}: ` : ''}${(e as Error).message}`);
      for (let i = first; i < first + rows; i++) {
        try {
          await runRows(i, 1);
        } catch (one) {
          throw new Error(`${describe(i)}: ${(one as Error).message}`);
        }
      }
      throw new Error(`a batch of classes ${first}..${first + rows - 1} fails together but not alone: ${(e as Error).message}`);
    }
  }
}
