// Reads an exported generator's interface and metadata (used by info, serve and eval).
import { readFileSync, statSync } from 'node:fs';
import { onnx } from '../common/onnx-graph.js';
import { metadataFromProps, type ModelMetadata } from '../common/metadata.js';

export interface ModelFileInfo {
  file: string;
  bytes: number;
  irVersion: number;
  opset: number;
  producer: string;
  inputs: string[];
  outputs: string[];
  metadata: ModelMetadata;
  /** All metadata_props, including keys onnxgan does not interpret. */
  props: Record<string, string>;
}

export class ModelFileError extends Error {}

export function readModelInfo(file: string, bytes: Uint8Array = readFileSync(file)): ModelFileInfo {
  let model: ReturnType<typeof onnx.ModelProto.decode>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelFileError(`${file}: not a valid ONNX file (${(e as Error).message})`);
  }
  if (!model.graph) throw new ModelFileError(`${file}: not a valid ONNX file (no graph)`);
  const props = Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  let metadata: ModelMetadata;
  try {
    metadata = metadataFromProps(props);
  } catch (e) {
    throw new ModelFileError(`${file}: ${(e as Error).message}`);
  }
  return {
    file,
    bytes: statSync(file).size,
    irVersion: Number(model.irVersion),
    opset: Number(model.opsetImport.find((o) => !o.domain)?.version ?? 0),
    producer: `${model.producerName} ${model.producerVersion}`.trim(),
    inputs: (model.graph.input ?? []).map((i) => i.name ?? ''),
    outputs: (model.graph.output ?? []).map((o) => o.name ?? ''),
    metadata,
    props,
  };
}
