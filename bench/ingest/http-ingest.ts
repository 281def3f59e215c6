import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import type { MetricsSnapshot } from '../../src/metrics/snapshot-types.js';
import { startChildServer } from '../lib/child-server.js';
import { benchArgs } from '../lib/cli-args.js';
import { LOCAL_DB, localDbPid, procCpuSeconds } from '../lib/db-proc.js';
import { progress, sleep, writeResult } from '../lib/results.js';
import { startServer } from '../lib/server-process.js';
import { round, spread } from '../lib/stats.js';
import {
  cpuShare,
  type MachineSample,
  machineBusyCores,
  type ProcSample,
  sampleMachine,
  sampleProc,
} from '../ws-swarm/proc-stats.js';
import { runAutocannonLoad } from './autocannon-load.js';
import {
  cpuUsPerRequest,
  type LoadClient,
  type LoadOptions,
  type LoadResult,
  runHttpLoad,
} from './http-load-client.js';

/**
 * `npm run bench:ingest`: POST /api/transactions as producers send it. The load client
 * holds `--connections` keep-alive connections (8, 64, 256 by default), one request in
 * flight on each, every request one new transaction (a unique ref per item), for
 * `--seconds`; committed requests/s = 2xx answers / duration (Pulseboard answers after the
 * COMMIT). The same load then hits the endpoint a team writes by hand
 * (hand-written-ingest.ts: Fastify + mysql2, one INSERT … ON DUPLICATE KEY UPDATE per
 * request on a pool of 10), interleaved, each on a fresh database. Then batched requests (`--batch-sizes`) against Pulseboard alone.
 *
 * After each run the table is read back: every acknowledged ref must be there exactly once
 * (rows not acknowledged can exist only for requests still in flight when a load stopped,
 * at most one per connection, after the warm-up and after the measured run). CPU of the
 * server, the database server, the load generator and the whole machine come from /proc
 * over the run.
 *
 * Which load client (`--client`): by default the bench's own lean HTTP/1.1 client
 * (http-load-client.ts: raw `net` in a child process, pre-serialised requests with only the
 * ref digits written, a minimal response reader). autocannon, which this bench used before,
 * costs ~36 µs of CPU per request on this box against ~7.5 µs for the lean client (10 s at
 * 256 connections against the same Pulseboard, CPU of each client's process from /proc; the
 * figures of every run are in its `loadGeneratorCpuUsPerRequest`): on 2 shared cores
 * autocannon alone would cap the run at ~26k req/s, below the bar it is to show.
 * `--client autocannon` runs the old client (in this process) for a comparison. Both sides
 * — Pulseboard and the hand-written peer — always get the same client, so the ratio is fair.
 *
 * Why not the earlier client (fetch in a loop, 8 producers, 1 item): Node's fetch cost the
 * client ~0.9 ms of CPU per request on this box, so 8 sequential producers measured the
 * client, and 8 requests in flight cap a group commit at 8 items.
 *
 * The headline is the largest connection count (256): that pair runs `--headline-repeats`
 * times (the other rows `--repeats` times), Pulseboard and the peer interleaved, and its
 * verdicts are computed here from the medians against the bars of issue 12 §3 (HEADLINE_BARS):
 * committed requests/s, p99, the primary's event-loop delay p99 during the load, the ratio to
 * the hand-written endpoint, and every acknowledged item in MySQL exactly once.
 *
 *   node dist/bench/ingest/http-ingest.js [--connections 8,64,256] [--seconds 20]
 *        [--repeats 1] [--headline-repeats 3] [--batch-sizes 100,1000]
 *        [--batch-connections 8] [--no-peer] [--client raw|autocannon] [--name ingest]
 */

const HAND_WRITTEN = fileURLToPath(new URL('./hand-written-ingest.js', import.meta.url));
const HAND_WRITTEN_POOL = 10;
const SETTLE_MS = 2000;
/** The same load, not measured, before each measured run: JIT and pools warm on both sides. */
const WARMUP_S = 3;
const TIMEOUT_S = 10;
/** The event-loop monitor rolls a 10 s window: a run this long has one wholly inside it. */
const LOOP_WINDOW_S = 10;

const flags = benchArgs({
  command: 'node dist/bench/ingest/http-ingest.js',
  about:
    'POST /api/transactions, one new transaction per request, over keep-alive connections: Pulseboard (answering after the COMMIT) against a hand-written Fastify + mysql2 endpoint, interleaved, then batched requests against Pulseboard; every acknowledged ref is checked in MySQL. Writes bench/results/<name>.json.',
  flags: {
    connections: {
      type: 'numbers',
      default: '8,64,256',
      help: 'connection counts of the single-item runs; the largest is the headline',
    },
    seconds: { type: 'number', default: '20', help: 'measured seconds per run' },
    repeats: { type: 'number', default: '1', help: 'runs of each non-headline row' },
    'headline-repeats': {
      type: 'number',
      default: '3',
      help: 'runs of the headline row (the largest connection count)',
    },
    'batch-sizes': {
      type: 'numbers',
      default: '100,1000',
      help: "items per request of the batched runs ('' skips them)",
    },
    'batch-connections': {
      type: 'number',
      default: '8',
      help: 'connections of the batched runs',
    },
    'no-peer': { type: 'boolean', help: 'skip the hand-written Fastify endpoint' },
    client: {
      type: 'string',
      default: 'raw',
      choices: ['raw', 'autocannon'],
      help: "load client: the bench's lean one or autocannon",
    },
    'server-node-args': {
      type: 'string',
      default: '',
      help: "node's own flags for Pulseboard's process, space-separated (e.g. --server-node-args='--max-semi-space-size=64'): a trial, named in the result's conditions",
    },
    name: {
      type: 'string',
      default: 'ingest',
      help: 'result file bench/results/<name>.json (another name keeps a trial off the report)',
    },
  },
});
const connectionCounts = flags.connections;
const seconds = flags.seconds;
const repeats = flags.repeats;
const headlineRepeats = flags['headline-repeats'];
const headlineConnections = Math.max(...connectionCounts);
/** Issue 12 §3 (DESIGN §7): the single-item bars at 256 keep-alive connections. */
const HEADLINE_BARS = {
  committedRequestsPerSec: 30_000,
  p99Ms: 50,
  eventLoopDelayP99Ms: 5,
  ratio: 5,
};
const batchSizes = flags['batch-sizes'];
const batchConnections = flags['batch-connections'];
const withPeer = !flags['no-peer'];
const client = flags.client as LoadClient;
/** The result file: bench/results/<name>.json (another name keeps a trial off the report). */
const resultName = flags.name;
const serverNodeArgs = flags['server-node-args'].split(' ').filter((a) => a !== '');
const load: (o: LoadOptions) => Promise<LoadResult> =
  client === 'autocannon' ? runAutocannonLoad : runHttpLoad;

type Target = 'pulseboard' | 'hand-written';
const runTag = Date.now().toString(36);
/** Numbers each run: its database, and its refs' prefix with the load's. */
let runNo = 0;

interface Row {
  target: Target;
  repeat: number;
  connections: number;
  itemsPerRequest: number;
  seconds: number;
  requests2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Connections the server closed during the span (the lean client reopens them). */
  closedByServer: number;
  committedRequestsPerSec: number;
  committedItemsPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** Refs acknowledged (warm-up and measured run), refs of those not in the table, rows of a ref seen twice. */
  acknowledged: number;
  acknowledgedMissing: number;
  duplicateRows: number;
  rowsInDb: number;
  /** Rows written for requests that were still in flight when the load stopped. */
  rowsNotAcknowledged: number;
  /** Every acknowledged item exactly once; unacknowledged rows only from requests in flight at a stop. */
  rowsMatch: boolean;
  serverCpuCores: number;
  dbCpuCores: number | null;
  loadGeneratorCpuCores: number;
  /** The load generator's CPU per answered request, µs: what the client costs the box. */
  loadGeneratorCpuUsPerRequest: number;
  machineBusyCores: number;
  /** (server + database CPU) per committed item, µs. */
  cpuUsPerItem: { server: number; db: number | null };
  /** Pulseboard: the primary's event-loop delay p99, last complete 10 s window at the end. */
  eventLoopDelayP99Ms: number | null;
  eventLoopWindowInsideLoad: boolean;
}

interface Started {
  pid: number;
  url: string;
  stop(): Promise<unknown>;
}

async function start(target: Target, database: string): Promise<Started> {
  const uri = `mysql://${LOCAL_DB.user}@${LOCAL_DB.host}:${LOCAL_DB.port}/${database}`;
  if (target === 'pulseboard') {
    const s = await startServer(
      ['--sim-tps', '0', '--ingest-rate-loopback', 'false'],
      { MYSQL_URL: uri, PERSISTENCE: 'required' },
      { nodeArgs: serverNodeArgs },
    );
    return { pid: s.proc.pid!, url: s.url, stop: () => s.stop() };
  }
  const admin = await mysql.createConnection(LOCAL_DB);
  await admin.query(`CREATE DATABASE \`${database}\``);
  await admin.end();
  const p = await startChildServer(HAND_WRITTEN, ['0'], {
    MYSQL_URL: uri,
    POOL_SIZE: String(HAND_WRITTEN_POOL),
  });
  return { pid: p.pid, url: `http://127.0.0.1:${p.port}`, stop: () => p.stop() };
}

async function run(
  target: Target,
  repeat: number,
  connections: number,
  itemsPerRequest: number,
  dbPid: number | null,
): Promise<Row> {
  const n = runNo++;
  const database = `pb_bench_ingest_${runTag}_${n}`;
  progress(
    `ingest #${repeat}: ${target}, ${connections} connections, ${itemsPerRequest} item(s) per request, ${seconds} s, client ${client}`,
  );
  const s = await start(target, database);
  const acked = new Set<string>();
  let serverCpuCores = 0;
  let dbCpuCores: number | null = null;
  let busy = 0;
  let loop: number | null = null;
  let r: LoadResult;
  const options = (duration: number, phase: string): LoadOptions => ({
    url: s.url,
    connections,
    seconds: duration,
    itemsPerRequest,
    refPrefix: `${runTag}-${n}${phase}-`,
    timeoutS: TIMEOUT_S,
  });
  try {
    await sleep(SETTLE_MS);
    const warm = await load(options(WARMUP_S, 'w'));
    for (const ref of warm.ackedRefs()) acked.add(ref);
    // The span is the client's own (after its connections are open, before its drain).
    let p0!: ProcSample;
    let m0!: MachineSample;
    let d0: number | null = null;
    let p1!: ProcSample;
    let m1!: MachineSample;
    let d1: number | null = null;
    r = await load({
      ...options(seconds, 'm'),
      onSpanStart() {
        p0 = sampleProc(s.pid);
        m0 = sampleMachine();
        d0 = procCpuSeconds(dbPid);
      },
      onSpanEnd() {
        p1 = sampleProc(s.pid);
        m1 = sampleMachine();
        d1 = procCpuSeconds(dbPid);
      },
    });
    for (const ref of r.ackedRefs()) acked.add(ref);
    const span = (p1.at - p0.at) / 1000;
    serverCpuCores = cpuShare(p0, p1);
    dbCpuCores = d0 === null || d1 === null ? null : (d1 - d0) / span;
    busy = machineBusyCores(m0, m1);
    if (target === 'pulseboard') {
      const m = (await (await fetch(`${s.url}/api/metrics`)).json()) as MetricsSnapshot;
      loop = m.pipeline.eventLoopDelayP99Ms;
    }
  } finally {
    await s.stop();
  }

  // Read the table back: every acknowledged ref exactly once.
  const conn = await mysql.createConnection({ ...LOCAL_DB, database });
  const [found] = await conn.query('SELECT ref, COUNT(*) AS n FROM transactions GROUP BY ref');
  await conn.query(`DROP DATABASE \`${database}\``);
  await conn.end();
  const inDb = new Map((found as { ref: string; n: number }[]).map((x) => [x.ref, Number(x.n)]));
  let rowsInDb = 0;
  let duplicateRows = 0;
  for (const n of inDb.values()) {
    rowsInDb += n;
    duplicateRows += n - 1;
  }
  let missing = 0;
  for (const ref of acked) if (!inDb.has(ref)) missing++;
  const notAcked = rowsInDb - duplicateRows - (acked.size - missing);
  const duration = r.seconds;
  // Items of the measured span (the warm-up's are in `acked` too, for the table check).
  const items = r.requests2xx * itemsPerRequest;
  const row: Row = {
    target,
    repeat,
    connections,
    itemsPerRequest,
    seconds: round(duration, 1),
    requests2xx: r.requests2xx,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    closedByServer: r.closedByServer,
    committedRequestsPerSec: Math.round(r.requests2xx / duration),
    committedItemsPerSec: Math.round(items / duration),
    latencyMs: r.latencyMs,
    acknowledged: acked.size,
    acknowledgedMissing: missing,
    duplicateRows,
    rowsInDb,
    rowsNotAcknowledged: notAcked,
    // Two stops (warm-up, measured run), each with at most one request per connection in flight.
    rowsMatch:
      missing === 0 && duplicateRows === 0 && notAcked <= 2 * connections * itemsPerRequest,
    serverCpuCores: round(serverCpuCores, 3),
    dbCpuCores: dbCpuCores === null ? null : round(dbCpuCores, 3),
    loadGeneratorCpuCores: round(r.cpuCores, 3),
    loadGeneratorCpuUsPerRequest: cpuUsPerRequest(r),
    machineBusyCores: round(busy, 3),
    cpuUsPerItem: {
      server: items > 0 ? round((serverCpuCores * duration * 1e6) / items, 2) : 0,
      db:
        dbCpuCores === null || items === 0 ? null : round((dbCpuCores * duration * 1e6) / items, 2),
    },
    eventLoopDelayP99Ms: loop,
    eventLoopWindowInsideLoad: target === 'pulseboard' && seconds >= 2 * LOOP_WINDOW_S,
  };
  progress(
    `  ${row.committedRequestsPerSec.toLocaleString('en-US')} committed requests/s (${row.committedItemsPerSec.toLocaleString('en-US')} items/s), p50 ${row.latencyMs.p50} ms, p99 ${row.latencyMs.p99} ms, non-2xx ${row.non2xx}, rows match ${row.rowsMatch}`,
  );
  return row;
}

function summary(rows: Row[]) {
  return {
    committedRequestsPerSec: spread(
      rows.map((x) => x.committedRequestsPerSec),
      0,
    ),
    committedItemsPerSec: spread(
      rows.map((x) => x.committedItemsPerSec),
      0,
    ),
    p50Ms: spread(rows.map((x) => x.latencyMs.p50)),
    p99Ms: spread(rows.map((x) => x.latencyMs.p99)),
    non2xx: rows.reduce((n, x) => n + x.non2xx + x.errors + x.timeouts, 0),
    rowsMatch: rows.every((x) => x.rowsMatch),
    eventLoopDelayP99Ms: spread(
      rows.map((x) => x.eventLoopDelayP99Ms).filter((v): v is number => v !== null),
    ),
    serverCpuCores: spread(rows.map((x) => x.serverCpuCores)),
    dbCpuCores: spread(rows.map((x) => x.dbCpuCores).filter((v): v is number => v !== null)),
    loadGeneratorCpuCores: spread(rows.map((x) => x.loadGeneratorCpuCores)),
    loadGeneratorCpuUsPerRequest: spread(rows.map((x) => x.loadGeneratorCpuUsPerRequest)),
    machineBusyCores: spread(rows.map((x) => x.machineBusyCores)),
  };
}

const dbPid = await localDbPid();
const rows: Row[] = [];
for (let repeat = 1; repeat <= Math.max(repeats, headlineRepeats); repeat++) {
  for (const c of connectionCounts) {
    if (repeat > (c === headlineConnections ? headlineRepeats : repeats)) continue;
    rows.push(await run('pulseboard', repeat, c, 1, dbPid));
    if (withPeer) rows.push(await run('hand-written', repeat, c, 1, dbPid));
  }
  if (repeat > repeats) continue;
  for (const b of batchSizes)
    rows.push(await run('pulseboard', repeat, batchConnections, b, dbPid));
}
const pick = (t: Target, c: number, b: number) =>
  rows.filter((x) => x.target === t && x.connections === c && x.itemsPerRequest === b);
const single = connectionCounts.map((c) => {
  const ours = pick('pulseboard', c, 1);
  const peer = pick('hand-written', c, 1);
  const ratios = ours
    .map((o) => {
      const p = peer.find((x) => x.repeat === o.repeat);
      return p && p.committedRequestsPerSec > 0
        ? o.committedRequestsPerSec / p.committedRequestsPerSec
        : Number.NaN;
    })
    .filter((v) => Number.isFinite(v));
  return {
    connections: c,
    pulseboard: summary(ours),
    handWritten: peer.length > 0 ? summary(peer) : null,
    /** Pulseboard's committed requests/s ÷ the hand-written endpoint's, per repeat. */
    ratio: spread(ratios),
  };
});
const top = single.find((x) => x.connections === headlineConnections)!;
const median = (v: { median: number } | null | undefined) => v?.median ?? Number.NaN;
const verdicts = {
  committedRequestsPerSec:
    median(top.pulseboard.committedRequestsPerSec) >= HEADLINE_BARS.committedRequestsPerSec,
  p99Ms: median(top.pulseboard.p99Ms) < HEADLINE_BARS.p99Ms,
  eventLoopDelayP99Ms:
    median(top.pulseboard.eventLoopDelayP99Ms) < HEADLINE_BARS.eventLoopDelayP99Ms,
  ratio: median(top.ratio) >= HEADLINE_BARS.ratio,
  rowsMatch: top.pulseboard.rowsMatch,
};
/** The single-item row at 256 connections, its bars and what met them. */
const headline = {
  connections: headlineConnections,
  repeats: headlineRepeats,
  bars: HEADLINE_BARS,
  pulseboard: top.pulseboard,
  handWritten: top.handWritten,
  ratio: top.ratio,
  verdicts,
  /** The rate, latency, loop and lossless bars together (the ratio is its own bar). */
  barMet:
    verdicts.committedRequestsPerSec &&
    verdicts.p99Ms &&
    verdicts.eventLoopDelayP99Ms &&
    verdicts.rowsMatch,
};
progress(
  `headline (${headlineConnections} connections, median of ${headlineRepeats}): ${median(top.pulseboard.committedRequestsPerSec)} req/s, p99 ${median(top.pulseboard.p99Ms)} ms, loop p99 ${median(top.pulseboard.eventLoopDelayP99Ms)} ms, ${withPeer ? `${median(top.ratio)}× hand-written` : 'no hand-written peer (--no-peer)'}; verdicts ${JSON.stringify(verdicts)}`,
);
const batched = batchSizes.map((b) => ({
  itemsPerRequest: b,
  connections: batchConnections,
  pulseboard: summary(pick('pulseboard', batchConnections, b)),
}));
const clientCost = `its CPU per answered request at ${headlineConnections} connections, from /proc: ${median(top.pulseboard.loadGeneratorCpuUsPerRequest)} µs against Pulseboard, ${median(top.handWritten?.loadGeneratorCpuUsPerRequest)} µs against the peer (median)`;
const clientText =
  client === 'raw'
    ? `the bench's lean HTTP/1.1 client (bench/ingest/http-load-client.ts: raw net sockets in one child process on the same machine, a pre-serialised request per connection with only the ref digits written, a minimal response reader; chosen over autocannon, whose CPU per request capped what this box could show — compare with --client autocannon; ${clientCost}; requests still in flight when a load stops are awaited and acknowledged, not counted in the span)`
    : `autocannon (one thread in the bench process, on the same machine; ${clientCost})`;
writeResult(
  resultName,
  `node dist/bench/ingest/http-ingest.js --connections ${connectionCounts.join(',')} --seconds ${seconds} --repeats ${repeats} --headline-repeats ${headlineRepeats} --batch-sizes ${batchSizes.join(',')} --batch-connections ${batchConnections}${withPeer ? '' : ' --no-peer'}${client === 'raw' ? '' : ` --client ${client}`}${serverNodeArgs.length > 0 ? ` --server-node-args='${serverNodeArgs.join(' ')}'` : ''}`,
  `POST /api/transactions from ${clientText} over ${connectionCounts.join(' / ')} keep-alive connections, pipelining 1, ${seconds} s measured after ${WARMUP_S} s of the same load, a new unique ref per item; Pulseboard with SIM_TPS=0, PERSISTENCE=required${serverNodeArgs.length > 0 ? ` and node ${serverNodeArgs.join(' ')}` : ''} on a fresh MariaDB database per run (loopback producers are not rate-limited: --ingest-rate-loopback false), answering after the COMMIT; hand-written peer: Fastify + mysql2, one INSERT … ON DUPLICATE KEY UPDATE per request on a pool of ${HAND_WRITTEN_POOL}, answered after it, fresh database per run; ${repeats} repeat(s), ${headlineRepeats} at ${headlineConnections} connections, Pulseboard and the peer interleaved; batched: ${batchSizes.join(' / ')} items per request (JSON array) over ${batchConnections} connections, Pulseboard only; after each run every acknowledged ref is looked up in MySQL (rows match = each exactly once, and unacknowledged rows ≤ one request per connection at each of the two stops); event-loop p99 = the primary's last complete ${LOOP_WINDOW_S} s window at the end of the load`,
  {
    client,
    seconds,
    repeats,
    handWrittenPool: HAND_WRITTEN_POOL,
    runs: rows,
    headline,
    single,
    batched,
  },
);
progress(`wrote bench/results/${resultName}.json`);
