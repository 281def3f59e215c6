import { Bench } from 'tinybench';
import { secondPoint, sourceMetrics, windowMetrics } from '../../src/metrics/bucket-row.js';
import { WINDOW_NAMES } from '../../src/metrics/snapshot-types.js';
import { WindowAccumulator } from '../../src/metrics/window-accumulator.js';
import { HostOriginPolicy } from '../../src/security/host-origin-policy.js';
import { DEFAULT_SOURCES } from '../../src/shared/catalog.js';
import { ShardMetrics } from '../../src/shared/metric-buckets.js';
import { copyRecord, TxRing } from '../../src/shared/tx-ring.js';
import { ROW_STRIDE } from '../../src/shared/window-row.js';
import { envelope } from '../../src/ws/envelope.js';
import { WindowWriter } from '../../workers/common/window-writer.js';
import { TransactionFactory } from '../../workers/shard/transaction-factory.js';
import { benchArgs } from '../lib/cli-args.js';
import { progress, writeResult } from '../lib/results.js';

/**
 * `npm run bench:micro`: the hot paths in isolation (tinybench) — generating a
 * transaction, writing + reading a ring record, adding a completion to the window
 * buckets, taking a snapshot (3 windows, 1 shard), encoding a metrics frame, and the
 * Host + Origin checks every HTTP request and upgrade pays (src/security/host-origin-policy.ts).
 */

benchArgs({
  command: 'node dist/bench/micro/hot-paths.js',
  about:
    'The hot paths in isolation (tinybench): a transaction, a ring record, a window completion, a snapshot, a metrics frame, the Host + Origin checks. Writes bench/results/micro.json.',
  flags: {},
});

const BATCH = 1024;
const ring = TxRing.create(4096);
const consumer = ring.attachConsumer();
const pool = TxRing.create(BATCH).f;
const factory = new TransactionFactory({
  worker: 0,
  shardIndex: 0,
  shardCount: 1,
  accounts: 1_000_000,
  sourceNames: DEFAULT_SOURCES,
  procMinMs: 100,
  procMedianMs: 350,
  procMaxMs: 2000,
  fraudAmountThreshold: 500_000,
  fraudVelocityMax: 5,
});
factory.setParams(0.03, 0.002, -1);
const shard = ShardMetrics.create();
const writer = new WindowWriter(shard);
const nowSecond = Math.floor(Date.now() / 1000);
// An hour of data in the buckets so the snapshot does real work: 50 tx/s × 3,601 s.
const PER_SECOND = 50;
const transactionsInWindows = PER_SECOND * 3601;
for (let s = nowSecond - 3600; s <= nowSecond; s++) {
  writer.begin();
  writer.selectSecond(s);
  for (let k = 0; k < PER_SECOND; k++)
    writer.add(k % 20 === 0, k % 50 === 0, 100 + k * 13, k % 4, 1000 + k, 1000 + k, k % 6);
  writer.end();
}
const acc = new WindowAccumulator([shard], nowSecond);
acc.advance(nowSecond);
const row = new Float64Array(ROW_STRIDE);
const snapshotJson = (() => {
  const open = acc.readOpen(nowSecond);
  const windows: Record<string, unknown> = {};
  for (const w of WINDOW_NAMES) {
    acc.window(w, open, row);
    windows[w] = windowMetrics(row, 0, 60);
  }
  return JSON.stringify({
    windows,
    topSources: sourceMetrics(row, 0, DEFAULT_SOURCES),
    point: secondPoint(row, 0, nowSecond),
  });
})();

// The per-request browser checks, over the Host headers a server sees: an IP, a loopback
// name, a listed name, a listed domain, and a refused one (which stops before Origin).
const policy = new HostOriginPolicy({
  host: '127.0.0.1',
  allowedHosts: ['ops.example.com', '.corp.example'],
  allowedOrigins: ['https://grafana.example.com'],
  wsAllowedOrigins: [],
});
const HOST_HEADERS = [
  '127.0.0.1:8080',
  'localhost:8080',
  'ops.example.com',
  'pulseboard.corp.example:8443',
  'evil.example:8080',
];
const ORIGIN_HEADERS = HOST_HEADERS.map((h) => `http://${h}`);

const bench = new Bench({ time: 1000, warmupTime: 200 });
let now = Date.now();
bench
  .add(`generate ${BATCH} transactions`, () => {
    now++;
    for (let i = 0; i < BATCH; i++) {
      factory.create(pool, i, now);
      factory.mintId(pool, i, now);
    }
  })
  .add(`ring: write + read ${BATCH} records`, () => {
    let w = ring.writePos;
    for (let i = 0; i < BATCH; i++) {
      copyRecord(pool, i, ring.f, w & ring.mask);
      w = (w + 1) | 0;
    }
    ring.publish(w);
    let r = ring.readPos(consumer);
    let sum = 0;
    for (let i = 0; i < BATCH; i++) {
      sum += ring.f.amount[r & ring.mask]!;
      r = (r + 1) | 0;
    }
    ring.release(consumer, r);
    if (sum < 0) throw new Error('unreachable');
  })
  .add(`window update: ${BATCH} completions`, () => {
    writer.begin();
    writer.selectSecond(nowSecond);
    for (let i = 0; i < BATCH; i++)
      writer.add(false, false, 120 + (i & 511), i & 3, 1234, 1234, i % 6);
    writer.end();
  })
  .add('snapshot: 3 windows, 1 shard', () => {
    const open = acc.readOpen(nowSecond);
    for (const w of WINDOW_NAMES) {
      acc.window(w, open, row);
      windowMetrics(row, 0, 60);
      sourceMetrics(row, 0, DEFAULT_SOURCES);
    }
  })
  .add('encode metrics frame', () => {
    envelope('metrics', 1, Date.now(), snapshotJson);
  })
  .add(`Host + Origin check: ${BATCH} requests`, () => {
    let allowed = 0;
    for (let i = 0; i < BATCH; i++) {
      const k = i % HOST_HEADERS.length;
      const host = HOST_HEADERS[k]!;
      if (policy.hostAllowed(host) && policy.originAllowed(ORIGIN_HEADERS[k]!, host, '')) allowed++;
    }
    if (allowed === 0) throw new Error('unreachable');
  });

progress('micro-benchmarks (tinybench): ~8 s');
await bench.run();
const rows = bench.tasks.map((t) => {
  const r = t.result as unknown as {
    latency: { mean: number; p99: number };
    throughput: { mean: number };
  };
  const perItem = t.name.includes(String(BATCH)) ? BATCH : 1;
  return {
    task: t.name,
    meanUs: Math.round(r.latency.mean * 1000 * 100) / 100,
    p99Us: Math.round(r.latency.p99 * 1000 * 100) / 100,
    nsPerItem: Math.round(((r.latency.mean * 1e6) / perItem) * 10) / 10,
    opsPerSec: Math.round(r.throughput.mean),
  };
});
console.table(rows);
writeResult(
  'micro',
  'node dist/bench/micro/hot-paths.js',
  'single thread, tinybench 1 s per task',
  { frameBytes: snapshotJson.length, transactionsInWindows, rows },
);
