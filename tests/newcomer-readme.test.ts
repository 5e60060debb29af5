// The README's quick start and pipeline, run the way a newcomer runs them, on a clean copy of the
// tree: the files a clone would hold (tracked and new ones, nothing ignored: no dist/, runs/,
// my-models/). The commands are read from README.md's fenced blocks, so the test follows the README.
//
// Two stand-ins, because the machine running the suite may have no network and already has the
// packages: `npm ci` is node_modules linked from this checkout plus `npm run prepare` (the build npm
// ci runs), and npx runs offline with a throw-away cache and without scripts (it links the package
// into its cache and would run the same build again). The training is tiny (--epochs 1 --limit 200).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, symlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import path from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';
import { docBlocks, docShBlocks, docTaggedBlock } from './helpers/doc-blocks.js';
import { tempDir } from './helpers/temp-dir.js';

/** The commands of the `index`th ```sh block under a heading: comments dropped, one per line. */
function commandsUnder(heading: string, index = 0): string[] {
  return docShBlocks(heading)
    [index]!.replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** `npx onnxgan SUB args...` -> its argv, with `--flag value` readable. */
function parse(command: string): { sub: string; args: string[]; flag: (name: string) => string | undefined } {
  const words = command.split(/\s+/);
  if (words[0] !== 'npx' || words[1] !== 'onnxgan') throw new Error(`README pipeline: expected "npx onnxgan ...", got ${command}`);
  const args = words.slice(3);
  return { sub: words[2]!, args, flag: (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined) };
}

const work = tempDir('onnxgan-readme-');
const clone = path.join(work, 'clone');
const npmCache = path.join(work, 'npm-cache');

interface Run {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

/** A shell command line in the clone, in its own process group (npm starts children). */
function run(line: string, env: Record<string, string> = {}): Run {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!('PORT' in env)) delete merged.PORT;
  delete merged.HOST;
  const child = spawn('bash', ['-c', line], { cwd: clone, env: merged, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  return { child, out: () => out, exited: new Promise((resolve) => child.on('close', (code) => resolve(code))) };
}

async function ok(line: string, env: Record<string, string> = {}): Promise<string> {
  const r = run(line, env);
  const code = await r.exited;
  expect(code, `${line}\n${r.out()}`).toBe(0);
  return r.out();
}

/**
 * Runs a server command line until `use(url)` is done, then stops the server as Ctrl-C or a process
 * manager would (SIGTERM to the pid it logs): it drains and exits 0, and so does npm/npx around it.
 */
async function withServer(line: string, env: Record<string, string>, use: (url: string) => Promise<void>): Promise<void> {
  const r = run(line, env);
  try {
    const { url, pid } = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
      r.child.stdout!.on('data', () => {
        const m = /"pid":(\d+)[^\n]*"url":"(http:[^"]+)"[^\n]*"msg":"listening"/.exec(r.out());
        if (m) resolve({ pid: Number(m[1]), url: m[2]! });
      });
      void r.exited.then((code) => reject(new Error(`${line} exited (${code}) before listening:\n${r.out()}`)));
    });
    await use(url);
    process.kill(pid, 'SIGTERM');
    expect(await r.exited, r.out()).toBe(0);
  } finally {
    if (r.child.exitCode === null && r.child.signalCode === null) process.kill(-r.child.pid!, 'SIGKILL'); // after a failure only
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Every file under `dir` (relative paths), not following node_modules. */
function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.name === 'node_modules' || e.name === '.git') return [];
    return e.isDirectory() ? listFiles(full, base) : [path.relative(base, full)];
  });
}

/** name -> sha256 of the .onnx files of a folder. */
const onnxDigests = (dir: string): Record<string, string> =>
  Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.endsWith('.onnx'))
      .map((f) => [
        f,
        createHash('sha256')
          .update(readFileSync(path.join(dir, f)))
          .digest('hex'),
      ]),
  );

let before: Set<string>;
let shippedModels: Record<string, string>;

beforeAll(async () => {
  // The tree's files as a clone of it would hold them: tracked plus new, never ignored ones.
  const files = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
    .stdout.split('\0')
    .filter((f) => f && existsSync(path.join(ROOT, f)) && statSync(path.join(ROOT, f)).isFile());
  expect(files.length).toBeGreaterThan(50);
  for (const f of files) {
    mkdirSync(path.dirname(path.join(clone, f)), { recursive: true });
    copyFileSync(path.join(ROOT, f), path.join(clone, f));
  }
  expect(existsSync(path.join(clone, 'dist'))).toBe(false);
  before = new Set(listFiles(clone));
  shippedModels = onnxDigests(path.join(clone, 'models'));
  // The quick start's `npm ci`: the packages (linked), then the prepare script npm ci runs.
  symlinkSync(realpathSync(path.join(ROOT, 'node_modules')), path.join(clone, 'node_modules'));
  await ok('npm run prepare');
});

describe("the README's quick start, on a clean copy", () => {
  it('is `npm ci` then `npm start`', () => {
    const [line, ...rest] = commandsUnder('Quick start');
    expect(rest).toEqual([]);
    expect(line!.split(/\s*&&\s*/)).toEqual(['ONNXRUNTIME_NODE_INSTALL=skip npm ci', 'npm start']);
    expect(existsSync(path.join(clone, 'dist', 'cli.js'))).toBe(true); // built by prepare (beforeAll)
  });

  it('has exactly two command lines, and the second, the test line, is the one CI runs (.ci/run)', () => {
    expect(docShBlocks('Quick start').map((b) => b.trim().split('\n').length)).toEqual([1, 1]);
    const [testLine] = commandsUnder('Quick start', 1);
    const ci = readFileSync(path.join(clone, '.ci', 'run'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'));
    expect(ci.at(-1)).toBe(testLine);
  });

  it('`npm ci` has no install script to warn about: allowScripts (npm 11.16+) covers each one', () => {
    // The lockfile records which packages have install scripts (hasInstallScript), which is what
    // npm ci reviews; registry packages' `prepare` never runs. Each one needs an approval or a denial.
    const lock = JSON.parse(readFileSync(path.join(clone, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string; hasInstallScript?: boolean }>;
    };
    const policy =
      (JSON.parse(readFileSync(path.join(clone, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> }).allowScripts ?? {};
    const withScripts = Object.entries(lock.packages)
      .filter(([where, p]) => where && p.hasInstallScript)
      .map(([where, p]) => ({ name: where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length), version: p.version }));
    expect(withScripts.length).toBeGreaterThan(0);
    const uncovered = withScripts.filter(({ name, version }) => !(name in policy) && !(`${name}@${version}` in policy));
    expect(uncovered).toEqual([]);
    // None of them is needed (README: Install scripts): every entry is a denial.
    expect(Object.entries(policy).filter(([, allowed]) => allowed !== false)).toEqual([]);
  });

  it('`npm start` serves the demo and the shipped models (PORT picks the port)', async () => {
    const port = await freePort();
    await withServer('npm start', { PORT: String(port) }, async (url) => {
      expect(url).toBe(`http://127.0.0.1:${port}`);
      expect(await (await fetch(`${url}/`)).text()).toContain('<title>');
      const { models } = (await (await fetch(`${url}/v1/models`)).json()) as { models: { name: string }[] };
      expect(models.map((m) => `${m.name}.onnx`).sort()).toEqual(Object.keys(shippedModels).sort());
    });
  });
});

describe("the README's pipeline, on a clean copy", () => {
  const [train, exp, serve] = commandsUnder('Pipeline').map(parse);
  const [evaluate] = commandsUnder('Pipeline', 1).map(parse);
  const npx = { npm_config_cache: npmCache, npm_config_offline: 'true', npm_config_ignore_scripts: 'true' };

  it('trains into runs/, exports into a folder of your own, evaluates and serves it: never into models/', () => {
    expect([train, exp, serve, evaluate].map((c) => c?.sub)).toEqual(['train', 'export', 'serve', 'eval']);
    const runDir = train!.flag('--out')!;
    const model = exp!.flag('--out')!;
    expect(runDir).toMatch(/^runs\//);
    expect(exp!.args[0]).toBe(runDir);
    expect(model).toMatch(/\.onnx$/);
    expect(path.dirname(model)).not.toBe('models');
    expect(evaluate!.args[0]).toBe(model);
    expect(serve!.flag('--models')).toBe(path.dirname(model));
    // Both folders are ignored by git: a user's experiments never show up as untracked files.
    const ignored = spawnSync('git', ['check-ignore', '--no-index', `${runDir}/metrics.jsonl`, model], { cwd: ROOT, encoding: 'utf8' });
    expect(ignored.stdout.trim().split('\n')).toEqual([`${runDir}/metrics.jsonl`, model]);
  });

  it("embeds with the snippet the browser tests run (docs/web-demo.md's cross-origin block)", () => {
    expect(docBlocks('Pipeline', 'html')).toEqual([docTaggedBlock('cross-origin')]);
  });

  it('runs end to end on a tiny run, and writes only to runs/ and the user folder', async () => {
    /** The README's command with some option values replaced or added (a tiny run, few samples). */
    const tiny = (c: NonNullable<typeof train>, values: Record<string, string> = {}, switches: string[] = []): string => {
      const args = [...c.args];
      for (const [flag, value] of Object.entries(values)) {
        const i = args.indexOf(flag);
        if (i >= 0) args[i + 1] = value;
        else args.push(flag, value);
      }
      return ['npx', 'onnxgan', c.sub, ...args, ...switches.filter((s) => !args.includes(s))].join(' ');
    };
    await ok(tiny(train!, { '--epochs': '1', '--limit': '200', '--batch': '100' }), npx);
    const runDir = path.join(clone, train!.flag('--out')!);
    expect(existsSync(path.join(runDir, 'checkpoint.json'))).toBe(true);
    expect(existsSync(path.join(runDir, 'samples.png'))).toBe(true);

    const exported = await ok(tiny(exp!), npx);
    const model = exp!.flag('--out')!;
    expect(exported).toContain(`wrote ${model}`);

    const scored = await ok(tiny(evaluate!, { '--n': '200' }, ['--no-ceiling']), npx);
    expect(scored).toMatch(/FID/i);

    const name = path.basename(model, '.onnx');
    const port = await freePort();
    await withServer(tiny(serve!), { ...npx, PORT: String(port) }, async (url) => {
      const listed = (await (await fetch(`${url}/v1/models`)).json()) as { models: { name: string; conditional: boolean }[] };
      expect(listed.models.map((m) => m.name)).toEqual([name]);
      const res = await fetch(`${url}/v1/models/${name}/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ seed: 42, format: 'png', ...(listed.models[0]!.conditional ? { label: 7 } : {}) }),
      });
      expect(res.status).toBe(200);
      const png = PNG.sync.read(Buffer.from(await res.arrayBuffer()));
      expect([png.width, png.height]).toEqual([28, 28]);
      expect((await fetch(`${url}/models/${name}.onnx`)).status).toBe(200);
    });

    // What the pipeline wrote: the run and the model, besides the build's output; models/ untouched.
    const created = listFiles(clone).filter(
      (f) => !before.has(f) && !['dist/', 'web-demo/dist/', 'packages/element/dist/'].some((d) => f.startsWith(d)),
    );
    const userDirs = [train!.flag('--out')!, path.dirname(model)];
    expect(created.filter((f) => !userDirs.some((d) => f.startsWith(`${d}/`)))).toEqual([]);
    expect(created).toContain(model);
    expect(onnxDigests(path.join(clone, 'models'))).toEqual(shippedModels);
  }, 900_000);
});
