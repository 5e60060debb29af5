// An ONNX file's interface (any ONNX file: `onnxgan info`) and, for onnxgan generators, their
// metadata (used by info, eval and the benches): common/onnx-interface.ts on a file's bytes.
import { readFileSync } from 'node:fs';
import { metadataFromProps, type ModelMetadata } from '../common/metadata.js';
import { readOnnxInterface, type OnnxInterface } from '../common/onnx-interface.js';

export interface OnnxFileInterface extends OnnxInterface {
  file: string;
  bytes: number;
}

export interface ModelFileInfo extends Omit<OnnxFileInterface, 'inputs' | 'outputs'> {
  /** Input and output names (the generator contract, common/metadata.ts IO). */
  inputs: string[];
  outputs: string[];
  metadata: ModelMetadata;
}

export function readOnnxFile(file: string, bytes: Uint8Array = readFileSync(file)): OnnxFileInterface {
  try {
    return { file, bytes: bytes.length, ...readOnnxInterface(bytes) };
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/** An onnxgan generator's interface and metadata; a file without valid onnxgan metadata is refused. */
export function readModelInfo(file: string, bytes: Uint8Array = readFileSync(file)): ModelFileInfo {
  const iface = readOnnxFile(file, bytes);
  let metadata: ModelMetadata;
  try {
    metadata = metadataFromProps(iface.props);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  return { ...iface, inputs: iface.inputs.map((t) => t.name), outputs: iface.outputs.map((t) => t.name), metadata };
}
