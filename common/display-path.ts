// A file path as a user would type it: relative when it is under the working directory, `~/...`
// under the home directory, else absolute (never a `../../..` climb out of the working directory).
import { homedir } from 'node:os';
import path from 'node:path';

export function displayPath(file: string, cwd = process.cwd(), home = homedir()): string {
  const abs = path.resolve(cwd, file);
  const rel = path.relative(cwd, abs);
  if (rel === '') return abs;
  if (!rel.startsWith('..') && !path.isAbsolute(rel)) return rel;
  const fromHome = path.relative(home, abs);
  if (home && fromHome !== '' && !fromHome.startsWith('..') && !path.isAbsolute(fromHome)) return `~${path.sep}${fromHome}`;
  return abs;
}
