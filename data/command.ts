// `onnxgan data` (registered by cli.ts): what a --data source holds, as the trainer will see it.
// Light: sharp loads only when the command runs.
import type { Command } from 'commander';
import { action, EXIT } from '../common/command-action.js';
import { writeFileAtomic } from '../common/atomic.js';
import { addImageDataOptions, imageOptionsFrom } from './image-options.js';

export function register(program: Command): void {
  const cmd = program
    .command('data')
    .description(
      'summarise a data set (images per class, sizes and pixel formats found, files skipped and why) and preview it as the trainer sees it',
    )
    .argument('<source>', 'folder of images (one subfolder per class, or flat), folder of IDX files, mnist or fashion')
    .option('--preview <file.png>', 'write a grid of training images, one row per class')
    .option('--json', 'print the summary as JSON', false);
  addImageDataOptions(cmd).action(
    action('data', async (source: string, o: Record<string, unknown>) => {
      const { openData } = await import('./sources.js');
      const { formatSummary, previewPng, summarise } = await import('./summary.js');
      const splits = await openData(source, imageOptionsFrom(o));
      const summary = summarise(source, splits);
      console.log(o.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
      if (o.preview) {
        writeFileAtomic(o.preview as string, previewPng(splits));
        if (!o.json)
          console.log(`preview: ${o.preview as string} (${splits.train.classes.length > 1 ? 'one row per class' : 'the first images'})`);
      }
      return EXIT.ok;
    }),
  );
}
