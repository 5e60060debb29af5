// How long `onnxgan --help` and each command's --help take (the CLI loads heavy modules only when a
// command runs), against `node -e 0` in the same run: the part that is ours is the difference.
//   npm run build && node bench/cli-startup.mjs [--runs 15] [--before OLD/dist/cli.js]
// --before: another build's cli.js (e.g. a worktree of an older commit) measured in the same runs.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 15);
const cli = path.join(root, 'dist', 'cli.js');
const before = process.argv.includes('--before') ? process.argv[process.argv.indexOf('--before') + 1] : null;
const cases = [
  ['node -e 0 (the peer)', ['-e', '0']],
  ...(before
    ? [
        ['before: onnxgan --help', [before, '--help']],
        ['before: onnxgan train --help', [before, 'train', '--help']],
      ]
    : []),
  ['onnxgan --help', [cli, '--help']],
  ...['train', 'export', 'info', 'eval', 'card', 'serve'].map((c) => [`onnxgan ${c} --help`, [cli, c, '--help']]),
];
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const times = new Map(cases.map(([name]) => [name, []]));
for (let r = 0; r < runs; r++) {
  for (const [name, args] of cases) {
    const t0 = performance.now();
    execFileSync(process.execPath, args, { stdio: 'ignore' });
    times.get(name).push(performance.now() - t0);
  }
}
const peer = median(times.get(cases[0][0]));
console.log(
  `Command: \`node bench/cli-startup.mjs --runs ${runs}${before ? ` --before ${before}` : ''}\` (` +
    `${new Date().toISOString().slice(0, 10)}), median of ${runs} runs, interleaved\n`,
);
console.log('| command | median ms | above `node -e 0` |');
console.log('|---|---|---|');
for (const [name] of cases)
  console.log(
    `| ${name} | ${median(times.get(name)).toFixed(0)} | ` +
      `${name.startsWith('node') ? '' : `+${(median(times.get(name)) - peer).toFixed(0)} ms`} |`,
  );
