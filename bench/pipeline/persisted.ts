import { availableParallelism } from 'node:os';
import { runPersisted } from './persisted-run.js';

/**
 * `npm run bench:persisted`: sustained persisted tx/s with the simulator at max, then the
 * zero-loss / zero-duplicate check (see persisted-run.ts). Stops by itself.
 *
 *   npm run bench:persisted -- [--seconds 60] [--warmup 5] [--json] [--db-batch-size N] [--db-writers N] …
 */

function takeFlag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i === -1) return fallback;
  const v = Number(args[i + 1]);
  args.splice(i, 2);
  return v;
}

const args = process.argv.slice(2);
const json = args.includes('--json');
if (json) args.splice(args.indexOf('--json'), 1);
const seconds = takeFlag(args, '--seconds', 60);
const warmup = takeFlag(args, '--warmup', 5);
const result = await runPersisted(args, seconds, warmup, (m) => process.stderr.write(`${m}\n`));
const out = { ...result, node: process.version, cpus: availableParallelism() };
process.stdout.write(json ? `${JSON.stringify(out)}\n` : `${JSON.stringify(out, null, 2)}\n`);
process.exit(result.lossless ? 0 : 1);
