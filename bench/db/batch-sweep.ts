import { availableParallelism } from 'node:os';
import { benchArgs } from '../lib/cli-args.js';
import { runPersisted } from '../pipeline/persisted-run.js';

/**
 * `npm run bench:db-sweep`: committed rows/s of the full persisted pipeline by writer batch
 * size (default 100, 1000, 5000), each run on a fresh database, lossless-checked.
 *
 *   npm run bench:db-sweep -- [--seconds 15] [--sizes 100,1000,5000] [server options…]
 */

const flags = benchArgs({
  command: 'node dist/bench/db/batch-sweep.js',
  about:
    'The full persisted pipeline at max, one fresh database per writer batch size: committed rows/s and the lossless check per size. Prints JSON.',
  flags: {
    seconds: { type: 'number', default: '15', help: 'measured seconds per size' },
    sizes: { type: 'numbers', default: '100,1000,5000', help: 'writer batch sizes, a run each' },
  },
  serverOptions: true,
});
const args = flags.serverArgs;
const { seconds, sizes } = flags;

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
