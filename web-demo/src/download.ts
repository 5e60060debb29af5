// Downloads a file the generator needs (the model, onnxruntime-web's wasm) with progress, and fails
// with a short reason when the server refuses, the browser blocks it or the bytes stop coming.
import { networkFailure, STALL_MS } from './load-failures.js';

/** Bytes received so far, across the downloads of one load. */
export type OnBytes = (received: number) => void;

/** The bytes at `url`; the error's message is the reason only (callers say what failed). */
export async function download(url: string, onBytes?: OnBytes, stallMs = STALL_MS): Promise<Uint8Array> {
  const controller = new AbortController();
  let stalled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      controller.abort();
    }, stallMs);
  };
  const stallMessage = (): string => `no data for ${stallMs / 1000} s`;
  arm();
  try {
    let response: Response;
    try {
      response = await fetch(url, { signal: controller.signal });
    } catch {
      throw new Error(stalled ? stallMessage() : await networkFailure(url));
    }
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
    if (!response.body) return new Uint8Array(await response.arrayBuffer());
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let received = 0;
    for (;;) {
      let part: ReadableStreamReadResult<Uint8Array>;
      try {
        arm();
        part = await reader.read();
      } catch {
        throw new Error(stalled ? stallMessage() : `the download broke off after ${received} bytes`);
      }
      if (part.done) break;
      chunks.push(part.value);
      received += part.value.length;
      onBytes?.(part.value.length);
    }
    const bytes = new Uint8Array(received);
    let offset = 0;
    for (const c of chunks) {
      bytes.set(c, offset);
      offset += c.length;
    }
    return bytes;
  } finally {
    clearTimeout(timer);
  }
}
