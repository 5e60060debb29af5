#!/usr/bin/env node
// onnxgan command line: train -> export -> serve / eval.
import { Command, Option } from 'commander';
import { int, fraction, fractionOrZero, nonNegative, positive } from './common/cli-args.js';
import { MODEL_KINDS, type ModelKind } from './common/metadata.js';
import { BACKENDS, type BackendChoice } from './backend/choices.js';
import { MODEL_ONLY_OPTIONS } from './train/models.js';
import { register as registerExport } from './export/command.js';
import { register as registerServe } from './serve/command.js';
import { register as registerEval } from './eval/command.js';

/** Print the error's message (not a stack) and exit 1: users see what to fix. */
async function run(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    console.error(`onnxgan: ${(e as Error).message}`);
    process.exit(1);
  }
}

/** "gan", "wgan-gp/cgan": the generators a training option applies to, for its help text. */
const only = (flag: keyof typeof MODEL_ONLY_OPTIONS): string => MODEL_ONLY_OPTIONS[flag].join('/');

const program = new Command('onnxgan').description('Train GAN image generators with TensorFlow.js, export them to ONNX, serve them.');

program
  .command('train')
  .description('train a generator (checkpoints, metrics, samples and loss curve in --out)')
  .addOption(new Option('--model <kind>', 'generator to train').choices(MODEL_KINDS).makeOptionMandatory())
  .option('--data <source>', 'mnist (embedded), fashion (Debian dataset-fashion-mnist) or a folder of IDX files', 'mnist')
  .option('--epochs <n>', 'total epochs (a resumed run continues up to this count)', int(1), 20)
  .option('--batch <n>', 'batch size (default: 300, or a resumed run\'s own)', int(1))
  .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKENDS).default('auto'))
  .option('--seed <n>', 'seed of weights, noise, shuffling and dropout', int(0), 0)
  .option('--limit <n>', 'train on a class-balanced subset of n images', int(1))
  .option('--out <dir>', 'run folder (default runs/<model>)')
  .option('--resume', 'continue the run in --out from its checkpoint; training options given now replace its stored ones (not --seed, --output-bias-init)', false)
  .option('--sample-every <k>', 'write a sample grid every k epochs', int(1), 5)
  .option('--ema <decay>', 'also keep an exponential moving average of the generator weights (e.g. 0.999); export uses it', fraction)
  .addOption(new Option('--output-bias-init <how>', 'generator output bias at the start: zero-mean init as the reference, or atanh of the data\'s mean image').choices(['reference', 'mean']).default('reference'))
  .option('--critic-warmup <steps>', `${only('--critic-warmup')}: give the first <steps> generator steps 100 critic steps each (WGAN's warm-up)`, int(0))
  .option('--g-lr <rate>', 'generator learning rate (default: the reference\'s)', positive)
  .option('--d-lr <rate>', 'discriminator/critic learning rate (default: the reference\'s)', positive)
  .option('--r1 <gamma>', `${only('--r1')}: add the R1 gradient penalty gamma/2 E|dD/dx|^2 on real images to the discriminator's loss (0: off)`, nonNegative)
  .option('--lr-decay <epoch>', 'decay both learning rates linearly from this epoch to zero at --epochs', int(0))
  .option('--mismatch <weight>', `${only('--mismatch')}: also train the critic to score real images with a wrong label below the right one (matching-aware critic; 0: off)`, nonNegative)
  .option('--label-smoothing <s>', `${only('--label-smoothing')}: train the discriminator on real targets 1 - s/2 (one-sided label smoothing; 0: off)`, fractionOrZero)
  .action((o) =>
    run(async () => {
      const { train } = await import('./train/run.js');
      const stop = { requested: false };
      process.on('SIGINT', () => {
        if (stop.requested) process.exit(130); // second Ctrl-C: leave now
        stop.requested = true;
        console.error('\nstopping after this step (Ctrl-C again to quit without a checkpoint)...');
      });
      process.on('SIGTERM', () => (stop.requested = true));
      const result = await train({
        model: o.model as ModelKind,
        data: o.data,
        epochs: o.epochs,
        batch: o.batch,
        backend: o.backend as BackendChoice,
        seed: o.seed,
        limit: o.limit,
        out: o.out ?? `runs/${o.model}`,
        resume: o.resume,
        sampleEvery: o.sampleEvery,
        ema: o.ema,
        criticWarmup: o.criticWarmup,
        generatorLr: o.gLr,
        criticLr: o.dLr,
        labelSmoothing: o.labelSmoothing,
        r1: o.r1,
        lrDecayFrom: o.lrDecay,
        mismatch: o.mismatch,
        outputBiasInit: o.outputBiasInit as 'reference' | 'mean',
        stop,
      });
      process.exit(0 * result.epoch); // wasm keeps handles open; exit explicitly
    }),
  );

// Each stage registers its commands; their heavy modules load only when a command runs.
registerExport(program);
registerServe(program);
registerEval(program);

await program.parseAsync(process.argv);
