// The public static files: the web demo, the <onnx-gan> bundle (/dist/), onnxruntime-web (/ort/) and
// the model files (/models/NAME.onnx). Served as a CDN would, so any page can embed a generator:
// - embeddable: Access-Control-Allow-Origin and Cross-Origin-Resource-Policy: cross-origin on /dist/,
//   /ort/ and /models/ (every origin, or only the listed ones); the API's CORS stays apart (--cors);
// - compressed: the .br/.gz copies web-demo/build.mjs made, negotiated per request (Vary);
//   model files are compressed once per loaded version, in zlib's thread pool;
// - cached: content-hashed names (NAME-HASH.ext in /dist/) immutable for a year; the rest,
//   model files included (they can be replaced), revalidated with their ETag on every use.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import type { ModelRegistry } from './model-registry.js';
import { labelRoute } from './metrics.js';
import { sendError } from './responses.js';
import { modelNameSchema } from './schemas.js';

export interface StaticFilesOptions {
  /** The web demo's folder (its dist/ holds the bundle and the runtime). */
  webRoot: string;
  registry: ModelRegistry;
  /** Origins that may embed the public files; undefined, empty or '*': every origin. */
  embedOrigins?: string[];
}

/** onnxruntime-web's dist/ folder (wasm + mjs), served locally at /ort/: no CDN. */
export function ortWebDist(): string {
  return path.dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
}

/** Checked origins ('*' alone means any); throws a one-line error naming a malformed one. */
export function parseEmbedOrigins(origins: string[] | undefined): string[] | '*' {
  const list = (origins ?? []).map((o) => o.trim()).filter(Boolean);
  if (list.length === 0 || list.includes('*')) return '*';
  return list.map((o) => {
    let url: URL | null = null;
    try {
      url = new URL(o);
    } catch {
      /* reported below */
    }
    if (!url || !/^https?:$/.test(url.protocol) || url.origin !== o.replace(/\/$/, ''))
      throw new Error(`embed origin "${o}" is not an origin like https://example.org or http://localhost:3000`);
    return url.origin;
  });
}

/** The CDN-like headers of files any (or a listed) page may load, e.g. under COEP. */
function embedHeaders(origins: string[] | '*'): RequestHandler {
  return (req, res, next) => {
    if (origins === '*') {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
      res.setHeader('Timing-Allow-Origin', '*');
    } else {
      res.vary('Origin');
      const origin = req.headers.origin;
      if (origin && origins.includes(origin)) {
        res.setHeader('Access-Control-Allow-Origin', origin);
        res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
        res.setHeader('Timing-Allow-Origin', origin);
      } else {
        // Whatever --cors allows the API.
        res.removeHeader('Access-Control-Allow-Origin');
        res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
      }
    }
    next();
  };
}

type Encoding = 'br' | 'gzip';
const SUFFIX: Record<Encoding, string> = { br: '.br', gzip: '.gz' };

/** The client's best encoding among `offered` (brotli first on a tie), or null for identity. */
export function negotiateEncoding(acceptEncoding: string | undefined, offered: Encoding[]): Encoding | null {
  const q = new Map<string, number>();
  for (const part of (acceptEncoding ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const value = qParam ? Number(qParam.slice(2)) : 1;
    q.set(name, Number.isFinite(value) ? value : 0);
  }
  let best: Encoding | null = null;
  let bestQ = 0;
  for (const enc of offered) {
    const value = q.get(enc) ?? q.get('*') ?? 0;
    if (value > bestQ) [best, bestQ] = [enc, value];
  }
  return best;
}

/** The file under `root` that a URL path names, or null for anything odd (left to express.static). */
function fileUnder(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.split('/').some((s) => s.startsWith('.'))) return null;
  const file = path.join(root, decoded);
  return file.startsWith(root + path.sep) ? file : null;
}

/** Rewrites the request to the .br/.gz copy of a file when there is one and the client takes it. */
function precompressed(root: string): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const file = fileUnder(root, req.path);
    if (!file) return next();
    const offered = (Object.keys(SUFFIX) as Encoding[]).filter((enc) => existsSync(file + SUFFIX[enc]));
    if (offered.length === 0) return next();
    res.vary('Accept-Encoding');
    const encoding = negotiateEncoding(req.headers['accept-encoding'], offered);
    if (!encoding) return next();
    res.setHeader('Content-Encoding', encoding);
    res.type(path.extname(file)); // send() keeps a Content-Type already set, not the .br's
    const q = req.url.indexOf('?');
    req.url = q < 0 ? req.url + SUFFIX[encoding] : req.url.slice(0, q) + SUFFIX[encoding] + req.url.slice(q);
    next();
  };
}

const HASHED = /-[A-Z2-7]{8}\.[a-z]+$/; // web-demo/build.mjs and esbuild's [hash]

/** Cache-Control by the name the client asked for: hashed names in /dist/ never change. */
function setCacheControl(res: Response): void {
  const asked = (res.req as Request).originalUrl.split('?')[0]!;
  const immutable = asked.startsWith('/dist/') && HASHED.test(asked.replace(/\.(br|gz)$/, ''));
  res.setHeader('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
}

const staticOptions = { cacheControl: false, setHeaders: setCacheControl } as const;

/**
 * /ort/NAME: the build's compressed copy of onnxruntime-web's file NAME when it has one (see
 * dist/ort/manifest.json), else the installed package's file.
 */
function ortFiles(webRoot: string): Router {
  const router = Router();
  const builtDir = path.join(webRoot, 'dist', 'ort');
  let manifest: Record<string, string> = {};
  try {
    manifest = JSON.parse(readFileSync(path.join(builtDir, 'manifest.json'), 'utf8')) as Record<string, string>;
  } catch {
    /* not built: the package's files only */
  }
  router.use((req, _res, next) => {
    const hashed = manifest[req.path.slice(1)];
    if (hashed && existsSync(path.join(builtDir, hashed))) req.url = `/${hashed}`;
    next();
  });
  router.use(precompressed(builtDir), express.static(builtDir, { ...staticOptions, index: false }));
  router.use(express.static(ortWebDist(), { ...staticOptions, index: false }));
  return router;
}

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

interface ModelBodies {
  etag: string;
  identity: Buffer;
  /** Only encodings that make the file smaller. */
  encoded: Partial<Record<Encoding, Buffer>>;
}

/** Per loaded model bytes (a replaced file is a new array): its ETag and compressed copies, made once. */
const bodies = new WeakMap<Uint8Array, Promise<ModelBodies>>();

function modelBodies(bytes: Uint8Array): Promise<ModelBodies> {
  let b = bodies.get(bytes);
  if (!b) {
    b = (async () => {
      const identity = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const etag = createHash('sha256').update(identity).digest('base64url').slice(0, 22);
      // Float weights compress little (~8 %): brotli 5 gets what 11 gets, 100x faster.
      const [br, gz] = await Promise.all([
        brotli(identity, {
          params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: identity.length },
        }),
        gzip(identity, { level: 6 }),
      ]);
      const encoded: ModelBodies['encoded'] = {};
      if (br.length < identity.length) encoded.br = br;
      if (gz.length < identity.length) encoded.gzip = gz;
      return { etag, identity, encoded };
    })();
    bodies.set(bytes, b);
  }
  return b;
}

/** GET /models/NAME.onnx: the exact bytes the server runs (from memory: no path to traverse). */
function modelFiles(registry: ModelRegistry): RequestHandler {
  return async (req, res) => {
    const m = /^(.+)\.onnx$/.exec(req.params.file as string);
    const model = m && modelNameSchema.safeParse(m[1]).success ? registry.models.get(m[1]!) : undefined;
    if (!model) return sendError(res, 404, 'not_found', `no model file "${req.params.file}"`, 'file');
    const body = await modelBodies(model.bytes);
    const encoding = negotiateEncoding(req.headers['accept-encoding'], Object.keys(body.encoded) as Encoding[]);
    res.vary('Accept-Encoding');
    res.setHeader('Cache-Control', 'no-cache');
    // One ETag per representation; express answers 304 when If-None-Match matches it.
    res.setHeader('ETag', `"${body.etag}${encoding ? `-${encoding}` : ''}"`);
    if (encoding) res.setHeader('Content-Encoding', encoding);
    res.type('application/octet-stream').send(encoding ? body.encoded[encoding] : body.identity);
  };
}

const routeLabel =
  (name: string): RequestHandler =>
  (_req, res, next) => {
    labelRoute(res, name);
    next();
  };

export function staticFiles(options: StaticFilesOptions): Router {
  const router = Router();
  const embed = embedHeaders(parseEmbedOrigins(options.embedOrigins));
  const webRoot = path.resolve(options.webRoot);
  router.get('/models/:file', routeLabel('/models/:file'), embed, modelFiles(options.registry));
  router.use('/ort', routeLabel('/ort/*'), embed, ortFiles(webRoot));
  router.use('/dist', embed);
  router.use('/', routeLabel('/ (web-demo)'), precompressed(webRoot), express.static(webRoot, staticOptions));
  return router;
}
