// Reads one entry of the models folder without ever blocking the event loop on it: whatever the
// folder holds (a FIFO, a device, a symlink loop, a link into an unreadable folder, a huge file), the
// answer is bytes or an error that says what the entry is, never a hang.
import { constants, promises as fs } from 'node:fs';
import type onnxProto from 'onnx-proto';
import { entryKind } from '../common/regular-file.js';
import { metadataFromProps, type ModelMetadata } from '../common/metadata.js';
import { onnx } from '../common/onnx-graph.js';
import { readOnnxInterface } from '../common/onnx-interface.js';
import { checkGraph } from './model-check.js';

/** protobuf cannot hold an ONNX file over 2 GiB; a larger entry is refused before it is read. */
export const MAX_MODEL_BYTES = 2 ** 31 - 1;

const why = (e: NodeJS.ErrnoException): string =>
  ({
    ELOOP: 'a symbolic link loop',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    ENOTDIR: 'a link through something that is not a folder',
    ENAMETOOLONG: 'a path that is too long',
    ENOENT: 'a link to nothing (or removed meanwhile)',
  })[e.code ?? ''] ?? (e.code ? `${e.code}: ${e.message}` : e.message);

/** The entry's state: gone (removed), or there (to be read with readModelFile). */
export async function modelEntryExists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    return true; // there, but unreadable: readModelFile says why
  }
}

/**
 * The bytes of a regular file (or of a link to one). Opened with O_NONBLOCK so that a FIFO (or a
 * file swapped for one after a check) returns at once instead of waiting for a writer, and the
 * opened handle's own type is checked, so no race between a check and the read.
 */
export async function readModelFile(file: string): Promise<Buffer> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENXIO') throw new Error(`${file}: cannot read: a socket or a FIFO`);
    throw new Error(`${file}: cannot read: ${why(err)}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error(`${file}: cannot read: ${entryKind(stat)}, not a model file`);
    if (stat.size > MAX_MODEL_BYTES) throw new Error(`${file}: ${stat.size} bytes, larger than an ONNX file can be (2 GiB)`);
    if (stat.size === 0) throw new Error(`${file}: empty file`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** A generator file's bytes, graph and metadata, from one read and one decode, checked against each other (model-check.ts). */
export async function readGenerator(file: string): Promise<{ bytes: Buffer; model: onnxProto.onnx.ModelProto; meta: ModelMetadata }> {
  const bytes = await readModelFile(file);
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes); // the whole graph, for checkGraph
  } catch (e) {
    throw new Error(`${file}: not a valid ONNX file (${(e as Error).message})`);
  }
  try {
    const meta = metadataFromProps(readOnnxInterface(bytes).props);
    checkGraph(model, meta);
    return { bytes, model, meta };
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}
