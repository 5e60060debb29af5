// Request bodies of the inference routes (v1 generate, v2 infer), read straight from node:http:
// a size limit checked before and while reading, gzip/deflate/br bodies inflated under the same
// limit, and errors that map to the status a client can act on.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MIMEType } from 'node:util';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';
import { SERVE_DEFAULTS } from './defaults.js';
import { ApiError } from './responses.js';

/** A body the server refuses (400, 413 or 415). */
const refused = (status: 400 | 413 | 415, code: string, message: string): ApiError => new ApiError(status, code, message, '(body)');

/** The client went away before its body arrived: there is no one to answer. */
export class ClientGone extends Error {}

const DECODERS: Record<string, () => NodeJS.ReadWriteStream> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/** What a route takes: JSON only (/v1), or JSON or the binary tensor extension's bytes (/v2). */
export type BodyMedia = 'json' | 'json-or-binary';

/**
 * The whole body (empty when there is none), at most `limit` bytes after decoding, in a type the
 * route takes and in UTF-8 (RFC 8259 8.1: JSON between systems is UTF-8; another charset is a 415,
 * not a guess). A body over the limit is a 413 after which the connection closes (closeAfter).
 */
export function readBody(req: IncomingMessage, limit: number, media: BodyMedia): Promise<Buffer> {
  const tooLarge = (): ApiError => refused(413, 'body_too_large', `larger than the ${limit} byte limit`);
  const type = mediaError(req.headers['content-type'], media);
  if (type) return Promise.reject(type);
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(tooLarge());
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  let source: Readable = req;
  if (encoding !== 'identity') {
    const decoder = DECODERS[encoding];
    if (!decoder)
      return Promise.reject(
        refused(415, 'unsupported_media_type', `unsupported Content-Encoding "${encoding}" (gzip, deflate, br or none)`),
      );
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
    source.on('end', () => {
      if (size > 0 && media === 'json' && req.headers['content-type'] === undefined)
        finish(refused(415, 'unsupported_media_type', 'expected Content-Type application/json, got none'));
      else finish(null);
    });
    source.on('error', (e) =>
      finish(source === req ? new ClientGone(e.message) : refused(400, 'bad_request', `cannot decode ${encoding}: ${e.message}`)),
    );
    req.on('aborted', () => finish(new ClientGone('client aborted')));
  });
}

// The Content-Types clients send most, known good without parsing (a MIMEType parse costs ~3 us).
const PLAIN_JSON = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);
const UTF8 = new Set(['utf-8', 'utf8']);

/** Why a Content-Type is refused for a route's body (415), or null. None at all is for the end of the body to judge. */
function mediaError(header: string | undefined, media: BodyMedia): ApiError | null {
  if (header === undefined || PLAIN_JSON.has(header)) return null;
  const refuse = (why: string): ApiError => refused(415, 'unsupported_media_type', why);
  let parsed: MIMEType;
  try {
    parsed = new MIMEType(header);
  } catch {
    return media === 'json' ? refuse(`expected Content-Type application/json, got ${JSON.stringify(header)}`) : null;
  }
  if (media === 'json' && parsed.essence !== 'application/json')
    return refuse(`expected Content-Type application/json, got ${parsed.essence}`);
  const charset = parsed.params.get('charset');
  if (charset !== null && !UTF8.has(charset.toLowerCase()))
    return refuse(`charset "${charset}" is not supported: send the JSON as UTF-8 (charset=utf-8 or none)`);
  return null;
}

/**
 * After a refused body (413) the rest of it is not read: the response goes out, then the server
 * half-closes the connection and discards what the client still sends for a moment, so the client
 * reads the answer instead of a reset (closing a socket with unread data sends RST).
 */
export function closeAfter(res: ServerResponse): void {
  const socket = res.socket;
  if (!socket) return;
  res.once('finish', () => {
    socket.end();
    setTimeout(() => socket.destroy(), SERVE_DEFAULTS.lingerMs).unref();
  });
}
