import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { connect, RetentionPolicy, StorageType } from 'nats';
import type { MetricsSnapshot } from '../../src/metrics/snapshot-types.js';
import { benchArgs } from '../lib/cli-args.js';
import { LOCAL_DB, localDbPid, localPidByName, procCpuSeconds } from '../lib/db-proc.js';
import { progress, RESULTS_DIR, sleep, writeResult } from '../lib/results.js';
import { startServer, type TestServer } from '../lib/server-process.js';
import { round, spread } from '../lib/stats.js';

/**
 * `npm run bench:stream`: committed tx/s from NATS JetStream (the JetStream door,
 * src/ingest/stream/). `--messages` messages of `--items` transactions each are published
 * into a stream of the run's own on the NATS server (NATS_URL host:port, 127.0.0.1:4222 by
 * default) before the server starts; the server then drains the backlog through its durable
 * consumer. Committed tx/s = acknowledged messages × items (a message is acknowledged only
 * after its COMMIT) between 10 % and 90 % of the backlog, from the snapshot sampled every
 * 250 ms, so start-up and the tail are left out. Then the table is read back: rows =
 * distinct (source, ref) = transactions published. Fresh database per run. The simulator's
 * persisted rate (bench/results/persisted.json) is reported alongside.
 *
 *   node dist/bench/ingest/stream-ingest.js [--messages 300000] [--items 1,100] [--repeats 1]
 */

const SOURCES = ['card-pos', 'ach', 'wire', 'mobile', 'atm', 'p2p'];
const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY'];
const SAMPLE_MS = 250;
const DRAIN_TIMEOUT_MS = 10 * 60_000;

const flags = benchArgs({
  command: 'node dist/bench/ingest/stream-ingest.js',
  about:
    'Committed tx/s from NATS JetStream: a backlog of messages is published into a stream of its own, then the server drains it through its durable consumer; the table is read back. Writes bench/results/stream.json.',
  flags: {
    messages: { type: 'number', default: '300000', help: 'messages published per run' },
    items: { type: 'numbers', default: '1,100', help: 'transactions per message, one run each' },
    repeats: { type: 'number', default: '1', help: 'runs of each item count' },
  },
});
const { messages, items: itemCounts, repeats } = flags;
const natsServer = process.env.NATS_URL?.replace(/^nats:\/\//, '') ?? '127.0.0.1:4222';
const runTag = randomBytes(3).toString('hex');

interface Run {
  itemsPerMessage: number;
  repeat: number;
  messages: number;
  transactions: number;
  committedTxPerSec: number;
  measuredSeconds: number;
  exactlyOnce: boolean;
  rows: number;
  redelivered: number;
  serverCpuCores: number;
  dbCpuCores: number | null;
  /** The local nats-server's CPU (deliveries, acks), null when it is not on this machine. */
  natsCpuCores: number | null;
  /** Server + database + NATS CPU per committed transaction, µs (null without all three). */
  cpuUsPerTx: number | null;
  eventLoopDelayP99Ms: number;
}

function payload(n: number, items: number): string {
  const list = [];
  for (let i = 0; i < items; i++) {
    const k = n * items + i;
    list.push({
      ref: `bs-${runTag}-${k}`,
      source: SOURCES[k % SOURCES.length],
      account: `acct-${k % 9973}`,
      amount: 100 + (k % 100_000),
      currency: CURRENCIES[k % CURRENCIES.length],
    });
  }
  return JSON.stringify(items === 1 ? list[0] : list);
}

async function publish(subject: string, stream: string, count: number, items: number) {
  const nc = await connect({ servers: natsServer });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({
    name: stream,
    subjects: [subject],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
  });
  const js = nc.jetstream();
  const WINDOW = 2000;
  for (let i = 0; i < count; i += WINDOW) {
    const acks = [];
    for (let j = i; j < Math.min(count, i + WINDOW); j++)
      acks.push(js.publish(subject, payload(j, items)));
    await Promise.all(acks);
  }
  await nc.close();
}

async function dropAll(stream: string, database: string): Promise<void> {
  const nc = await connect({ servers: natsServer });
  const jsm = await nc.jetstreamManager();
  for (const s of [stream, `${stream}_DEAD`]) await jsm.streams.delete(s).catch(() => {});
  await nc.close();
  const admin = await mysql.createConnection(LOCAL_DB);
  await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await admin.end();
}

async function run(
  items: number,
  repeat: number,
  dbPid: number | null,
  natsPid: number | null,
): Promise<Run> {
  const count = Math.max(1000, Math.round(messages / items));
  const tag = `${runTag}_${items}_${repeat}`;
  const subject = `pbbench.${tag}.tx`;
  const stream = `PBBENCH_${tag.toUpperCase()}`;
  const database = `pb_bench_stream_${tag}`;
  progress(`stream #${repeat}: publishing ${count} messages of ${items} transaction(s)`);
  let s: TestServer;
  try {
    await publish(subject, stream, count, items);
    progress(`stream #${repeat}: draining through the server`);
    s = await startServer(
      [
        '--sim-tps',
        '0',
        '--ingest-stream',
        `nats://${natsServer}/${subject}`,
        '--ingest-stream-name',
        stream,
      ],
      {
        MYSQL_URL: `mysql://${LOCAL_DB.user}@${LOCAL_DB.host}:${LOCAL_DB.port}/${database}`,
        PERSISTENCE: 'required',
      },
    );
  } catch (err) {
    // A publish or a start that failed leaves neither its stream nor its database behind.
    await dropAll(stream, database);
    throw err;
  }
  const samples: {
    t: number;
    consumed: number;
    cpu: number;
    db: number | null;
    nats: number | null;
  }[] = [];
  let last: MetricsSnapshot | undefined;
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  try {
    for (;;) {
      last = (await (await fetch(`${s.url}/api/metrics`)).json()) as MetricsSnapshot;
      samples.push({
        t: performance.now(),
        consumed: last.stream?.consumed ?? 0,
        cpu: procCpuSeconds(s.proc.pid!) ?? 0,
        db: procCpuSeconds(dbPid),
        nats: procCpuSeconds(natsPid),
      });
      if ((last.stream?.consumed ?? 0) >= count) break;
      if (Date.now() > deadline) throw new Error('the backlog did not drain in 10 minutes');
      await sleep(SAMPLE_MS);
    }
    const from = samples.find((x) => x.consumed >= count * 0.1)!;
    const to = samples.find((x) => x.consumed >= count * 0.9)!;
    const secs = (to.t - from.t) / 1000;
    const conn = await mysql.createConnection(`mysql://root@127.0.0.1:3306/${database}`);
    const [r] = await conn.query(
      'SELECT COUNT(*) AS n, COUNT(DISTINCT source, ref) AS k FROM transactions',
    );
    await conn.end();
    const { n, k } = (r as { n: string; k: string }[])[0]!;
    const transactions = count * items;
    const cores = (a: number | null, b: number | null) =>
      a !== null && b !== null ? round((b - a) / secs, 2) : null;
    const committedTxPerSec = Math.round(((to.consumed - from.consumed) * items) / secs);
    const dbCpuCores = cores(from.db, to.db);
    const natsCpuCores = cores(from.nats, to.nats);
    const serverCpuCores = round((to.cpu - from.cpu) / secs, 2);
    return {
      itemsPerMessage: items,
      repeat,
      messages: count,
      transactions,
      committedTxPerSec,
      measuredSeconds: round(secs, 2),
      exactlyOnce: Number(n) === transactions && Number(k) === transactions,
      rows: Number(n),
      redelivered: last.stream?.redelivered ?? 0,
      serverCpuCores,
      dbCpuCores,
      natsCpuCores,
      cpuUsPerTx:
        dbCpuCores !== null && natsCpuCores !== null
          ? round(((serverCpuCores + dbCpuCores + natsCpuCores) / committedTxPerSec) * 1e6, 1)
          : null,
      eventLoopDelayP99Ms: last.pipeline.eventLoopDelayP99Ms,
    };
  } finally {
    await s.stop();
    await dropAll(stream, database);
  }
}

function simulatorPersisted(): unknown {
  const path = `${RESULTS_DIR}persisted.json`;
  if (!existsSync(path)) return null;
  const doc = JSON.parse(readFileSync(path, 'utf8'));
  return { committedPerSec: doc.result?.committedPerSec ?? null, at: doc.at };
}

const dbPid = await localDbPid();
const natsPid = /^(127\.0\.0\.1|localhost):/.test(natsServer)
  ? localPidByName('nats-server')
  : null;
const runs: Run[] = [];
for (let r = 1; r <= repeats; r++)
  for (const items of itemCounts) runs.push(await run(items, r, dbPid, natsPid));
const byItems = itemCounts.map((items) => {
  const mine = runs.filter((x) => x.itemsPerMessage === items);
  return {
    itemsPerMessage: items,
    committedTxPerSec: spread(
      mine.map((x) => x.committedTxPerSec),
      0,
    ),
    exactlyOnce: mine.every((x) => x.exactlyOnce),
  };
});
const result = { messages, repeats, runs, byItems, simulatorPersisted: simulatorPersisted() };
const path = writeResult(
  'stream',
  `node dist/bench/ingest/stream-ingest.js --messages ${messages} --items ${itemCounts.join(',')} --repeats ${repeats}`,
  `${messages} transactions per run, published before the server starts into a fresh stream on the local NATS ${natsServer} (JetStream, file storage), as messages of ${itemCounts.join(' / ')} transaction(s); Pulseboard with SIM_TPS=0, PERSISTENCE=required on a fresh MariaDB database per run, draining the backlog through its durable pull consumer (INGEST_STREAM_MAX_ACK_PENDING default, pulls of 5,000); committed tx/s = acknowledged messages × items between 10 % and 90 % of the backlog (acks only after COMMIT); rows checked: rows = distinct (source, ref) = transactions published; ${repeats} repeat(s); CPU of the server, MariaDB and nats-server from /proc over the same span`,
  result,
);
progress(`stream: ${JSON.stringify(byItems)} → ${path}`);
