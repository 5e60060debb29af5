// `onnxgan triton`: a Triton model repository from a models folder (registered by cli.ts).
import type { Command } from 'commander';
import { int, nonNegative } from '../common/cli-args.js';
import { action } from '../common/command-action.js';
import { SERVE_DEFAULTS } from './defaults.js';

export function register(program: Command): void {
  program
    .command('triton')
    .description('write a Triton Inference Server model repository (config.pbtxt + 1/model.onnx per model) for Triton or KServe')
    .option('--models <dir>', 'folder of .onnx generators', SERVE_DEFAULTS.models)
    .requiredOption('--out <repo>', 'model repository folder to write (REPO/NAME is replaced, other entries are kept)')
    .option('--max-batch <n>', 'max_batch_size: rows per run and per request', int(1, 4096), SERVE_DEFAULTS.maxBatch)
    .option('--max-wait-ms <ms>', "dynamic batching's queue delay", nonNegative, SERVE_DEFAULTS.maxWaitMs)
    .option('--instances <n>', 'model instances (instance_group count)', int(1, 256), 1)
    .option('--gpu', 'run the instances on GPUs (KIND_GPU; default KIND_CPU)', false)
    .action(
      action('triton', async (o: { models: string; out: string; maxBatch: number; maxWaitMs: number; instances: number; gpu: boolean }) => {
        const { writeTritonRepository } = await import('./triton.js');
        const names = await writeTritonRepository(o, (line) => console.log(line));
        console.log(
          `Triton model repository ${o.out}: ${names.length} model${names.length > 1 ? 's' : ''}. Serve it ` +
            `with: tritonserver --model-repository=${o.out}`,
        );
        return 0;
      }),
    );
}
