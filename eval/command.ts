// `onnxgan eval` and `onnxgan card` (registered by cli.ts): score a generator with the shipped judge classifier.
import { Option, type Command } from 'commander';
import { int } from '../common/cli-args.js';
import { action, EXIT } from '../common/command-action.js';
import { BACKENDS, type BackendChoice } from '../backend/choices.js';

export function register(program: Command): void {
  program
    .command('eval')
    .description('score a generator (.onnx) or samples (.npy) with the judge classifier: FID-judge, Inception score, class coverage/entropy, requested-class accuracy, next to real images (the ceiling)')
    .argument('[input]', 'exported generator (.onnx) or samples (.npy: float32 in [-1,1] or uint8, [n,784] | [n,28,28] | [n,1,28,28]; optional <name>.labels.npy)')
    .option('--n <count>', 'samples to generate (or at most to read from .npy)', int(2), 5000)
    .option('--data <source>', 'data set of the judge and the real images: mnist, fashion or an IDX folder (default: the generator\'s, else mnist)')
    .option('--seed <n>', 'seed of the generator noise and of the ceiling\'s training images', int(0), 0)
    .option('--json', 'print the metrics as JSON only', false)
    .option('--retrain-judge', 'train the judge for --data again and write it (models/judge-<data>.json), then evaluate input if given', false)
    .option('--judge <file>', 'judge file (default: models/judge-<data>.json shipped with onnxgan)')
    .option('--judge-epochs <n>', 'epochs for --retrain-judge (default: 8 for mnist, fewer for larger data sets)', int(1))
    .option('--no-ceiling', 'skip scoring real training images')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKENDS).default('auto'))
    .action(
      action('eval', async (input: string | undefined, o: { n: number; data?: string; seed: number; json: boolean; retrainJudge: boolean; judge?: string; judgeEpochs?: number; ceiling: boolean; backend: BackendChoice }) => {
        const { evaluate, retrainJudge } = await import('./evaluate.js');
        const { formatReport } = await import('./report.js');
        if (!input && !o.retrainJudge) throw new Error('give a generator (.onnx) or samples (.npy) to evaluate, or --retrain-judge');
        if (o.retrainJudge) {
          const data = o.data ?? 'mnist';
          const log = (l: string): void => console.error(l);
          const r = await retrainJudge({ data, file: o.judge, epochs: o.judgeEpochs, seed: o.seed, backend: o.backend, log });
          console.error(`wrote ${r.file}: held-out accuracy ${r.info.heldOutAccuracy.toFixed(4)} on ${r.info.heldOutCount} images`);
        }
        if (input) {
          const report = await evaluate({ input, n: o.n, data: o.data, seed: o.seed, judgeFile: o.judge, ceiling: o.ceiling, backend: o.backend });
          console.log(o.json ? JSON.stringify(report, null, 2) : formatReport(report));
        }
        return EXIT.ok; // wasm keeps handles open
      }),
    );
  program
    .command('card')
    .description('write a model card (MODEL.md + MODEL.png sample grid) next to an exported generator, with its eval table')
    .argument('<model>', 'exported generator (.onnx)')
    .option('--run <dir>', 'the run it was exported from (adds wall time, backend, loss curve)')
    .option('--n <count>', 'samples for the evaluation', int(2), 5000)
    .action(
      action('card', async (model: string, o: { run?: string; n: number }) => {
        const { writeModelCard } = await import('./model-card.js');
        const r = await writeModelCard({ model, run: o.run, n: o.n });
        console.log(`wrote ${r.card}`);
        return EXIT.ok;
      }),
    );
}
