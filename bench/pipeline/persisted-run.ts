import mysql from 'mysql2/promise';
import { parseOptions } from '../../src/config/parse-options.js';
import { createLogger } from '../../src/log/logger.js';
import { Persistence } from '../../src/persistence/persistence.js';
import { ShardPool } from '../../src/pipeline/shard-pool.js';
import {
  G_COMPLETED,
  G_PENDING,
  G_PROCESSING,
  G_THROTTLED,
} from '../../src/shared/metric-buckets.js';
import { SourceRegistry } from '../../src/shared/source-registry.js';
import {
  databaseThreadsCpu,
  dbServerPid,
  procCpuSeconds,
  threadsCpuBetween,
} from '../lib/db-proc.js';
import { machineBusyCores, sampleMachine } from '../ws-swarm/proc-stats.js';

/**
 * One persisted pipeline run: shards at max → rings → writer threads → MySQL, in this
 * process (no HTTP). Measures committed rows/s over the span, then stops the simulator,
 * lets in-flight transactions complete, drains, and checks rows in MySQL == completed with
 * no duplicates. Uses a fresh database `pb_bench_<time>` on loopback, dropped afterwards.
 */

export interface PersistedResult {
  benchmark: 'pipeline-persisted';
  shards: number;
  writers: number;
  connections: number;
  batchSize: number;
  seconds: number;
  committedPerSec: number;
  completedPerSec: number;
  completed: number;
  rowsInDb: number;
  distinctIds: number;
  lossless: boolean;
  throttled: number;
  /**
   * CPU cost per committed row over the span, µs: this process (all threads) and the
   * database server (when it runs on this machine and its pid file is readable). On a
   * shared 2-core box wall-clock rows/s swings with whatever else runs; CPU per row does not,
   * and 2 cores ÷ (sum per row) is the rate the box could sustain with nothing else on it.
   * `serverThreads`: only the server threads of the writers' connections (db-proc.ts
   * databaseThreadsCpu), which other clients of a shared server do not show in.
   */
  cpuUsPerRow: { process: number; server: number | null; serverThreads: number | null };
  /** 2 × 10^6 / (process + server µs per row): rows/s with both cores to ourselves. */
  twoCoreCeiling: number | null;
  /** Busy cores of the whole machine over the span (all processes, /proc/stat). */
  machineBusyCores: number;
}

export async function runPersisted(
  args: string[],
  seconds: number,
  warmup: number,
  log: (m: string) => void,
): Promise<PersistedResult> {
  const database = `pb_bench_${Date.now()}`;
  const { options } = parseOptions(
    args,
    {},
    {
      simTps: '0',
      logLevel: 'warn',
      logPretty: 'false',
      mysqlDatabase: database,
      persistence: 'required',
    },
  );
  const logger = createLogger(options);
  const persistence = await Persistence.open(
    options,
    logger,
    SourceRegistry.create(options.sourcesMax, options.sources),
  );
  const db = persistence.db!;
  if (!['127.0.0.1', 'localhost', '::1'].includes(db.host))
    throw new Error(`bench targets loopback only (got ${db.host})`);
  const pool = new ShardPool(options);
  await pool.start(persistence.beforeShard);
  persistence.start();
  const sum = (g: number) => pool.shards.reduce((n, s) => n + s.metrics.gauges[g]!, 0);
  const probe = await mysql.createConnection({
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
  });
  const pid = await dbServerPid(probe);
  const rows = () => persistence.writers!.status().rowsTotal;
  pool.setParams({ tps: Number.POSITIVE_INFINITY });
  log(
    `persisted bench: ${options.shards} shard(s), ${options.dbWriters} writer(s) × ${options.dbConnections} conn, batch ${options.dbBatchSize}, warm-up ${warmup} s, ${seconds} s`,
  );
  await new Promise((r) => setTimeout(r, warmup * 1000));
  const r0 = rows();
  const c0 = sum(G_COMPLETED);
  // The writers' connections (lanes) stay open over the span: their server threads' CPU.
  const threads0 = pid === null ? null : await databaseThreadsCpu(probe, pid, database);
  const cpu0 = process.cpuUsage();
  const srv0 = procCpuSeconds(pid);
  const m0 = sampleMachine();
  const t0 = performance.now();
  let last = r0;
  for (let i = 1; i <= seconds; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = rows();
    const st = persistence.writers!.status();
    log(
      `  ${String(i).padStart(3)} s  ${Math.round(now - last)
        .toLocaleString('en-US')
        .padStart(10)} rows/s  backlog ${st.backlog}  fill ${st.ringFill.toFixed(2)}`,
    );
    last = now;
  }
  const elapsed = (performance.now() - t0) / 1000;
  const committed = rows() - r0;
  const completedSpan = sum(G_COMPLETED) - c0;
  const cpu = process.cpuUsage(cpu0);
  const srv1 = procCpuSeconds(pid);
  const m1 = sampleMachine();
  const threads1 = pid === null ? null : await databaseThreadsCpu(probe, pid, database);
  await probe.end();
  const threadsUs =
    threads0 === null || threads1 === null
      ? null
      : Math.round(((threadsCpuBetween(threads0, threads1) * 1e6) / Math.max(1, committed)) * 100) /
        100;
  const procUs = Math.round(((cpu.user + cpu.system) / Math.max(1, committed)) * 100) / 100;
  const srvUs =
    srv0 === null || srv1 === null
      ? null
      : Math.round((((srv1 - srv0) * 1e6) / Math.max(1, committed)) * 100) / 100;
  // Stop generating; let in-flight transactions finish, then stop shards and drain.
  pool.setParams({ tps: 0 });
  while (sum(G_PENDING) + sum(G_PROCESSING) > 0) await new Promise((r) => setTimeout(r, 100));
  await pool.stop();
  const completed = sum(G_COMPLETED);
  await persistence.close(120_000);
  const conn = await mysql.createConnection({
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
    database,
  });
  const [res] = await conn.query('SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM transactions');
  const { n, d } = (res as { n: number; d: number }[])[0]!;
  if (!args.includes('--keep')) await conn.query(`DROP DATABASE \`${database}\``);
  await conn.end();
  return {
    benchmark: 'pipeline-persisted',
    shards: options.shards,
    writers: options.dbWriters,
    connections: options.dbConnections,
    batchSize: options.dbBatchSize,
    seconds: Math.round(elapsed * 10) / 10,
    committedPerSec: Math.round(committed / elapsed),
    completedPerSec: Math.round(completedSpan / elapsed),
    completed,
    rowsInDb: Number(n),
    distinctIds: Number(d),
    lossless: Number(n) === completed && Number(d) === Number(n),
    throttled: sum(G_THROTTLED),
    cpuUsPerRow: { process: procUs, server: srvUs, serverThreads: threadsUs },
    twoCoreCeiling: srvUs === null ? null : Math.round(2e6 / (procUs + srvUs)),
    machineBusyCores: Math.round(machineBusyCores(m0, m1) * 1000) / 1000,
  };
}
