// What a newcomer meets when starting the server: `npm start` (the real npm script) with PORT and
// HOST, a port already taken, and the readable startup line on a terminal (a real pseudo-terminal
// from util-linux's `script`) versus JSON logs elsewhere. Needs `npm run build` first.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, ROOT } from './helpers/cli.js';

const SHIPPED = readdirSync(path.join(ROOT, 'models'))
  .filter((f) => f.endsWith('.onnx'))
  .map((f) => f.slice(0, -'.onnx'.length))
  .sort();

interface Proc {
  child: ChildProcess;
  /** stdout and stderr so far, as plain text. */
  output: () => { stdout: string; stderr: string };
  exited: Promise<number | null>;
  /** Resolves with the first match of `re` in stdout; rejects if the process exits first. */
  waitFor: (re: RegExp) => Promise<RegExpExecArray>;
}

const running: Proc[] = [];

/** Terminal output as text: no carriage returns, no escape sequences, no npm progress spinner. */
const plain = (d: string): string =>
  d
    .replace(/\r/g, '')
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    .replace(/[\u2800-\u28ff]/g, '');

/** Starts a command in its own process group (npm and `script` start children of their own). */
function start(command: string, args: string[], env: Record<string, string | undefined> = {}): Proc {
  const merged: NodeJS.ProcessEnv = { ...process.env };
  delete merged.PORT;
  delete merged.HOST;
  for (const [k, v] of Object.entries(env)) if (v !== undefined) merged[k] = v;
  const child = spawn(command, args, { cwd: ROOT, env: merged, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  child.stdout!.setEncoding('utf8'); // characters split across chunks stay whole
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    stdout += plain(d);
    waiters.forEach((w) => w());
  });
  child.stderr!.on('data', (d: string) => (stderr += plain(d)));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const proc: Proc = {
    child,
    output: () => ({ stdout, stderr }),
    exited,
    waitFor: (re) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const m = re.exec(stdout);
          if (m) resolve(m);
        };
        waiters.push(check);
        check();
        void exited.then((code) =>
          reject(new Error(`${command} ${args.join(' ')} exited (${code}) before printing ${re}:\n${stdout}\n${stderr}`)),
        );
      }),
  };
  running.push(proc);
  return proc;
}

/** Stops a process group started above (SIGTERM: the server drains and exits 0). */
async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) {
    try {
      process.kill(-p.child.pid!, 'SIGTERM');
    } catch {}
  }
  await p.exited;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map(stop));
});

function listenOn(port: number, host = '127.0.0.1'): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, host, () => resolve(s));
  });
}

async function freePort(): Promise<number> {
  const s = await listenOn(0);
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const LISTENING = /"url":"(http:[^"]+)"[^\n]*"msg":"listening"/;
const STARTUP_LINE = /^onnxgan serve: demo at (http:\S+\/)[^\n]*$/m;

describe('npm start', () => {
  it('with the port taken: one line saying how to pick another, exit 1, no stack trace', async () => {
    const blocker = await listenOn(0);
    const port = (blocker.address() as { port: number }).port;
    try {
      const p = start('npm', ['start'], { PORT: String(port) });
      expect(await p.exited).toBe(1);
      const { stdout, stderr } = p.output();
      const lines = stderr.split('\n').filter((l) => l.trim());
      expect(lines, stderr).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^onnxgan serve: port ${port} on 127\\.0\\.0\\.1 is already in use`));
      expect(lines[0]).toContain(`PORT=${port + 1} npm start`);
      expect(lines[0]).toContain(`--port ${port + 1}`);
      expect(`${stdout}${stderr}`).not.toMatch(/^\s+at /m);
      expect(`${stdout}${stderr}`).not.toContain('EADDRINUSE');
    } finally {
      blocker.close();
    }
  });

  it('PORT=... serves there; a --port flag wins over PORT', async () => {
    const port = await freePort();
    const p = start('npm', ['start'], { PORT: String(port) });
    const [, url] = await p.waitFor(LISTENING);
    expect(url).toBe(`http://127.0.0.1:${port}`);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${url}/`)).text()).toContain('<title>');
    await stop(p);

    const blocker = await listenOn(0);
    try {
      const taken = (blocker.address() as { port: number }).port;
      const other = await freePort();
      const q = start('npm', ['start', '--', '--port', String(other)], { PORT: String(taken) });
      expect((await q.waitFor(LISTENING))[1]).toBe(`http://127.0.0.1:${other}`);
    } finally {
      blocker.close();
    }
  });

  it('HOST=... listens there only; a --host flag wins over HOST', async () => {
    // 127.0.0.0/8 is all loopback on Linux: 127.0.0.2 is this machine, yet another address.
    const p = start('npm', ['start'], { HOST: '127.0.0.2', PORT: '0' });
    const [, url] = await p.waitFor(LISTENING);
    const port = Number(new URL(url!).port);
    expect(url).toBe(`http://127.0.0.2:${port}`);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    await stop(p);

    const q = start('npm', ['start', '--', '--host', '127.0.0.1'], { HOST: '127.0.0.2', PORT: '0' });
    expect((await q.waitFor(LISTENING))[1]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('a bad PORT or HOST is a usage error naming the variable', async () => {
    for (const [env, pattern] of [
      [{ PORT: 'eighty' }, /PORT.*expected an integer in 0\.\.65535/],
      [{ PORT: '' }, /PORT.*empty/],
      [{ PORT: '70000' }, /PORT.*expected an integer in 0\.\.65535/],
      [{ HOST: '' }, /HOST.*empty/],
    ] as const) {
      const p = start(process.execPath, [CLI, 'serve'], env);
      expect(await p.exited, JSON.stringify(env)).toBe(2);
      expect(p.output().stderr, JSON.stringify(env)).toMatch(pattern);
    }
    // An address that is not this machine's: one line that says what to use instead.
    const p = start(process.execPath, [CLI, 'serve'], { HOST: '192.0.2.1', PORT: '0' }); // TEST-NET-1
    expect(await p.exited).toBe(1);
    expect(p.output().stderr.trim()).toMatch(
      /^onnxgan serve: cannot listen on 192\.0\.2\.1: not an address of this machine; use HOST=127\.0\.0\.1 .*$/,
    );
  });
});

describe('startup output', () => {
  /** `npm start` inside a pseudo-terminal: stdout is a TTY for the server, as in a user's shell. */
  const onTerminal = (...flags: string[]): Proc =>
    start('script', ['-qec', ['npm', 'start', '--', '--port', '0', ...flags].join(' '), '/dev/null']);

  it('on a terminal: one readable line with the demo URL and the models, then readable request lines', async () => {
    const p = onTerminal();
    const [line, url] = await p.waitFor(STARTUP_LINE);
    expect(line).toMatch(/^onnxgan serve: demo at http:\/\/127\.0\.0\.1:\d+\/, serving /);
    expect(line).toContain(`serving ${SHIPPED.join(', ')} from models`);
    // Nothing else from the server before it (npm's two-line banner of the script is all).
    const before = p.output().stdout.slice(0, p.output().stdout.indexOf(line));
    expect(before.split('\n').filter((l) => l.trim() && !l.startsWith('>'))).toEqual([]);
    expect(p.output().stdout).not.toMatch(/^\{/m);

    const res = await fetch(`${url}v1/models`);
    expect(res.status).toBe(200);
    await p.waitFor(/^\d\d:\d\d:\d\d GET \/v1\/models 200 \d+ ms$/m);
    expect(p.output().stdout).not.toMatch(/^\{/m);
  });

  it('on a terminal with --log-format json: JSON lines only', async () => {
    const p = onTerminal('--log-format', 'json');
    const [, url] = await p.waitFor(LISTENING);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(p.output().stdout).not.toMatch(STARTUP_LINE);
    for (const l of p
      .output()
      .stdout.split('\n')
      .filter((l) => l.trim() && !l.startsWith('>')))
      expect(() => JSON.parse(l), l).not.toThrow();
  });

  it('piped: JSON lines (a log collector reads them); --log-format pretty gives the readable line', async () => {
    const p = start(process.execPath, [CLI, 'serve', '--port', '0']);
    await p.waitFor(LISTENING);
    const lines = p.output().stdout.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    await stop(p);

    const q = start(process.execPath, [CLI, 'serve', '--port', '0', '--log-format', 'pretty']);
    expect((await q.waitFor(STARTUP_LINE))[0]).toContain(`serving ${SHIPPED.join(', ')}`);
  });
});
