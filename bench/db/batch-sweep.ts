import { availableParallelism } from 'node:os';
import { runPersisted } from '../pipeline/persisted-run.js';

/**
 * `npm run bench:db-sweep`: committed rows/s of the full persisted pipeline by writer batch
 * size (default 100, 1000, 5000), each run on a fresh database, lossless-checked.
 *
 *   npm run bench:db-sweep -- [--seconds 15] [--sizes 100,1000,5000] [server options…]
 */

const args = process.argv.slice(2);
let seconds = 15;
let sizes = [100, 1000, 5000];
const si = args.indexOf('--seconds');
if (si !== -1) seconds = Number(args.splice(si, 2)[1]);
const zi = args.indexOf('--sizes');
if (zi !== -1) sizes = args.splice(zi, 2)[1]!.split(',').map(Number);

const results = [];
for (const size of sizes) {
  const r = await runPersisted([...args, '--db-batch-size', String(size)], seconds, 3, (m) =>
    process.stderr.write(`${m}\n`),
  );
  process.stderr.write(
    `batch ${size}: ${r.committedPerSec.toLocaleString('en-US')} rows/s, lossless ${r.lossless}\n`,
  );
  results.push(r);
}
process.stdout.write(
  `${JSON.stringify({ benchmark: 'db-batch-sweep', node: process.version, cpus: availableParallelism(), results }, null, 2)}\n`,
);
process.exit(0);
