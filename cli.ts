#!/usr/bin/env node
// onnxgan command line: train -> export -> serve / eval. Each stage registers its commands from a
// light module; heavy ones (tfjs, express, onnxruntime) load only when a command runs.
import { Command, CommanderError } from 'commander';
import { EXIT } from './common/command-action.js';
import { packageInfo } from './common/package-info.js';
import { register as registerTrain } from './train/command.js';
import { register as registerExport } from './export/command.js';
import { register as registerServe } from './serve/command.js';
import { register as registerTriton } from './serve/triton-command.js';
import { register as registerEval } from './eval/command.js';
import { register as registerConvert } from './convert/command.js';
import { register as registerData } from './data/command.js';

const program = new Command('onnxgan')
  .description('Train GAN image generators with TensorFlow.js, export them to ONNX, serve them.')
  .version(packageInfo().version, '-V, --version', "print onnxgan's version")
  .option('--verbose', 'print stack traces with errors (also: DEBUG=1)')
  .exitOverride(); // usage errors exit with EXIT.usage, below

// train's quality estimates use eval's judges: handed in here, so train imports no later stage.
registerTrain(program, {
  quality: async (o) => (await import('./eval/training-quality.js')).openQualityProbe(o),
});
registerExport(program);
registerServe(program);
registerTriton(program);
registerEval(program);
registerConvert(program);
registerData(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  // Commander has printed its message (or the help) already.
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? EXIT.ok : EXIT.usage);
  throw e;
}
