// `onnxgan export` and `onnxgan info`.
import { Option, type Command } from 'commander';
import { action, EXIT } from '../common/command-action.js';
import type { TensorSpec } from '../common/onnx-interface.js';
import type { OnnxFileInterface } from './onnx-read.js';

const spec = (t: TensorSpec): string => `${t.name} ${t.dtype} ${t.shape ? `[${t.shape.join(', ')}]` : '(shape unknown)'}`;

/** Any ONNX file's interface and metadata_props; `generator` says whether onnxgan serves it (its metadata's problem when not). */
export function formatInfo(info: OnnxFileInterface, generator: string | null = null): string {
  const others = info.opsets
    .filter((o) => o.domain !== '' && o.domain !== 'ai.onnx')
    .map((o) => ` + ${o.domain} ${o.version}`)
    .join('');
  const rows: [string, string][] = [
    ['file', `${info.file} (${(info.bytes / 1024).toFixed(1)} KiB)`],
    ['format', `ONNX IR ${info.irVersion}, opset ${info.opset}${others}, producer ${info.producer || '(none)'}`],
    ['inputs', info.inputs.map(spec).join(', ') || '(none)'],
    ['outputs', info.outputs.map(spec).join(', ') || '(none)'],
    ...(generator ? [['generator', generator] as [string, string]] : []),
    ...Object.entries(info.props).map(([k, v]): [string, string] => [k, v]),
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

export function register(program: Command): void {
  program
    .command('export')
    .description("export a run's generator to ONNX (opset 17) or as a TensorFlow.js model, verified with onnxruntime")
    .argument('<run>', 'run folder or checkpoint.json')
    .requiredOption('--out <path>', 'output .onnx file (--format onnx) or folder (--format tfjs)')
    .addOption(
      new Option('--format <f>', 'onnx: one .onnx file; tfjs: a LayersModel folder (model.json + weights) for tf.loadLayersModel')
        .choices(['onnx', 'tfjs'])
        .default('onnx'),
    )
    .addOption(new Option('--precision <p>', 'weight precision (onnx)').choices(['fp32', 'fp16']).default('fp32'))
    .option('--no-ema', 'export the raw generator weights even when the run kept an EMA')
    .option('--best', "export the run's best.json (its best FID estimate while training) instead of its latest checkpoint")
    .action(
      action(
        'export',
        async (run: string, o: { out: string; format: 'onnx' | 'tfjs'; precision: 'fp32' | 'fp16'; ema: boolean; best?: boolean }) => {
          if (o.format === 'tfjs') {
            if (o.precision !== 'fp32') {
              console.error('onnxgan export: --precision fp16 is for --format onnx');
              return EXIT.usage;
            }
            const { exportTfjs } = await import('./tfjs-format.js');
            const r = await exportTfjs(run, o.out, { useEma: o.ema, best: o.best });
            console.log(
              `wrote ${r.dir}/{${r.files.join(',')}} (${(r.bytes / 1024).toFixed(1)} KiB): max |tfjs - ONNX ` +
                `export| = ${r.maxAbsDiff.toExponential(2)} over 256 samples`,
            );
            return EXIT.ok;
          }
          const { exportCheckpoint } = await import('./export.js');
          const { readOnnxFile } = await import('./onnx-read.js');
          const r = await exportCheckpoint(run, o.out, { precision: o.precision, useEma: o.ema, best: o.best });
          console.log(`wrote ${r.file}: max |tfjs - onnxruntime| = ${r.maxAbsDiff.toExponential(2)} over 256 samples (${o.precision})`);
          console.log(formatInfo(readOnnxFile(r.file)));
          return EXIT.ok;
        },
      ),
    );
  program
    .command('info')
    .description(
      "print any ONNX file's interface (inputs and outputs with types and shapes, opsets, producer) and " +
        'metadata, and whether onnxgan serves it as a generator',
    )
    .argument('<file>', '.onnx file')
    .action(
      action('info', async (file: string) => {
        const { readOnnxFile } = await import('./onnx-read.js');
        const { metadataFromProps } = await import('../common/metadata.js');
        const info = readOnnxFile(file);
        let generator = 'yes (onnxgan metadata)';
        try {
          metadataFromProps(info.props);
        } catch (e) {
          generator = `no: ${(e as Error).message}`;
        }
        console.log(formatInfo(info, generator));
        return EXIT.ok;
      }),
    );
}
