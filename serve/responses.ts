// The JSON answers of the API on plain node:http, and the one error type its handlers throw, shown
// in each dialect's format: `{ error, detail, field? }` (v1, health, the rest) or the Open Inference
// Protocol's `{ error }` (v2).
import type { ServerResponse } from 'node:http';

export type Dialect = 'v1' | 'v2';

/** A refused request: the status, the v1 error code, the message, and the request field it is about. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** '(body)' for the body as a whole, 'name' for the URL's model name, a body field's path. */
    readonly field?: string,
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': bytes.length });
  res.end(bytes);
}

/** The v1 error body, as given. */
export function sendError(res: ServerResponse, status: number, error: string, detail: string, field?: string): void {
  sendJson(res, status, field === undefined ? { error, detail } : { error, detail, field });
}

/** An ApiError in a dialect's format; v1's detail starts with the field it is about. */
export function sendApiError(res: ServerResponse, dialect: Dialect, e: ApiError): void {
  if (dialect === 'v2') return sendJson(res, e.status, { error: e.message });
  const about = e.field === undefined ? '' : `${e.field === '(body)' ? 'body' : e.field}: `;
  sendError(res, e.status, e.code, `${about}${e.message}`, e.field);
}

/** The dialect of a URL the server may not route itself (the --workers primary's own answers). */
export const dialectOf = (url: string | undefined): Dialect => (/^\/v2(?:[/?]|$)/.test(url ?? '') ? 'v2' : 'v1');
