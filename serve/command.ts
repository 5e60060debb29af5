// `onnxgan serve`: the HTTP inference server (registered by cli.ts).
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { int, nonNegative } from '../common/cli-args.js';
import { action } from '../common/command-action.js';
import { SERVE_DEFAULTS } from './defaults.js';
import { parseWorkers } from './workers.js';

interface ServeFlags {
  models: string;
  port: number;
  host: string;
  maxBatch: number;
  maxWaitMs: number;
  cors?: string;
  embedOrigins?: string;
  logLevel: string;
  accessLog: boolean;
  logFormat: 'auto' | 'pretty' | 'json';
  workers: number;
}

// An empty PORT or HOST (exported but unset) is a mistake, not port 0 or every interface.
const port = (v: string): number => {
  if (v.trim() === '') throw new InvalidArgumentError('expected an integer in 0..65535, got an empty value');
  return int(0, 65535)(v);
};
const host = (v: string): string => {
  if (v.trim() === '') throw new InvalidArgumentError('expected an address or host name, got an empty value');
  return v.trim();
};

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the generators of a folder over HTTP (REST API, metrics, the web demo)')
    .option('--models <dir>', 'folder of .onnx generators (watched for new and replaced files)', SERVE_DEFAULTS.models)
    // Flags win over PORT and HOST (commander's order: flag, then environment, then default).
    .addOption(new Option('--port <n>', 'TCP port (0 = any free port)').env('PORT').argParser(port).default(SERVE_DEFAULTS.port))
    .addOption(
      new Option('--host <addr>', 'address to listen on (0.0.0.0: every interface)')
        .env('HOST')
        .argParser(host)
        .default(SERVE_DEFAULTS.host),
    )
    .option('--max-batch <n>', 'rows per onnxruntime run (1 = no dynamic batching)', int(1, 4096), SERVE_DEFAULTS.maxBatch)
    .option(
      '--max-wait-ms <ms>',
      'under concurrent load, how long a request may wait for others to batch with',
      nonNegative,
      SERVE_DEFAULTS.maxWaitMs,
    )
    .option('--cors <origins>', 'comma-separated origins allowed cross-origin access to the API (/v1, /v2), or * (default: off)')
    .option(
      '--embed-origins <origins>',
      'comma-separated origins whose pages may embed the public files (/dist/, /ort/, /models/) (default: every origin)',
    )
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default('info'),
    )
    .option('--no-access-log', 'do not log every request')
    .addOption(
      new Option('--log-format <format>', 'logs as readable lines (pretty) or JSON lines (json); auto: pretty on a terminal')
        .choices(['auto', 'pretty', 'json'])
        .default('auto'),
    )
    .option(
      '--workers <n>',
      'worker processes behind the one port (a dead one loses no request), or auto: one per CPU core',
      parseWorkers,
      1,
    )
    .action(
      action('serve', async (o: ServeFlags) => {
        const { isClusterWorker, WORKER_ADDRESS } = await import('./cluster.js');
        const worker = isClusterWorker();
        if (o.workers > 1 && !worker) {
          // This process listens and proxies to the workers; each runs this same command (serve/cluster-primary.ts).
          const [{ runPrimary }, { pino }] = await Promise.all([import('./cluster-primary.js'), import('pino')]);
          return runPrimary({ workers: o.workers, port: o.port, host: o.host }, pino({ name: 'onnxgan-serve', level: o.logLevel }));
        }
        const [{ startServer }, { pino }, { readableDestination, startupLine }] = await Promise.all([
          import('./server.js'),
          import('pino'),
          import('./console-log.js'),
        ]);
        const readable = o.logFormat === 'pretty' || (o.logFormat === 'auto' && process.stdout.isTTY === true);
        const level = o.logLevel as LevelWithSilent;
        const logger = readable ? pino({ name: 'onnxgan-serve', level }, readableDestination()) : pino({ name: 'onnxgan-serve', level });
        // On a terminal the startup line below says what the start-up info records would: hold them back.
        if (readable && level === 'info') logger.level = 'warn';
        const server = await startServer({
          models: o.models,
          ...(worker ? WORKER_ADDRESS : { port: o.port, host: o.host }),
          maxBatch: o.maxBatch,
          maxWaitMs: o.maxWaitMs,
          cors: o.cors?.split(',').map((s) => s.trim()),
          embedOrigins: o.embedOrigins?.split(','),
          logger,
          accessLog: o.accessLog,
        });
        if (readable) {
          logger.level = level;
          if (level !== 'silent' && !worker) console.log(startupLine(server, o.models));
        }
        const stop = (signal: string): void => {
          server.logger.info({ signal }, 'signal received');
          server.close().then(
            () => process.exit(0),
            (e: unknown) => {
              server.logger.error({ err: e }, 'shutdown failed');
              process.exit(1);
            },
          );
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      }),
    );
}
