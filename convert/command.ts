// `onnxgan convert`: a TensorFlow.js model (LayersModel or GraphModel) to ONNX (registered by cli.ts).
import { InvalidArgumentError, type Command } from 'commander';
import { int } from '../common/cli-args.js';
import { action, EXIT } from '../common/command-action.js';

const classList = (v: string): string[] => {
  const names = v.split(',').map((s) => s.trim());
  if (names.length < 2 || names.some((n) => n === '')) throw new InvalidArgumentError('expected two or more comma-separated class names');
  if (new Set(names).size !== names.length) throw new InvalidArgumentError('class names must differ');
  return names;
};

const range = (v: string): [number, number] => {
  const parts = v.split(',').map(Number);
  if (parts.length !== 2 || !parts.every(Number.isFinite) || !(parts[1]! > parts[0]!))
    throw new InvalidArgumentError('expected LOW,HIGH with LOW < HIGH, e.g. 0,1');
  return parts as [number, number];
};

interface Options {
  out: string;
  keepFp16?: boolean;
  asGenerator?: boolean;
  noiseDim?: number;
  classes?: string[];
  valueRange?: [number, number];
  dataset?: string;
}

export function register(program: Command): void {
  program
    .command('convert')
    .description(
      'convert a TensorFlow.js model (model.json: LayersModel or GraphModel) to ONNX (opset 17), verified against tfjs with onnxruntime',
    )
    .argument('<model>', 'model.json (or its folder), with its weight shards next to it')
    .requiredOption('--out <file>', 'output .onnx file')
    .option('--keep-fp16', 'keep float16 weights as float16 in the file (cast to float32 in the graph) instead of dequantizing them')
    .option(
      '--as-generator',
      "give the file onnxgan's generator interface and metadata (noise [, label] -> image [N, C, H, W]) so serve and <onnx-gan> run it",
    )
    .option('--noise-dim <n>', 'with --as-generator: the noise size per image (checked against the model)', int(1))
    .option(
      '--classes <names>',
      'with --as-generator: class names of a conditional generator, comma-separated (the label input takes their index)',
      classList,
    )
    .option('--value-range <low,high>', "with --as-generator: the range of the model's pixels (mapped to [-1, 1])", range)
    .option('--dataset <name>', "with --as-generator: the data set name in the metadata (default: the model's folder name)")
    .action(
      action('convert', async (model: string, o: Options) => {
        if (!o.asGenerator && (o.noiseDim !== undefined || o.classes || o.valueRange || o.dataset)) {
          console.error('onnxgan convert: --noise-dim, --classes, --value-range and --dataset go with --as-generator');
          return EXIT.usage;
        }
        // The files first: a broken model is reported before tfjs and onnxruntime load.
        const { readTfjsModel } = await import('./model-files.js');
        const files = readTfjsModel(model);
        const { convertFiles } = await import('./convert.js');
        const r = await convertFiles(files, o.out, {
          keepFp16: o.keepFp16,
          generator: o.asGenerator ? { noiseDim: o.noiseDim, classes: o.classes, valueRange: o.valueRange, dataset: o.dataset } : undefined,
          log: (line) => console.log(line),
        });
        const ports = (ps: { name: string; dtype: string; shape: (number | null)[] }[]): string =>
          ps.map((p) => `${p.name} ${p.dtype} [${p.shape.map((d) => d ?? 'N').join(', ')}]`).join(', ');
        console.log(`tfjs inputs: ${ports(r.io.inputs)}; outputs: ${ports(r.io.outputs)}`);
        console.log(
          `wrote ${r.file} (${(r.bytes / 1e6).toFixed(2)} MB, ${r.nodes} nodes): max |tfjs - onnxruntime| = ${r.maxDiff.toExponential(2)}`,
        );
        return EXIT.ok;
      }),
    );
}
