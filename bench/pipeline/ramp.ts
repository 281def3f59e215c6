import mysql from 'mysql2/promise';
import type { MetricsSnapshot } from '../../src/metrics/snapshot-types.js';
import { benchArgs } from '../lib/cli-args.js';
import { progress, sleep, writeResult } from '../lib/results.js';
import { startServer } from '../lib/server-process.js';
import { cpuShare, sampleProc } from '../ws-swarm/proc-stats.js';

/**
 * `npm run bench:ramp`: the real server with persistence on (its own database, dropped
 * first), driven through 10 → 50 → 100 → 1,000 → 10,000 → max tx/s by the scenario API.
 * Per stage: achieved tx/s, persisted rows/s, server CPU (all threads, in cores) and RSS
 * from /proc, writer lag, and the primary's event-loop delay.
 *
 *   node dist/bench/pipeline/ramp.js [--stage-seconds 10] [--persistence on|off]
 */

const STAGES: (number | 'max')[] = [10, 50, 100, 1_000, 10_000, 'max'];
const DATABASE = 'pulseboard_bench_ramp';

const flags = benchArgs({
  command: 'node dist/bench/pipeline/ramp.js',
  about:
    'The real server with persistence on, driven through 10, 50, 100, 1,000, 10,000 tx/s and max; per stage: achieved tx/s, persisted rows/s, CPU, RSS, writer lag and event-loop delay. Writes bench/results/ramp.json.',
  flags: {
    'stage-seconds': { type: 'number', default: '10', help: 'seconds per stage' },
    persistence: {
      type: 'string',
      default: 'on',
      choices: ['on', 'off'],
      help: 'persist to MySQL (off without a database)',
    },
  },
});

async function dropDatabase(): Promise<boolean> {
  try {
    const c = await mysql.createConnection({
      host: '127.0.0.1',
      port: 3306,
      user: 'root',
      connectTimeout: 2000,
    });
    await c.query(`DROP DATABASE IF EXISTS \`${DATABASE}\``);
    await c.end();
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const stageSeconds = flags['stage-seconds'];
  const wantPersistence = flags.persistence === 'on';
  const persistence = wantPersistence && (await dropDatabase());
  if (wantPersistence && !persistence)
    progress('ramp: no database on 127.0.0.1:3306 — running with persistence off');
  const server = await startServer([
    '--sim-tps',
    '0',
    '--persistence',
    persistence ? 'required' : 'off',
    '--mysql-database',
    DATABASE,
  ]);
  const pid = server.proc.pid!;
  const metrics = async () =>
    (await (await fetch(`${server.url}/api/metrics`)).json()) as MetricsSnapshot;
  const stages = [];
  try {
    for (const tps of STAGES) {
      await fetch(`${server.url}/api/load-test`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tps }),
      });
      await sleep(2500); // let the rate settle and the first completions land
      const p0 = sampleProc(pid);
      const m0 = await metrics();
      let rssMax = p0.rssBytes;
      let lagMax = 0;
      let loopMax = 0;
      for (let s = 0; s < stageSeconds; s++) {
        await sleep(1000);
        const m = await metrics();
        rssMax = Math.max(rssMax, sampleProc(pid).rssBytes);
        lagMax = Math.max(lagMax, m.pipeline.writerLag);
        loopMax = Math.max(loopMax, m.pipeline.eventLoopDelayP99Ms);
      }
      const p1 = sampleProc(pid);
      const m1 = await metrics();
      const secs = (p1.at - p0.at) / 1000;
      const row = {
        targetTps: tps,
        achievedTps: Math.round((m1.pipeline.completed - m0.pipeline.completed) / secs),
        dbRowsPerSec: m1.pipeline.dbRowsPerSec,
        cpuCores: Math.round(cpuShare(p0, p1) * 100) / 100,
        rssMiB: Math.round(rssMax / 2 ** 20),
        writerLagMax: lagMax,
        eventLoopDelayP99MsMax: loopMax,
        shardUtilisation: m1.pipeline.shardUtilisation,
      };
      stages.push(row);
      progress(
        `  ${String(tps).padStart(6)} tx/s target → ${row.achievedTps} tx/s, ${row.cpuCores} cores, ${row.rssMiB} MiB, lag ≤ ${lagMax}`,
      );
    }
  } finally {
    await fetch(`${server.url}/api/load-test/stop`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    }).catch(() => {});
    await server.stop();
  }
  writeResult(
    'ramp',
    `node dist/bench/pipeline/ramp.js --stage-seconds ${stageSeconds}${wantPersistence ? '' : ' --persistence off'}`,
    `simulator stages ${STAGES.join(' → ')} tx/s, ${stageSeconds} s each after 2.5 s settling; persistence ${persistence ? 'on (MariaDB on the same machine)' : 'off'}`,
    { persistence: persistence ? 'on' : 'off', stages },
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
