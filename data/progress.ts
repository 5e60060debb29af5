// A progress bar on stderr for long data work (decoding image folders, training a judge). Without a
// terminal it prints a line every 10 s instead of redrawing, so logs stay readable.
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number): void;
  stop(): void;
}

export function progressBar(label: string, total: number, unit: string): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} |{bar}| {value}/{total} ${unit} | {speed} ${unit}/s | ETA {eta_formatted}`,
      stream: process.stderr,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 10_000,
      etaBuffer: 200,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const start = performance.now();
  bar.start(total, 0, { speed: '-' });
  return {
    update: (done) => bar.update(done, { speed: (done / Math.max(1e-3, (performance.now() - start) / 1000)).toFixed(0) }),
    stop: () => bar.stop(),
  };
}
