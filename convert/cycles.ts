// Finding a cycle in a dependency graph without recursion (model graphs can be thousands deep).

/** The first cycle met, as the names along it (first = last), or null when there is none. */
export function findCycle(names: Iterable<string>, deps: (name: string) => string[]): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  for (const start of names) {
    if (state.has(start)) continue;
    const stack: { name: string; deps: string[]; next: number }[] = [{ name: start, deps: deps(start), next: 0 }];
    state.set(start, 'open');
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (top.next === top.deps.length) {
        state.set(top.name, 'done');
        stack.pop();
        continue;
      }
      const dep = top.deps[top.next++]!;
      const s = state.get(dep);
      if (s === 'done') continue;
      if (s === 'open') {
        const from = stack.findIndex((f) => f.name === dep);
        return [...stack.slice(from).map((f) => f.name), dep];
      }
      state.set(dep, 'open');
      stack.push({ name: dep, deps: deps(dep), next: 0 });
    }
  }
  return null;
}

/** "a -> b -> a", shortened in the middle for long cycles. */
export const cycleText = (cycle: string[]): string =>
  (cycle.length > 8 ? [...cycle.slice(0, 4), `... (${cycle.length - 7} more)`, ...cycle.slice(-3)] : cycle)
    .map((n) => JSON.stringify(n))
    .join(' -> ');
