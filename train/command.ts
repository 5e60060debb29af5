// `onnxgan train` (registered by cli.ts). Light: tfjs loads only when the command runs.
import { Option, type Command } from 'commander';
import { int } from '../common/cli-args.js';
import { action, EXIT } from '../common/command-action.js';
import { MODEL_KINDS, type ModelKind } from '../common/metadata.js';
import { BACKENDS, type BackendChoice } from '../backend/choices.js';
import { RECIPES, TRAINING_OPTIONS, flagOf, helpOf, type GivenOptions, type OptionKey, type Recipe } from './options.js';
import { addImageDataOptions, imageOptionsFrom } from '../data/image-options.js';
import { QUALITY_SECONDS, QUALITY_SHARE, type OpenQualityProbe } from './quality-probe.js';
import { DEFAULT_BATCH, DEFAULT_CONV_BATCH, DEFAULT_EPOCHS, MIN_DEFAULT_BATCH, lengthOptions } from './run-length.js';

/** What a later stage lends train: the judge of its quality estimates (cli.ts hands in eval's). */
export interface TrainServices {
  quality?: OpenQualityProbe;
}

export function register(program: Command, services: TrainServices = {}): void {
  const cmd: Command = program
    .command('train')
    .description('train a generator (checkpoints, metrics, samples and loss curve in --out)')
    .addOption(new Option('--model <kind>', 'generator to train').choices(MODEL_KINDS).makeOptionMandatory())
    .option(
      '--data <source>',
      'mnist (embedded), fashion (Debian dataset-fashion-mnist), a folder of IDX files, or a folder of ' +
        'images (one subfolder per class, or flat)',
      'mnist',
    );
  addImageDataOptions(cmd)
    .option(
      '--epochs <n>',
      `total epochs (a resumed run continues up to this count; default ${DEFAULT_EPOCHS}, or --steps or ` +
        `--minutes below, or a resumed run's own end)`,
      int(1),
    )
    .option(
      '--batch <n>',
      `batch size (default: ${DEFAULT_BATCH}, --arch dcgan ${DEFAULT_CONV_BATCH}, an eighth of a smaller data set ` +
        `(at least ${MIN_DEFAULT_BATCH}), or a resumed run's own)`,
      int(1),
    )
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKENDS).default('auto'))
    .option(
      '--threads <n>',
      "threads of the wasm backend's native matrix products (onnxruntime's GEMM); more than 1 only helps on an otherwise idle machine",
      int(1, 64),
      1,
    )
    .option('--seed <n>', 'seed of weights, noise, shuffling and dropout', int(0), 0)
    .option('--limit <n>', 'train on a class-balanced subset of n images', int(1))
    .option('--out <dir>', 'run folder (default runs/<model>)')
    .option(
      '--resume',
      'continue the run in --out from its checkpoint; training options given now replace its stored ones (not --seed, --output-bias-init)',
      false,
    )
    .option('--sample-every <k>', 'write a sample grid every k epochs', int(1), 5)
    .option(
      '--quality-every <k>',
      'estimate FID/KID every k epochs (metrics.jsonl, loss.svg; the best checkpoint kept as best.json); 0: never; ' +
        `default: at most every ${QUALITY_SECONDS} s and ${QUALITY_SHARE * 100}% of the time, and after the last epoch of a run of minutes`,
      int(0),
    )
    .addOption(
      new Option(
        '--recipe <name>',
        "where a new run's training options start: best (those the shipped models were trained with) or " +
          "reference (the chapter's); options given below replace the recipe's",
      )
        .choices(RECIPES)
        .default('best'),
    );
  // The training options: no commander defaults, so "not given" stays undefined (a resume keeps the stored value).
  const keys = Object.keys(TRAINING_OPTIONS) as OptionKey[];
  for (const key of keys)
    cmd.addOption(new Option(`${flagOf(key)} ${TRAINING_OPTIONS[key].arg}`, helpOf(key)).argParser(TRAINING_OPTIONS[key].parse));
  cmd.action(
    action('train', async (o: Record<string, unknown>) => {
      let length: ReturnType<typeof lengthOptions>;
      try {
        length = lengthOptions({
          epochs: o.epochs as number | undefined,
          steps: o.steps as number | undefined,
          minutes: o.minutes as number | undefined,
        });
      } catch (e) {
        console.error(`onnxgan train: ${(e as Error).message}`);
        return EXIT.usage;
      }
      const { train } = await import('./run.js');
      const stop = { requested: false };
      process.on('SIGINT', () => {
        if (stop.requested) process.exit(EXIT.interrupted); // second Ctrl-C: leave now
        stop.requested = true;
        console.error('\nstopping after this step (Ctrl-C again to quit without a checkpoint)...');
      });
      process.on('SIGTERM', () => (stop.requested = true));
      await train({
        model: o.model as ModelKind,
        data: o.data as string,
        dataOptions: imageOptionsFrom(o),
        epochs: o.epochs as number | undefined,
        batch: o.batch as number | undefined,
        backend: o.backend as BackendChoice,
        threads: o.threads as number,
        seed: o.seed as number,
        limit: o.limit as number | undefined,
        out: (o.out as string | undefined) ?? `runs/${o.model}`,
        resume: o.resume as boolean,
        sampleEvery: o.sampleEvery as number,
        recipe: o.recipe as Recipe,
        options: { ...(Object.fromEntries(keys.map((k) => [k, o[k]])) as GivenOptions), ...length },
        stop,
        quality: services.quality,
        qualityEvery: o.qualityEvery as number | undefined,
      });
      return EXIT.ok; // wasm keeps handles open; exit explicitly
    }),
  );
}
