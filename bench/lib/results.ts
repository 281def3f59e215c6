import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

/**
 * Every benchmark writes its result as JSON into bench/results/<name>.json together with
 * the machine, the command and the time, so BENCHMARKS.md can be generated from the files
 * (scripts/benchmarks-doc) and every figure traced back to a run.
 */

export const RESULTS_DIR = fileURLToPath(new URL('../../../bench/results/', import.meta.url));

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
}

export function machine(): Machine {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
}

export function writeResult(
  name: string,
  command: string,
  conditions: string,
  result: unknown,
): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = `${RESULTS_DIR}${name}.json`;
  const doc = {
    name,
    command,
    conditions,
    at: new Date().toISOString(),
    machine: machine(),
    result,
  };
  writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`);
  return path;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}
