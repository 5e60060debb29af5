// Reads an ONNX file's interface (any ONNX file: `onnxgan info`) and, for onnxgan generators, their
// metadata (used by info, serve and eval).
import { readFileSync, statSync } from 'node:fs';
import type onnxProto from 'onnx-proto';
import { onnx } from '../common/onnx-graph.js';
import { metadataFromProps, type ModelMetadata } from '../common/metadata.js';

/**
 * One input or output: its element type as onnxruntime names it, and its dims (numbers, symbolic names, '?' when
 * unnamed); null shape: rank unknown.
 */
export interface TensorSpec {
  name: string;
  dtype: string;
  shape: (number | string)[] | null;
}

export interface OnnxInterface {
  file: string;
  bytes: number;
  irVersion: number;
  /** The default (ai.onnx) domain's opset. */
  opset: number;
  /** Every imported opset, the default domain as ''. */
  opsets: { domain: string; version: number }[];
  producer: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** All metadata_props, including keys onnxgan does not interpret. */
  props: Record<string, string>;
}

export interface ModelFileInfo extends Omit<OnnxInterface, 'inputs' | 'outputs'> {
  /** Input and output names (the generator contract, common/metadata.ts IO). */
  inputs: string[];
  outputs: string[];
  metadata: ModelMetadata;
}

export class ModelFileError extends Error {}

/** TensorProto.DataType names as onnxruntime's tensor types spell them (FLOAT -> float32). */
const DTYPE_NAMES: Record<string, string> = { FLOAT: 'float32', DOUBLE: 'float64' };

function dtypeName(elemType: number | null | undefined): string {
  const name = (onnx.TensorProto.DataType as unknown as Record<number, string>)[elemType ?? 0] ?? `type ${elemType}`;
  return DTYPE_NAMES[name] ?? name.toLowerCase();
}

function tensorSpec(v: onnxProto.onnx.IValueInfoProto): TensorSpec {
  const name = v.name ?? '';
  const t = v.type;
  if (!t?.tensorType) return { name, dtype: t?.sequenceType ? 'sequence' : t?.mapType ? 'map' : t?.optionalType ? 'optional' : 'unknown', shape: null };
  const dims = t.tensorType.shape?.dim;
  return {
    name,
    dtype: dtypeName(t.tensorType.elemType),
    shape: dims ? dims.map((d) => (d.dimValue !== null && d.dimValue !== undefined && String(d.dimValue) !== '0' ? Number(d.dimValue) : d.dimParam || '?')) : null,
  };
}

export function readOnnxInterface(file: string, bytes: Uint8Array = readFileSync(file)): OnnxInterface {
  let model: ReturnType<typeof onnx.ModelProto.decode>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelFileError(`${file}: not a valid ONNX file (${(e as Error).message})`);
  }
  if (!model.graph) throw new ModelFileError(`${file}: not a valid ONNX file (no graph)`);
  // Files before IR 4 list the weights among the inputs too: those are not the interface.
  const weights = new Set((model.graph.initializer ?? []).map((t) => t.name));
  const opsets = (model.opsetImport ?? []).map((o) => ({ domain: o.domain ?? '', version: Number(o.version ?? 0) }));
  return {
    file,
    bytes: statSync(file).size,
    irVersion: Number(model.irVersion),
    opset: opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0,
    opsets,
    producer: `${model.producerName ?? ''} ${model.producerVersion ?? ''}`.trim(),
    inputs: (model.graph.input ?? []).filter((i) => !weights.has(i.name ?? '')).map(tensorSpec),
    outputs: (model.graph.output ?? []).map(tensorSpec),
    props: Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? ''])),
  };
}

/** An onnxgan generator's interface and metadata; a file without valid onnxgan metadata is refused. */
export function readModelInfo(file: string, bytes: Uint8Array = readFileSync(file)): ModelFileInfo {
  const iface = readOnnxInterface(file, bytes);
  let metadata: ModelMetadata;
  try {
    metadata = metadataFromProps(iface.props);
  } catch (e) {
    throw new ModelFileError(`${file}: ${(e as Error).message}`);
  }
  return { ...iface, inputs: iface.inputs.map((t) => t.name), outputs: iface.outputs.map((t) => t.name), metadata };
}
