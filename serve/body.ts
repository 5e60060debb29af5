// Request bodies of the inference routes (v1 generate, v2 infer), read straight from node:http:
// a size limit checked before and while reading, gzip/deflate/br bodies inflated under the same
// limit, and errors that map to the status a client can act on.
import type { IncomingMessage } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';

/** A body the server refuses: the status and error code to answer with. */
export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The client went away before its body arrived: there is no one to answer. */
export class ClientGone extends Error {}

const DECODERS: Record<string, () => NodeJS.ReadWriteStream> = { gzip: createGunzip, 'x-gzip': createGunzip, deflate: createInflate, br: createBrotliDecompress };

/** The whole body (empty when there is none), at most `limit` bytes after decoding. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = (): BodyError => new BodyError(413, 'body_too_large', `body: larger than the ${limit} byte limit`);
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(tooLarge());
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  let source: Readable = req;
  if (encoding !== 'identity') {
    const decoder = DECODERS[encoding];
    if (!decoder) return Promise.reject(new BodyError(415, 'unsupported_media_type', `body: unsupported Content-Encoding "${encoding}" (gzip, deflate, br or none)`));
    source = req.pipe(decoder()) as unknown as Readable;
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (e: Error | null): void => {
      if (done) return;
      done = true;
      if (e) {
        source.removeAllListeners('data');
        req.resume(); // discard the rest; the response (with Connection: close) follows
        reject(e);
      } else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    source.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) finish(tooLarge());
      else chunks.push(c);
    });
    source.on('end', () => finish(null));
    source.on('error', (e) => finish(source === req ? new ClientGone(e.message) : new BodyError(400, 'bad_request', `body: cannot decode ${encoding}: ${e.message}`)));
    req.on('aborted', () => finish(new ClientGone('client aborted')));
  });
}

/** `application/json` with any parameters (charset), the one type the JSON routes take. */
export const isJson = (req: IncomingMessage): boolean => /^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '');
