// `onnxgan eval` and `onnxgan card` (registered by cli.ts): score a generator with a judge classifier.
import { Option, type Command } from 'commander';
import { int } from '../common/cli-args.js';
import { action, EXIT } from '../common/command-action.js';
import { BACKENDS, type BackendChoice } from '../backend/choices.js';

const collect = (v: string, all: string[]): string[] => [...all, v];

export function register(program: Command): void {
  program
    .command('eval')
    .description(
      'score a generator (.onnx), samples (.npy) or a data set against real images with a judge ' +
        'classifier: FID, KID, precision/recall, density/coverage, Inception score, classes, requested-class ' +
        'accuracy and per-class FID, each with its bootstrap spread, next to real images (the ceiling)',
    )
    .argument(
      '[input]',
      'exported generator (.onnx), samples (.npy: float32 in [-1,1] or uint8, [n,784] | [n,28,28] | ' +
        '[n,1,28,28]; optional <name>.labels.npy) or a data set (mnist, fashion, a folder)',
    )
    .option(
      '--ref <source>',
      "reference images instead of the judge's held-out split: mnist, fashion, an IDX or image folder; " +
        'twice (--ref A --ref B, no input) scores A against B',
      collect,
      [],
    )
    .option('--n <count>', 'samples to generate (or at most to read)', int(1), 5000)
    .option(
      '--data <source>',
      "data set of the judge (and of the default reference and ceiling): mnist, fashion or a folder (default: the generator's, else mnist)",
    )
    .option(
      '--judge <which>',
      'report (default: the judge numbers are reported with), select (the judge development decisions use) or a judge file',
    )
    .option('--bootstrap <count>', 'bootstrap resamples behind each spread (0: none)', int(0), 30)
    .option('--seed <n>', 'seed of the generator noise, the subsets and the bootstrap', int(0), 0)
    .option('--json', 'print the report as JSON only (progress stays on stderr)', false)
    .option(
      '--retrain-judge',
      'train the --judge (report or select) for --data again and write it ' +
        '(models/judge-[report-]<data>.json or the --judge file), then evaluate input if given',
      false,
    )
    .option('--judge-epochs <n>', 'epochs for --retrain-judge (default: report 8, select 8 for mnist; fewer for larger data sets)', int(1))
    .option('--no-ceiling', 'skip scoring real training images')
    .addOption(
      new Option(
        '--backend <name>',
        "tfjs backend for training a judge (--retrain-judge, or an image folder's judge on its first eval; scoring runs on onnxruntime)",
      )
        .choices(BACKENDS)
        .default('auto'),
    )
    .action(
      action(
        'eval',
        async (
          input: string | undefined,
          o: {
            ref: string[];
            n: number;
            data?: string;
            judge?: string;
            bootstrap: number;
            seed: number;
            json: boolean;
            retrainJudge: boolean;
            judgeEpochs?: number;
            ceiling: boolean;
            backend: BackendChoice;
          },
        ) => {
          const { evaluate, retrainJudge } = await import('./evaluate.js');
          const { formatReport } = await import('./report.js');
          const { terminalProgress } = await import('./progress.js');
          if (!input && o.ref.length < 2 && !o.retrainJudge)
            throw new Error(
              'give a generator (.onnx), samples (.npy) or a data set to evaluate, two --ref sets to compare, or --retrain-judge',
            );
          if (o.retrainJudge) {
            const { judgeFile } = await import('./judges.js');
            const data = o.data ?? 'mnist';
            const { role, file } = judgeFile(o.judge ?? 'report', data, { mayBeNew: true });
            const log = (l: string): void => console.error(l);
            const r = await retrainJudge({ role, data, file, epochs: o.judgeEpochs, seed: o.seed || undefined, backend: o.backend, log });
            console.error(`wrote ${r.file}: held-out accuracy ${r.heldOutAccuracy.toFixed(4)} on ${r.heldOutCount} images`);
          }
          if (input || o.ref.length) {
            const report = await evaluate({
              input,
              refs: o.ref,
              n: o.n,
              data: o.data,
              seed: o.seed,
              judge: o.judge,
              bootstrap: o.bootstrap,
              ceiling: o.ceiling,
              backend: o.backend,
              progress: terminalProgress(),
            });
            console.log(o.json ? JSON.stringify(report, null, 2) : formatReport(report));
          }
          return EXIT.ok; // onnxruntime and wasm keep handles open
        },
      ),
    );
  program
    .command('card')
    .description(
      'write a model card (MODEL.md + MODEL.png sample grid) next to an exported generator, with its eval table (report judge, spreads)',
    )
    .argument('<model>', 'exported generator (.onnx)')
    .option(
      '--run <dir>',
      "the run it was exported from (adds wall time, backend, loss curve; without it, an existing card's training facts are kept)",
    )
    .option('--n <count>', 'samples for the evaluation', int(1), 5000)
    .action(
      action('card', async (model: string, o: { run?: string; n: number }) => {
        const { writeModelCard } = await import('./model-card.js');
        const { terminalProgress } = await import('./progress.js');
        const r = await writeModelCard({ model, run: o.run, n: o.n, progress: terminalProgress() });
        console.log(`wrote ${r.card}`);
        return EXIT.ok;
      }),
    );
}
