// One error wrapper for every command: users see a one-line message naming what to fix, not a
// stack trace (unless --verbose or DEBUG is set). Exit codes (README: Exit codes):
//   0 done, 1 the command failed (bad input, failed check), 2 usage error (unknown option, bad
//   value), 130 interrupted twice (Ctrl-C).
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

const verbose = (): boolean => process.argv.includes('--verbose') || Boolean(process.env.DEBUG);

/** The message as one line (multi-line messages from libraries are folded). */
export const oneLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ').trim();

/**
 * Wraps a command's action. The action resolves with an exit code to leave with (commands on
 * tfjs-wasm must exit explicitly: it keeps handles open), or with nothing to keep running (serve).
 */
export function action<A extends unknown[]>(command: string, fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    let code: number | void;
    try {
      code = await fn(...args);
    } catch (e) {
      console.error(`onnxgan ${command}: ${oneLine(e)}`);
      if (verbose() && e instanceof Error && e.stack) console.error(e.stack);
      process.exit(EXIT.failed);
    }
    if (typeof code === 'number') process.exit(code);
  };
}
