// Why a download or a start-up step failed, in one short sentence, and deadlines so that nothing
// the generator loads can wait forever: a browser gives scripts only "Failed to fetch" for a
// network error, a missing CORS header and a Content-Security-Policy block alike.

/** Longest wait for a step that makes no progress (no bytes, no answer) before it counts as failed. */
export const STALL_MS = 6000;

/** Rejects with `message` when `promise` has not settled within `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Hard bound of withIdleDeadline: however busy the page, a step fails after this long. */
export const BUSY_CAP_MS = 30_000;

/**
 * Like withDeadline, but only the time this page's main thread spends waiting counts towards `ms`.
 * A step that works (onnxruntime-web compiling its 14 MB wasm on a slow or busy CPU) keeps the
 * thread busy and gets the time it needs, up to BUSY_CAP_MS; one that waits for what never comes
 * (worker threads that never start) leaves the thread idle and fails after `ms`, as before.
 */
export function withIdleDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  const tick = 100;
  const started = performance.now();
  let last = started;
  let waited = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      const now = performance.now();
      waited += Math.min(now - last, 2 * tick); // a late tick: the thread was busy, not waiting
      last = now;
      if (waited >= ms || now - started >= BUSY_CAP_MS) reject(new Error(message));
    }, tick);
  });
  return Promise.race([promise, deadline]).finally(() => clearInterval(timer));
}

/** Content-Security-Policy violations of this page, kept from the start so none is missed. */
const violations: SecurityPolicyViolationEvent[] = [];
if (typeof document !== 'undefined') document.addEventListener('securitypolicyviolation', (e) => violations.push(e));

/** The CSP directive that blocked `url` (blob: URLs are reported as "blob"), if one did. */
export async function cspBlock(url: string): Promise<string | null> {
  await new Promise((r) => setTimeout(r, 50)); // the violation event is queued after the failure
  const target = url.startsWith('blob:') ? 'blob' : url;
  // blockedURI is the URL, or only its origin when the browser hides the path.
  const v = violations.find((v) => v.blockedURI && (target === v.blockedURI || target.startsWith(`${v.blockedURI.replace(/\/$/, '')}/`)));
  return v ? v.effectiveDirective || v.violatedDirective : null;
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/** Why a script could not fetch `url`, as far as the page can tell. */
export async function networkFailure(url: string): Promise<string> {
  const directive = await cspBlock(url);
  if (directive) return `this page's Content-Security-Policy (${directive}) blocks ${new URL(url).origin}`;
  if (typeof location !== 'undefined' && !sameOrigin(url, location.href))
    return `offline, or the server does not allow ${location.origin} (no Access-Control-Allow-Origin)`;
  return 'network error';
}

/** When this page's CSP forbids compiling WebAssembly, the sentence that says so, else null. */
export function wasmBlockedByCsp(): string | null {
  try {
    // The smallest valid module: compiling it is what script-src 'wasm-unsafe-eval' allows or not.
    new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    return null;
  } catch (e) {
    if (!/Content Security Policy|unsafe-eval/i.test((e as Error).message)) return null;
    return "this page's Content-Security-Policy blocks WebAssembly: add 'wasm-unsafe-eval' to its script-src";
  }
}

/** Why the module at `url` failed to import: its HTTP status, a block, or its own error. */
export async function importFailure(url: string, error: Error): Promise<string> {
  const directive = await cspBlock(url);
  if (directive) return `this page's Content-Security-Policy (${directive}) blocks it`;
  let response: Response;
  try {
    response = await withDeadline(fetch(url, { method: 'HEAD' }), STALL_MS, 'no answer');
  } catch {
    return networkFailure(url);
  }
  if (!response.ok) return `HTTP ${response.status}`;
  const type = response.headers.get('content-type') ?? '';
  if (!/javascript|ecmascript/.test(type)) return `not JavaScript (Content-Type ${type || 'missing'})`;
  return error.message;
}
