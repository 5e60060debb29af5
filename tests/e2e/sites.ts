// Other origins for the end-to-end tests: small web servers on free ports (another port is another
// origin), standing in for the sites that embed a generator, plain static hosts and broken servers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from '@playwright/test';
import express from 'express';
import { docTaggedBlock } from '../helpers/doc-blocks.js';

export interface Site {
  /** Origin with a trailing slash, e.g. http://127.0.0.1:40123/ */
  url: string;
  origin: string;
  /** Paths requested so far, in order. */
  requests: string[];
  /** The pages by path; may be changed while the site runs. */
  pages: Record<string, string>;
  close(): Promise<void>;
}

export interface SiteOptions {
  /** Pages by path ('/index.html': '<!doctype html>...'). */
  pages?: Record<string, string>;
  /** A folder served as plain static files (no CORS, no CORP, no COEP headers: a typical host). */
  root?: string;
  /** Headers of the pages (not of the files under `root`), e.g. COOP/COEP or a CSP. */
  pageHeaders?: Record<string, string>;
  /** Answers of their own for some paths (taking precedence over `root`), e.g. a broken file. */
  handlers?: Record<string, (req: IncomingMessage, res: ServerResponse) => void>;
}

function listen(server: Server, requests: string[], pages: Record<string, string> = {}): Promise<Site> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      resolve({
        url: `${origin}/`,
        origin,
        requests,
        pages,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    }),
  );
}

/** A site with its own pages and, optionally, a folder of files. */
export function startSite(options: SiteOptions): Promise<Site> {
  const requests: string[] = [];
  const pages = { ...options.pages };
  const app = express();
  app.use((req, res, next) => {
    requests.push(req.path);
    const handler = options.handlers?.[req.path];
    if (handler) return handler(req, res);
    const html = pages[req.path];
    if (html === undefined) return next();
    res
      .set(options.pageHeaders ?? {})
      .type('html')
      .send(html);
  });
  if (options.root) app.use(express.static(options.root));
  return listen(createServer(app), requests, pages);
}

/** A server that accepts connections and never answers: the stalled network. */
export function startStalledServer(): Promise<Site> {
  const requests: string[] = [];
  const server = createServer((req: IncomingMessage, _res: ServerResponse) => {
    requests.push(req.url ?? '');
  });
  return listen(server, requests);
}

/** A free port with nothing listening on it (connection refused). */
export async function closedOrigin(): Promise<string> {
  const site = await listen(createServer(), []);
  await site.close();
  return site.origin;
}

/**
 * The docs' code block tagged `name` in its info string (```html name), in README.md or docs/*.md,
 * with the example host https://gan.example.org replaced by `server` (no trailing slash).
 */
export function docSnippet(name: string, server?: string): string {
  const block = docTaggedBlock(name);
  return server ? block.replaceAll('https://gan.example.org', server.replace(/\/$/, '')) : block;
}

/** Records the `error` events of <onnx-gan> elements (time since navigation, message) and CSP violations. */
export async function watchElements(page: Page): Promise<void> {
  await page.addInitScript({
    // Once per document, however often a test adds it.
    content:
      `if (!window.__errors) {
      window.__errors = []; window.__violations = [];
      window.addEventListener('error', (e) => { if (e.target?.localName === 'onnx-gan') __errors.push({ ms: ` +
      `performance.now(), message: e.detail?.message }); }, true);
      document.addEventListener('securitypolicyviolation', (e) => __violations.push(e.effectiveDirective + ' ' + ` +
      `e.blockedURI));
    }`,
  });
}

export const elementErrors = (page: Page): Promise<{ ms: number; message: string }[]> =>
  page.evaluate(() => (window as unknown as { __errors: { ms: number; message: string }[] }).__errors);

export const cspViolations = (page: Page): Promise<string[]> =>
  page.evaluate(() => (window as unknown as { __violations: string[] }).__violations);

/** A minimal page around `body`. */
export const htmlPage = (body: string): string =>
  `<!doctype html><html lang="en"><meta charset="utf-8"><title>third-party page</title><body>\n${body}\n</body></html>`;
