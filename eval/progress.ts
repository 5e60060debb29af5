// Progress of an evaluation on stderr: a bar per stage on a terminal, one line per finished stage
// otherwise (logs, pipes, CI), so `onnxgan eval` is never silent while it samples and scores.
import cliProgress from 'cli-progress';

export interface Stage {
  update(done: number): void;
  done(): void;
}

export interface ProgressSink {
  stage(label: string, total: number): Stage;
}

export const silentProgress: ProgressSink = { stage: () => ({ update: () => {}, done: () => {} }) };

export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  return {
    stage(label, total) {
      const t0 = Date.now();
      const finish = (): void => {
        stream.write(`${label}: ${total} done (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
      };
      if (!stream.isTTY) return { update: () => {}, done: finish };
      const bar = new cliProgress.SingleBar(
        { format: `${label} |{bar}| {value}/{total} | {duration_formatted}`, stream, hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0);
      return {
        update: (done) => bar.update(done),
        done: () => {
          bar.stop();
          finish();
        },
      };
    },
  };
}
