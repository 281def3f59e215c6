import { Readable } from 'node:stream';
import mysql from 'mysql2/promise';
import { parseOptions } from '../../src/config/parse-options.js';
import { batchConnectionOptions, dbConfigFrom } from '../../src/db/db-config.js';
import { LoadRowsEncoder } from '../../src/db/load-rows-encoder.js';
import { migrate } from '../../src/db/migrate.js';
import { LOAD_TX_SQL, RollupAccumulator, sourceLiterals } from '../../src/db/ring-rows.js';
import { STATUS } from '../../src/shared/catalog.js';
import { idHigh, idLow, TX_ID_EPOCH_MS } from '../../src/shared/tx-id.js';
import { TxRing } from '../../src/shared/tx-ring.js';
import { TransactionFactory } from '../../workers/shard/transaction-factory.js';
import { benchArgs } from '../lib/cli-args.js';
import { dbServerPid, procCpuSeconds, threadCpuSeconds } from '../lib/db-proc.js';
import { round } from '../lib/stats.js';

/**
 * What the order of a batch's rows costs the database (profiles/README.md, "Persisted
 * pipeline vs the LOAD DATA ceiling"). The ceiling's LOAD DATA, 2 connections × 5,000 rows of
 * the simulator's shape, with the ids made three ways:
 *
 *   consecutive   id time = now for every row (the ceiling's consecutive ids; what the
 *                 writers send now that shards mint ids at completion)
 *   completion    id time = now − processing time (creation-time ids, as shards minted them
 *                 before), rows in ring (completion) order: ids scattered over the last
 *                 ~2 s of the key
 *   sorted        the same ids, each batch sent in id order
 *
 * and `--rollups` adds the batch's rollup upserts to its transaction. The figure is the CPU of
 * the two server threads serving these connections (/proc/<mariadbd>/task/<tid>, tid from
 * information_schema.PROCESSLIST), per row: unlike the whole server's, other clients of a
 * shared server do not show in it.
 *
 *   node dist/bench/db/load-order.js [--seconds 6] [--rollups]   (prints JSON lines)
 */

const BATCH = 5000;
const CONNECTIONS = 2;
type Order = 'consecutive' | 'completion' | 'sorted';

async function run(order: Order, seconds: number, rollups: boolean): Promise<object> {
  const database = `pb_bench_order_${Date.now()}`;
  const { options } = parseOptions([], {}, { mysqlDatabase: database, simTps: '0' });
  const db = dbConfigFrom(options);
  if (!['127.0.0.1', 'localhost', '::1'].includes(db.host))
    throw new Error(`bench targets loopback only (got ${db.host})`);
  await migrate(db);
  const names = options.sources;
  const text = sourceLiterals(names, 'load');
  const factory = new TransactionFactory({
    worker: 0,
    shardIndex: 0,
    shardCount: 1,
    accounts: options.accounts,
    sourceNames: names,
    procMinMs: options.procMinMs,
    procMedianMs: options.procMedianMs,
    procMaxMs: options.procMaxMs,
    fraudAmountThreshold: options.fraudAmountThreshold,
    fraudVelocityMax: options.fraudVelocityMax,
  });
  factory.setParams(options.failureRate, options.unusualPairRate, -1);
  const capacity = 8192;
  const rings = Array.from({ length: CONNECTIONS }, () => TxRing.create(capacity));
  const encoders = Array.from({ length: CONNECTIONS }, () => new LoadRowsEncoder());
  const conns = await Promise.all(
    Array.from({ length: CONNECTIONS }, () => mysql.createConnection(batchConnectionOptions(db))),
  );
  const tids: number[] = [];
  for (const c of conns) {
    const [r] = await c.query(
      'SELECT TID AS tid FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()',
    );
    tids.push(Number((r as { tid: number }[])[0]!.tid));
  }
  const pid = await dbServerPid(conns[0]!);
  if (pid === null) throw new Error('the database server is not a readable local process');
  const threads = () => tids.reduce((s, t) => s + threadCpuSeconds(pid, t)!, 0);
  let rows = 0;
  let batches = 0;
  let upserts = 0;
  let stop = false;
  const c0 = threads();
  const s0 = procCpuSeconds(pid)!;
  const t0 = performance.now();
  const timer = setTimeout(() => {
    stop = true;
  }, seconds * 1000);
  await Promise.all(
    conns.map(async (conn, k) => {
      const f = rings[k]!.f;
      while (!stop) {
        const now = Date.now();
        for (let i = 0; i < BATCH; i++) {
          factory.create(f, i, now);
          f.status[i] = f.failureReason[i]! > 0 ? STATUS.failed : STATUS.completed;
          f.completedAt[i] = now + f.processingMs[i]!;
          const ms = now - TX_ID_EPOCH_MS - (order === 'consecutive' ? 0 : f.processingMs[i]!);
          // A distinct (worker, sequence) per row of this batch: ids never collide.
          const worker = ((batches * CONNECTIONS + k) * 2 + (i >> 12)) % 1024;
          f.idHi[i] = idHigh(ms);
          f.idLo[i] = idLow(ms, worker, i & 4095);
        }
        batches++;
        const rollup = new RollupAccumulator();
        const { payload } = encoders[k]!.encode(
          f,
          capacity - 1,
          0,
          BATCH,
          text,
          rollup,
          undefined,
          undefined,
          order === 'sorted',
        );
        upserts += rollup.cells.size + rollup.latency.size;
        const tail = rollups ? rollup.sql(k, names) : '';
        await conn.query({
          sql: `START TRANSACTION;${LOAD_TX_SQL};${tail}COMMIT`,
          infileStreamFactory: () => Readable.from([payload]),
        });
        rows += BATCH;
      }
    }),
  );
  clearTimeout(timer);
  const elapsed = (performance.now() - t0) / 1000;
  const conn = threads() - c0;
  const server = procCpuSeconds(pid)! - s0;
  await conns[0]!.query(`DROP DATABASE \`${database}\``);
  await Promise.all(conns.map((c) => c.end()));
  return {
    benchmark: 'load-order',
    order,
    rollups,
    rowsPerSec: Math.round(rows / elapsed),
    connectionThreadsUsPerRow: round((conn * 1e6) / rows, 2),
    serverUsPerRow: round((server * 1e6) / rows, 2),
    upsertRowsPerBatch: round(upserts / batches, 1),
  };
}

const { seconds, rollups } = benchArgs({
  command: 'node dist/bench/db/load-order.js',
  about:
    "What the order of a batch's rows costs the database: LOAD DATA with ids consecutive, in completion order, or sorted; the CPU of the server threads serving it. Prints JSON lines.",
  flags: {
    seconds: { type: 'number', default: '6', help: 'seconds per order' },
    rollups: { type: 'boolean', help: 'also upsert the rollup cells' },
  },
});
for (const order of ['consecutive', 'completion', 'sorted'] as const)
  process.stdout.write(`${JSON.stringify(await run(order, seconds, rollups))}\n`);
