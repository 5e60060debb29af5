// `onnxgan serve`: the HTTP inference server (registered by cli.ts).
import { Option, type Command } from 'commander';
import { int, nonNegative } from '../common/cli-args.js';
import { action } from '../common/command-action.js';
import { SERVE_DEFAULTS } from './defaults.js';
import { parseWorkers } from './workers.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the generators of a folder over HTTP (REST API, metrics, the web demo)')
    .option('--models <dir>', 'folder of .onnx generators (watched for new and replaced files)', SERVE_DEFAULTS.models)
    .option('--port <n>', 'TCP port (0 = any free port)', int(0, 65535), SERVE_DEFAULTS.port)
    .option('--host <addr>', 'address to listen on', SERVE_DEFAULTS.host)
    .option('--max-batch <n>', 'rows per onnxruntime run (1 = no dynamic batching)', int(1, 4096), SERVE_DEFAULTS.maxBatch)
    .option('--max-wait-ms <ms>', 'under concurrent load, how long a request may wait for others to batch with', nonNegative, SERVE_DEFAULTS.maxWaitMs)
    .option('--cors <origins>', 'comma-separated origins allowed cross-origin access, or * (default: off)')
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'))
    .option('--no-access-log', 'do not log every request')
    .option('--workers <n>', 'processes serving on the one port (node:cluster), or auto: one per CPU core', parseWorkers, 1)
    .action(
      action('serve', async (o: { models: string; port: number; host: string; maxBatch: number; maxWaitMs: number; cors?: string; logLevel: string; accessLog: boolean; workers: number }) => {
        if (o.workers > 1 && (await import('node:cluster')).default.isPrimary) {
          // This process supervises; each worker runs this same command and serves (serve/cluster.ts).
          const [{ runPrimary }, { pino }] = await Promise.all([import('./cluster.js'), import('pino')]);
          return runPrimary(o.workers, pino({ name: 'onnxgan-serve', level: o.logLevel }));
        }
        const { startServer } = await import('./server.js');
        const server = await startServer({
          models: o.models,
          port: o.port,
          host: o.host,
          maxBatch: o.maxBatch,
          maxWaitMs: o.maxWaitMs,
          cors: o.cors?.split(',').map((s) => s.trim()),
          logLevel: o.logLevel as 'info',
          accessLog: o.accessLog,
        });
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
