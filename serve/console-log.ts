// What `onnxgan serve` prints on a terminal: one readable startup line (where to open the demo, which
// models it serves), then one short line per log record instead of pino's JSON (kept for pipes,
// files and log collectors: --log-format json).
import type { DestinationStream } from 'pino';
import type { RunningServer } from './server.js';

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

interface LogRecord {
  level: number;
  time: number;
  msg?: string;
  err?: { message?: string };
  req?: { method?: string; url?: string };
  res?: { statusCode?: number };
  responseTime?: number;
  [field: string]: unknown;
}

/** One pino record (a JSON line) as `HH:MM:SS level message key=value ...`; access logs as `METHOD URL status ms`. */
export function formatRecord(line: string): string {
  const {
    level,
    time,
    msg = '',
    err,
    req,
    res,
    responseTime,
    pid: _pid,
    hostname: _hostname,
    name: _name,
    ...fields
  } = JSON.parse(line) as LogRecord;
  const clock = new Date(time).toTimeString().slice(0, 8);
  const levelName = LEVEL_NAMES[level] ?? String(level);
  if (req && res)
    return `${clock} ${level >= 40 ? `${levelName} ` : ''}${req.method} ${req.url} ${res.statusCode} ${Math.round(responseTime ?? 0)} ms`;
  const extra = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return [clock, levelName, err?.message ? `${msg}: ${err.message}` : msg, ...extra].join(' ');
}

/** A pino destination writing readable lines to `out` (pino hands it one JSON line per record). */
export function readableDestination(out: NodeJS.WritableStream = process.stdout): DestinationStream {
  return { write: (line: string) => void out.write(`${formatRecord(line)}\n`) };
}

/** `http://0.0.0.0:8080` cannot be opened in a browser: show the loopback address of the same family. */
function openableUrl(url: string): string {
  return url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');
}

/** The line a person reads after `npm start`: where to open the demo and what it serves. */
export function startupLine(server: Pick<RunningServer, 'url' | 'registry'>, modelsDir: string): string {
  const url = `${openableUrl(server.url)}/`;
  const everywhere = url !== `${server.url}/` ? ' (listening on every interface)' : '';
  const names = [...server.registry.models.keys()].sort();
  const failed = [...server.registry.failed.keys()].sort();
  const serving = names.length
    ? `serving ${names.join(', ')} from ${modelsDir}`
    : `no model in ${modelsDir} yet (add .onnx files: the folder is watched)`;
  const broken = failed.length ? `; failed to load: ${failed.join(', ')} (see ${url}v1/models)` : '';
  return `onnxgan serve: demo at ${url}${everywhere}, ${serving}${broken}; Ctrl-C stops`;
}
