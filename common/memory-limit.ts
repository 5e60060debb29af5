// How much memory this process may use, for refusing up front what cannot fit (Node-only).
import { totalmem } from 'node:os';
import { constrainedMemory } from 'node:process';

/** The machine's memory, or its cgroup's limit when lower. */
export function memoryLimit(): number {
  const c = constrainedMemory?.() ?? 0;
  return c > 0 && c < totalmem() ? c : totalmem();
}

/** The largest typed array V8 makes (elements). */
export const MAX_TYPED_ARRAY = 2 ** 32;

/** "1.2 GB" or "340 MB". */
export const bytesText = (n: number): string => (n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : `${Math.ceil(n / 1e6)} MB`);
