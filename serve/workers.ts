// --workers N|auto, apart from serve/cluster-primary.ts so the CLI's --help stays light.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { InvalidArgumentError } from 'commander';

/**
 * CPUs this process may use: the affinity mask (availableParallelism) capped by a cgroup v2 CPU
 * quota (containers: Kubernetes CPU limits), so `auto` does not fork more workers than cores.
 */
export function availableCores(cpuMax = '/sys/fs/cgroup/cpu.max'): number {
  let cores = os.availableParallelism();
  try {
    const [quota, period] = readFileSync(cpuMax, 'utf8').trim().split(/\s+/);
    if (quota !== 'max' && Number(quota) > 0 && Number(period) > 0)
      cores = Math.min(cores, Math.max(1, Math.ceil(Number(quota) / Number(period))));
  } catch {
    // no cgroup v2 quota here
  }
  return cores;
}

/** --workers N|auto (commander argument parser: a bad value is a usage error). */
export function parseWorkers(v: string): number {
  if (v === 'auto') return availableCores();
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 256)
    throw new InvalidArgumentError(`expected a worker count 1..256 or "auto", got "${v}"`);
  return Number(v);
}
