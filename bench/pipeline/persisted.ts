import { availableParallelism } from 'node:os';
import { type CeilingResult, runCeiling } from '../db/load-data-ceiling.js';
import { benchArgs } from '../lib/cli-args.js';
import { writeResult } from '../lib/results.js';
import { round, spread } from '../lib/stats.js';
import { type PersistedResult, runPersisted } from './persisted-run.js';

/**
 * `npm run bench:persisted`: sustained persisted tx/s with the simulator at max, then the
 * zero-loss / zero-duplicate check (see persisted-run.ts); and, right after each run, the
 * database's own ceiling for the same rows (bench/db/load-data-ceiling.ts: a bare LOAD DATA
 * of the same row shape into the same table, no rollups, 5,000-row batches on 2
 * connections). `--repeats` pairs, interleaved (persisted, ceiling, persisted, …), so the
 * ratio persisted / ceiling is taken from neighbours measured on the same machine state.
 * Writes bench/results/persisted.json (unless --no-write) and prints the JSON. Stops by
 * itself; exit code 1 when a run was not lossless.
 *
 *   npm run bench:persisted -- [--seconds 60] [--warmup 5] [--repeats 2] [--ceiling-seconds 15]
 *        [--ceiling-connections 2] [--ceiling-batch 5000] [--json] [--no-write]
 *        [--db-batch-size N] [--db-writers N] …
 */

const command = `node dist/bench/pipeline/persisted.js ${process.argv.slice(2).join(' ')}`.trim();
const flags = benchArgs({
  command: 'node dist/bench/pipeline/persisted.js',
  about:
    "Sustained persisted tx/s with the simulator at max and the zero-loss / zero-duplicate check, each run followed by the database's own LOAD DATA ceiling for the same rows. Writes bench/results/persisted.json.",
  flags: {
    seconds: { type: 'number', default: '60', help: 'measured seconds per run' },
    warmup: { type: 'number', default: '5', help: 'seconds before measuring' },
    repeats: { type: 'number', default: '2', help: 'persisted + ceiling pairs' },
    'ceiling-seconds': { type: 'number', default: '15', help: 'seconds of each ceiling (0: none)' },
    'ceiling-connections': { type: 'number', default: '2', help: 'connections of the ceiling' },
    'ceiling-batch': { type: 'number', default: '5000', help: 'rows per LOAD DATA of the ceiling' },
    json: { type: 'boolean', help: 'print the result as JSON' },
    'no-write': { type: 'boolean', help: 'do not write bench/results/persisted.json' },
  },
  serverOptions: true,
});
const args = flags.serverArgs;
const { json, seconds, warmup, repeats } = flags;
const noWrite = flags['no-write'];
const ceilingSeconds = flags['ceiling-seconds'];
const ceilingConnections = flags['ceiling-connections'];
const ceilingBatch = flags['ceiling-batch'];
const log = (m: string) => process.stderr.write(`${m}\n`);

const runs: PersistedResult[] = [];
const ceilings: CeilingResult[] = [];
for (let i = 1; i <= repeats; i++) {
  log(`persisted #${i}`);
  runs.push(await runPersisted(args, seconds, warmup, log));
  if (ceilingSeconds > 0) {
    log(`ceiling #${i}: bare LOAD DATA, ${ceilingConnections} × ${ceilingBatch}-row batches`);
    const c = await runCeiling({
      seconds: ceilingSeconds,
      connections: ceilingConnections,
      batchRows: ceilingBatch,
      args,
      log,
    });
    log(`  ${c.rowsPerSec.toLocaleString('en-US')} rows/s`);
    ceilings.push(c);
  }
}
const first = runs[0]!;
const ratios = runs
  .map((r, i) => (ceilings[i] ? r.committedPerSec / ceilings[i].rowsPerSec : Number.NaN))
  .filter((v) => Number.isFinite(v));
const out = {
  benchmark: 'pipeline-persisted',
  repeats,
  shards: first.shards,
  writers: first.writers,
  connections: first.connections,
  batchSize: first.batchSize,
  seconds,
  warmup,
  committedPerSec: spread(
    runs.map((r) => r.committedPerSec),
    0,
  ),
  lossless: runs.every((r) => r.lossless),
  cpuUsPerRow: {
    process: spread(runs.map((r) => r.cpuUsPerRow.process)),
    server: spread(runs.map((r) => r.cpuUsPerRow.server).filter((v): v is number => v !== null)),
    serverThreads: spread(
      runs.map((r) => r.cpuUsPerRow.serverThreads).filter((v): v is number => v !== null),
    ),
  },
  machineBusyCores: spread(runs.map((r) => r.machineBusyCores)),
  ceiling:
    ceilings.length === 0
      ? null
      : {
          seconds: ceilingSeconds,
          connections: ceilingConnections,
          batchRows: ceilingBatch,
          rowsPerSec: spread(
            ceilings.map((c) => c.rowsPerSec),
            0,
          ),
          dbCpuUsPerRow: spread(
            ceilings.map((c) => c.cpuUsPerRow.db).filter((v): v is number => v !== null),
          ),
          dbThreadsCpuUsPerRow: spread(
            ceilings.map((c) => c.cpuUsPerRow.dbThreads).filter((v): v is number => v !== null),
          ),
          clientCpuUsPerRow: spread(ceilings.map((c) => c.cpuUsPerRow.client)),
          machineBusyCores: spread(ceilings.map((c) => c.machineBusyCores)),
          runs: ceilings,
        },
  /** committed tx/s ÷ the ceiling's rows/s, per interleaved pair. */
  ofCeiling: spread(ratios.map((v) => round(v, 3))),
  runs,
  node: process.version,
  cpus: availableParallelism(),
};
if (!noWrite) {
  writeResult(
    'persisted',
    command,
    `simulator at max, persistence on (MariaDB on the same machine): ${first.shards} shard(s), ${first.writers} writer(s) × ${first.connections} connection(s), batches of up to ${first.batchSize} rows; ${seconds} s measured after ${warmup} s warm-up; then rows in MySQL checked against completions (lossless = equal, no duplicate id); ceiling: a bare LOAD DATA LOCAL INFILE of the same rows into the same table (fresh database, real schema, no rollups), ${ceilingBatch}-row batches on ${ceilingConnections} connections, ${ceilingSeconds} s; ${repeats} interleaved pair(s) (persisted, ceiling, …), median with min–max; CPU per row from /proc: this process (every thread), the database server (every thread), and the database server's threads that served this run's connections (information_schema.PROCESSLIST.TID, so other clients of the shared server do not count)`,
    out,
  );
}
process.stdout.write(json ? `${JSON.stringify(out)}\n` : `${JSON.stringify(out, null, 2)}\n`);
process.exit(out.lossless ? 0 : 1);
