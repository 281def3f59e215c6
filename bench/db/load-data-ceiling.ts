import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { parseOptions } from '../../src/config/parse-options.js';
import { batchConnectionOptions, dbConfigFrom } from '../../src/db/db-config.js';
import { migrate } from '../../src/db/migrate.js';
import {
  encodeRingRows,
  idText,
  LOAD_TX_SQL,
  RollupAccumulator,
  sourceLiterals,
} from '../../src/db/ring-rows.js';
import { STATUS } from '../../src/shared/catalog.js';
import { idHigh, idLow, TX_ID_EPOCH_MS } from '../../src/shared/tx-id.js';
import { TxRing } from '../../src/shared/tx-ring.js';
import { TransactionFactory } from '../../workers/shard/transaction-factory.js';
import { benchArgs } from '../lib/cli-args.js';
import {
  databaseThreadsCpu,
  dbServerPid,
  procCpuSeconds,
  threadsCpuBetween,
} from '../lib/db-proc.js';
import { round } from '../lib/stats.js';
import { machineBusyCores, sampleMachine } from '../ws-swarm/proc-stats.js';

/**
 * The database's own ceiling for the persisted pipeline (issue 14 §2): a bare
 * `LOAD DATA LOCAL INFILE` of the same rows into the same table, without rollups,
 * `--batch` (5,000) rows per transaction on `--connections` (2) connections, for
 * `--seconds`. Same rows: the simulator's TransactionFactory fills ring records, and the
 * writers' own encoder (encodeRingRows) and statement (LOAD_TX_SQL) turn them into the
 * text sent (one batch encoded once, sent with fresh ids); same table: a fresh database
 * migrated with the real schema (migrate.ts).
 * Only the rollup upserts and the pipeline are left out. The persisted bench divides its
 * rate by this one, measured in the same run.
 *
 *   node dist/bench/db/load-data-ceiling.js [--seconds 15] [--connections 2] [--batch 5000]
 * Prints JSON. Loopback only; the database `pb_bench_ceiling_<time>` is dropped afterwards.
 */

/** Any worker id: the database is fresh and nothing else writes to it. */
const CEILING_WORKER = 0;

export interface CeilingResult {
  benchmark: 'load-data-ceiling';
  connections: number;
  batchRows: number;
  seconds: number;
  rows: number;
  rowsPerSec: number;
  rowsInDb: number;
  /**
   * CPU per row, µs: the database server, the server threads of this run's connections
   * (db-proc.ts databaseThreadsCpu: other clients of a shared server left out), and this
   * process (generating and encoding).
   */
  cpuUsPerRow: { db: number | null; dbThreads: number | null; client: number };
  machineBusyCores: number;
}

export interface CeilingOptions {
  seconds: number;
  connections?: number;
  batchRows?: number;
  /** Server options (e.g. --mysql-url), as the persisted bench takes them. */
  args?: string[];
  log?: (m: string) => void;
}

export async function runCeiling(o: CeilingOptions): Promise<CeilingResult> {
  const connections = o.connections ?? 2;
  const batchRows = o.batchRows ?? 5000;
  const log = o.log ?? (() => {});
  const database = `pb_bench_ceiling_${Date.now()}`;
  const { options } = parseOptions(o.args ?? [], {}, { mysqlDatabase: database, simTps: '0' });
  const db = dbConfigFrom(options);
  if (!['127.0.0.1', 'localhost', '::1'].includes(db.host))
    throw new Error(`bench targets loopback only (got ${db.host})`);
  await migrate(db);

  const sourceText = sourceLiterals(options.sources, 'load');
  const factory = new TransactionFactory({
    worker: 0,
    shardIndex: 0,
    shardCount: 1,
    accounts: options.accounts,
    sourceNames: options.sources,
    procMinMs: options.procMinMs,
    procMedianMs: options.procMedianMs,
    procMaxMs: options.procMaxMs,
    fraudAmountThreshold: options.fraudAmountThreshold,
    fraudVelocityMax: options.fraudVelocityMax,
  });
  factory.setParams(options.failureRate, options.unusualPairRate, -1);
  // One batch of the simulator's records, encoded once by the writers' encoder. Every
  // batch sent is that text with fresh ids (the first field of each line): the database
  // does the same work per row, and this process, which shares the cores with it, spends
  // a fraction of a µs per row instead of the encoder's several.
  const capacity = 2 ** Math.ceil(Math.log2(batchRows));
  const ring = TxRing.create(capacity);
  const nowMs = Date.now();
  for (let i = 0; i < batchRows; i++) {
    factory.create(ring.f, i, nowMs);
    // Placeholder ids of this era's width (batchText rewrites them).
    ring.f.idHi[i] = idHigh(nowMs - TX_ID_EPOCH_MS);
    ring.f.idLo[i] = idLow(nowMs - TX_ID_EPOCH_MS, CEILING_WORKER, i & 4095);
    ring.f.status[i] = ring.f.failureReason[i]! > 0 ? STATUS.failed : STATUS.completed;
    ring.f.completedAt[i] = nowMs + ring.f.processingMs[i]!;
  }
  // The encoder also computes rollup cells; they are never sent.
  const { text } = encodeRingRows(
    ring.f,
    capacity - 1,
    0,
    batchRows,
    'load',
    sourceText,
    new RollupAccumulator(),
  );
  // Every id of this era has the same number of digits: each batch is the template with
  // the ids rewritten in place, consecutive from the current time's first id (unique and
  // increasing, in today's partition, as the writers' ids are).
  const template = Buffer.from(text, 'latin1');
  const idWidth = text.indexOf('\t');
  const lineStarts: number[] = [];
  for (let at = 0; at < template.length; at = template.indexOf(10, at) + 1) {
    if (template.indexOf(9, at) - at !== idWidth) throw new Error('ids of unequal width');
    lineStarts.push(at);
  }
  const buffers = Array.from({ length: connections }, () => Buffer.from(template));
  let nextId = 0n;
  const digits = Buffer.alloc(idWidth);
  const batchText = (k: number): Buffer => {
    const buf = buffers[k]!;
    const ms = Date.now() - TX_ID_EPOCH_MS;
    const timeId = BigInt(idText(idHigh(ms), idLow(ms, CEILING_WORKER, 0)));
    if (timeId > nextId) nextId = timeId;
    digits.write(nextId.toString(), 'latin1');
    nextId += BigInt(lineStarts.length);
    for (const at of lineStarts) {
      digits.copy(buf, at);
      // +1 in decimal, in place
      for (let d = idWidth - 1; d >= 0; d--) {
        if (digits[d]! < 57) {
          digits[d]!++;
          break;
        }
        digits[d] = 48;
      }
    }
    return buf;
  };

  const conns = await Promise.all(
    Array.from({ length: connections }, () => mysql.createConnection(batchConnectionOptions(db))),
  );
  const pid = await dbServerPid(conns[0]!);
  let rows = 0;
  let stop = false;
  const threads0 = pid === null ? null : await databaseThreadsCpu(conns[0]!, pid, database);
  const cpu0 = process.cpuUsage();
  const db0 = procCpuSeconds(pid);
  const m0 = sampleMachine();
  const t0 = performance.now();
  const timer = setTimeout(() => {
    stop = true;
  }, o.seconds * 1000);
  const progressTimer = setInterval(
    () => log(`  ceiling: ${Math.round(rows / ((performance.now() - t0) / 1000))} rows/s`),
    5000,
  );
  await Promise.all(
    conns.map(async (conn, k) => {
      while (!stop) {
        const payload = batchText(k);
        await conn.query({
          sql: `START TRANSACTION;${LOAD_TX_SQL};COMMIT`,
          infileStreamFactory: () => Readable.from([payload]),
        });
        rows += batchRows;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  clearTimeout(timer);
  clearInterval(progressTimer);
  const cpu = process.cpuUsage(cpu0);
  const db1 = procCpuSeconds(pid);
  const m1 = sampleMachine();
  const threads1 = pid === null ? null : await databaseThreadsCpu(conns[0]!, pid, database);
  const [res] = await conns[0]!.query('SELECT COUNT(*) AS n FROM transactions');
  const rowsInDb = Number((res as { n: number }[])[0]!.n);
  await conns[0]!.query(`DROP DATABASE \`${database}\``);
  await Promise.all(conns.map((c) => c.end()));
  return {
    benchmark: 'load-data-ceiling',
    connections,
    batchRows,
    seconds: round(elapsed, 1),
    rows,
    rowsPerSec: Math.round(rows / elapsed),
    rowsInDb,
    cpuUsPerRow: {
      db: db0 === null || db1 === null ? null : round(((db1 - db0) * 1e6) / Math.max(1, rows), 2),
      dbThreads:
        threads0 === null || threads1 === null
          ? null
          : round((threadsCpuBetween(threads0, threads1) * 1e6) / Math.max(1, rows), 2),
      client: round((cpu.user + cpu.system) / Math.max(1, rows), 2),
    },
    machineBusyCores: round(machineBusyCores(m0, m1), 3),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { seconds, connections, batch, serverArgs } = benchArgs({
    command: 'node dist/bench/db/load-data-ceiling.js',
    about:
      "The database's ceiling for the simulator's rows: bare LOAD DATA into the same table, no rollups. Prints JSON.",
    flags: {
      seconds: { type: 'number', default: '15', help: 'measured seconds' },
      connections: { type: 'number', default: '2', help: 'connections loading at once' },
      batch: { type: 'number', default: '5000', help: 'rows per LOAD DATA' },
    },
    serverOptions: true,
  });
  const r = await runCeiling({
    seconds,
    connections,
    batchRows: batch,
    args: serverArgs,
    log: (m) => process.stderr.write(`${m}\n`),
  });
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
}
