import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import WebSocket from 'ws';
import type { MetricsSnapshot } from '../../src/metrics/snapshot-types.js';
import { cpuUsPerRequest, type LoadClient, runHttpLoad } from '../ingest/http-load-client.js';
import { startChildServer } from '../lib/child-server.js';
import { benchArgs } from '../lib/cli-args.js';
import { progress, sleep, writeResult } from '../lib/results.js';
import { GC_NODE_ARGS, type GcSample, startServer } from '../lib/server-process.js';
import { round, type Spread, spread } from '../lib/stats.js';
import {
  cpuShare,
  gcSettle,
  machineBusyCores,
  sampleMachine,
  sampleProc,
  settledRss,
} from '../ws-swarm/proc-stats.js';
import { runSwarm, type SwarmResult } from '../ws-swarm/swarm.js';

/**
 * `npm run bench:peers`: the same broadcast — the same live metrics frame, tick, client
 * count and swarm — served by Pulseboard (its pipeline running), by a bare uWebSockets.js
 * publisher (the floor: no pipeline, one `app.publish` per tick), by `ws` and by
 * Socket.IO; and the same GET /api/metrics snapshot served by Pulseboard and by Fastify.
 * Every target runs `--repeats` times, interleaved (pulseboard, pulseboard WS_THREADS=2,
 * uws, ws, socketio, pulseboard, …), each in a fresh process, so a figure is a median with
 * its min–max and drift of the machine hits every target alike. Pulseboard runs once per
 * `--ws-threads` value (its WS_THREADS; summary key `pulseboard` for 1, `pulseboard-wsK`
 * for K), so the fan-out threads bar is paired with the bare publisher of the same repeat.
 * At `--floor-clients` (1,000) only Pulseboard (WS_THREADS=1) and the bare publisher run:
 * the fan-out bar's second point.
 *
 * Per broadcast row: delivery latency and gaps (swarm), server CPU from /proc over the
 * span (all threads; above the server's own CPU with no clients; its main thread alone),
 * and memory per connection = (settled RSS with the clients connected − settled RSS
 * before) / connected, where "settled" is the median of 5 readings 0.5 s apart, each right
 * after a forced full GC (bench/lib/gc-hook.ts).
 *
 *   node dist/bench/peers/run-peers.js [--clients 10000] [--floor-clients 1000] [--repeats 3]
 *        [--seconds 15] [--http-seconds 10] [--tps 10000] [--http-client raw|autocannon]
 *        [--ws-threads 1,2]
 */

const PEER = fileURLToPath(new URL('./peer-server.js', import.meta.url));
const TICK_MS = 500;
const MAX_BACKPRESSURE = 16 * 1024 * 1024;
const HTTP_CONNECTIONS = 100;
const HTTP_WORKERS = 2;
/**
 * After start, before any reading, with a forced GC every second (see gcSettle); every
 * server gets the same settle, then the idle CPU span (no forced GC in it).
 */
const SETTLE_MS = 10_000;
const IDLE_MS = 3000;
const HTTP_SETTLE_MS = 3000;
const RSS_SAMPLES = 5;
const RSS_INTERVAL_MS = 500;
const RAMP_PER_SECOND = 2000;

type Target = 'pulseboard' | 'uws' | 'ws' | 'socketio';
const PEERS: readonly Target[] = ['ws', 'socketio'];

const flags = benchArgs({
  command: 'node dist/bench/peers/run-peers.js',
  about:
    'The same broadcast served by Pulseboard, a bare uWebSockets.js publisher, ws and Socket.IO, and the same GET /api/metrics by Pulseboard and Fastify, interleaved. Writes bench/results/peers.json.',
  flags: {
    clients: { type: 'number', default: '10000', help: 'WebSocket clients of the fan-out runs' },
    'floor-clients': { type: 'number', default: '1000', help: 'clients of the floor run' },
    repeats: { type: 'number', default: '3', help: 'runs of each target' },
    seconds: { type: 'number', default: '15', help: 'seconds of each fan-out run' },
    'http-seconds': { type: 'number', default: '10', help: 'seconds of each HTTP run' },
    tps: { type: 'number', default: '10000', help: 'simulator transactions/s' },
    'http-client': {
      type: 'string',
      default: 'raw',
      choices: ['raw', 'autocannon'],
      help: 'HTTP load client',
    },
    'ws-threads': {
      type: 'numbers',
      default: '1,2',
      min: 1,
      help: "Pulseboard's WS_THREADS values at the main client count, one pass each",
    },
  },
});

/**
 * One broadcast server of the plan: a target and, for Pulseboard, its WS_THREADS (null for
 * the peers). The key names it in the summary and the ratios; WS_THREADS=1 keeps the plain
 * `pulseboard` the report has always read.
 */
interface Pass {
  target: Target;
  wsThreads: number | null;
}
const passKey = (p: Pass) =>
  p.target === 'pulseboard' && p.wsThreads !== 1 ? `pulseboard-ws${p.wsThreads}` : p.target;

interface Running {
  pid: number;
  wsUrl: string;
  httpUrl: string;
  protocol: 'ws' | 'socketio';
  gc(): Promise<GcSample | null>;
  stop(): Promise<unknown>;
}

async function start(
  target: Target | 'fastify',
  payload: string,
  tps: number,
  wsThreads = 1,
): Promise<Running> {
  if (target === 'pulseboard') {
    // With WS_THREADS > 1, startServer's wsUrl is the fan-out threads' WS_PORT.
    const s = await startServer(
      [
        '--ws-threads',
        String(wsThreads),
        '--sim-tps',
        String(tps),
        '--persistence',
        'off',
        '--tick-ms',
        String(TICK_MS),
        '--ws-max-backpressure',
        String(MAX_BACKPRESSURE),
      ],
      {},
      { nodeArgs: GC_NODE_ARGS },
    );
    return {
      pid: s.proc.pid!,
      wsUrl: `${s.wsUrl}?topics=metrics`,
      httpUrl: `${s.url}/api/metrics`,
      protocol: 'ws',
      gc: () => s.gc(),
      stop: () => s.stop(),
    };
  }
  const p = await startChildServer(PEER, [target, '0', String(TICK_MS)], {
    PEER_PAYLOAD: payload,
    PEER_MAX_BACKPRESSURE: String(MAX_BACKPRESSURE),
  });
  return {
    pid: p.pid,
    wsUrl:
      target === 'socketio'
        ? `ws://127.0.0.1:${p.port}/socket.io/?EIO=4&transport=websocket`
        : `ws://127.0.0.1:${p.port}/ws`,
    httpUrl: `http://127.0.0.1:${p.port}/api/metrics`,
    protocol: target === 'socketio' ? 'socketio' : 'ws',
    gc: () => p.gc(),
    stop: () => p.stop(),
  };
}

/**
 * The live metrics frame: Pulseboard with its pipeline at `tps`, after the windows have
 * filled for a few seconds; the `data` of one `metrics` frame off the wire.
 */
async function captureFrame(tps: number): Promise<{ payload: string; frameBytes: number }> {
  const s = await startServer(['--sim-tps', String(tps), '--persistence', 'off']);
  try {
    await sleep(5000);
    const text = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(`${s.wsUrl}?topics=metrics`);
      let n = 0;
      ws.on('message', (d: Buffer) => {
        if (++n < 3) return; // the third frame: well after subscribing
        ws.close();
        resolve(d.toString());
      });
      ws.on('error', reject);
    });
    const at = text.indexOf('"data":');
    return { payload: text.slice(at + 7, -1), frameBytes: Buffer.byteLength(text) };
  } finally {
    await s.stop();
  }
}

interface BroadcastRow extends SwarmResult {
  target: Target;
  /** Pulseboard's WS_THREADS; null for the peers. */
  wsThreads: number | null;
  /** passKey: `pulseboard`, `pulseboard-ws2`, `uws`, … */
  key: string;
  repeat: number;
  /** Server CPU with no client connected (its own background work: Pulseboard's pipeline). */
  idleCpuCores: number;
  idleMainThreadCpuCores: number;
  /** All server CPU during the span / delivered messages, µs. */
  cpuUsPerDeliveredMessage: number;
  /** (CPU during the span − CPU with no clients) / delivered messages, µs: the fan-out's cost. */
  marginalCpuUsPerDeliveredMessage: number;
  /** The server's main thread alone during the span / delivered messages, µs. */
  mainThreadCpuUsPerDeliveredMessage: number;
  rssBeforeBytes: number;
  rssWithClientsBytes: number;
  anonBeforeBytes: number;
  anonWithClientsBytes: number;
  /** Spread (max − min) of the settled anonymous-RSS readings, before and with clients. */
  anonReadingSpreadBytes: { before: number; withClients: number };
  gcForced: boolean;
  /** The settle before the baseline (gcSettle): its length, and whether RSS held still. */
  settleMs: number;
  settledStill: boolean;
  /** (settled RssAnon with clients − before) / connected, bytes: the bars' figure. */
  memoryPerConnectionBytes: number;
  /** The same from total RSS (code pages included), for comparison. */
  rssPerConnectionBytes: number;
  /** Pulseboard only: the primary's event-loop delay p99, last 10 s window at the span's end. */
  eventLoopDelayP99Ms: number | null;
}

async function broadcast(
  pass: Pass,
  clients: number,
  seconds: number,
  repeat: number,
  payload: string,
  tps: number,
): Promise<BroadcastRow> {
  const { target, wsThreads } = pass;
  progress(
    `broadcast #${repeat}: ${target}${wsThreads === null ? '' : ` WS_THREADS=${wsThreads}`}, ${clients} clients`,
  );
  const s = await start(target, payload, tps, wsThreads ?? 1);
  try {
    const settled = await gcSettle(s.pid, SETTLE_MS, s.gc);
    const i0 = sampleProc(s.pid);
    await sleep(IDLE_MS);
    const i1 = sampleProc(s.pid);
    const idleCpuCores = cpuShare(i0, i1);
    const idleMainThreadCpuCores = (i1.mainThreadCpuMs - i0.mainThreadCpuMs) / (i1.at - i0.at);
    const before = await settledRss(s.pid, s.gc, RSS_SAMPLES, RSS_INTERVAL_MS);
    let withClients = before;
    let loopP99: number | null = null;
    const r = await runSwarm({
      url: s.wsUrl,
      protocol: s.protocol,
      clients,
      processes: Math.max(1, Math.ceil(clients / 5000)),
      rampPerSecond: RAMP_PER_SECOND,
      seconds,
      pid: s.pid,
      quiet: true,
      async duringRun() {
        // The loop delay first: the forced collections below would stall the loop.
        if (target === 'pulseboard') {
          const m = (await (await fetch(s.httpUrl)).json()) as MetricsSnapshot;
          loopP99 = m.pipeline.eventLoopDelayP99Ms;
        }
        withClients = await settledRss(s.pid, s.gc, RSS_SAMPLES, RSS_INTERVAL_MS);
      },
    });
    const span = r.seconds;
    const server = r.server!;
    const perMessage = (cores: number) =>
      r.messages > 0 ? round((cores * span * 1e6) / r.messages, 3) : 0;
    const row: BroadcastRow = {
      target,
      wsThreads,
      key: passKey(pass),
      repeat,
      ...r,
      idleCpuCores: round(idleCpuCores, 3),
      idleMainThreadCpuCores: round(idleMainThreadCpuCores, 3),
      cpuUsPerDeliveredMessage: perMessage(server.cpuCores),
      marginalCpuUsPerDeliveredMessage: perMessage(server.cpuCores - idleCpuCores),
      mainThreadCpuUsPerDeliveredMessage: perMessage(server.mainThreadCpuCores),
      rssBeforeBytes: before.medianBytes,
      rssWithClientsBytes: withClients.medianBytes,
      anonBeforeBytes: before.medianAnonBytes,
      anonWithClientsBytes: withClients.medianAnonBytes,
      anonReadingSpreadBytes: {
        before: before.anonSpreadBytes,
        withClients: withClients.anonSpreadBytes,
      },
      gcForced: before.gcForced && withClients.gcForced,
      settleMs: settled.ms,
      settledStill: settled.still,
      memoryPerConnectionBytes: Math.round(
        (withClients.medianAnonBytes - before.medianAnonBytes) / Math.max(1, r.connected),
      ),
      rssPerConnectionBytes: Math.round(
        (withClients.medianBytes - before.medianBytes) / Math.max(1, r.connected),
      ),
      eventLoopDelayP99Ms: loopP99,
    };
    progress(
      `  p99 ${r.latencyMs.p99} ms, gaps ${r.gaps}, ${r.connected} connected, ${row.marginalCpuUsPerDeliveredMessage} µs/message above idle, ${row.memoryPerConnectionBytes} B/connection`,
    );
    return row;
  } finally {
    await s.stop();
  }
}

interface HttpRow {
  target: 'pulseboard' | 'fastify';
  repeat: number;
  reqPerSec: number;
  latencyMs: { p50: number; p99: number; max: number };
  client: LoadClient;
  errors: number;
  /** CPU of the server under test and of the load generator over the run. */
  serverCpuCores: number;
  loadGeneratorCpuCores: number;
  loadGeneratorCpuUsPerRequest: number;
  machineBusyCores: number;
}

async function http(
  target: 'pulseboard' | 'fastify',
  repeat: number,
  seconds: number,
  payload: string,
  tps: number,
  client: LoadClient,
): Promise<HttpRow> {
  progress(`http #${repeat}: ${target} GET /api/metrics, ${seconds} s (${client} client)`);
  const s = await start(target, payload, tps);
  try {
    await sleep(HTTP_SETTLE_MS);
    return client === 'raw'
      ? await rawHttp(target, repeat, seconds, s)
      : await autocannonHttp(target, repeat, seconds, s);
  } finally {
    await s.stop();
  }
}

/** The lean raw-TCP client (bench/ingest/http-load-client.ts) in a child process of its own. */
async function rawHttp(
  target: 'pulseboard' | 'fastify',
  repeat: number,
  seconds: number,
  s: Running,
): Promise<HttpRow> {
  let p0 = sampleProc(s.pid);
  let m0 = sampleMachine();
  let serverCpuCores = 0;
  let machineBusy = 0;
  const url = new URL(s.httpUrl);
  const r = await runHttpLoad({
    url: url.origin,
    path: url.pathname,
    connections: HTTP_CONNECTIONS,
    seconds,
    itemsPerRequest: 0,
    refPrefix: '',
    onSpanStart: () => {
      p0 = sampleProc(s.pid);
      m0 = sampleMachine();
    },
    onSpanEnd: () => {
      serverCpuCores = cpuShare(p0, sampleProc(s.pid));
      machineBusy = machineBusyCores(m0, sampleMachine());
    },
  });
  return {
    target,
    repeat,
    client: 'raw',
    reqPerSec: Math.round(r.requests2xx / r.seconds),
    latencyMs: { p50: r.latencyMs.p50, p99: r.latencyMs.p99, max: r.latencyMs.max },
    errors: r.errors + r.non2xx + r.timeouts,
    serverCpuCores: round(serverCpuCores, 3),
    loadGeneratorCpuCores: round(r.cpuCores, 3),
    loadGeneratorCpuUsPerRequest: cpuUsPerRequest(r),
    machineBusyCores: round(machineBusy, 3),
  };
}

/** autocannon in this process (its worker threads): the client the bench used before. */
async function autocannonHttp(
  target: 'pulseboard' | 'fastify',
  repeat: number,
  seconds: number,
  s: Running,
): Promise<HttpRow> {
  const p0 = sampleProc(s.pid);
  const m0 = sampleMachine();
  const c0 = process.cpuUsage();
  const r = await autocannon({
    url: s.httpUrl,
    connections: HTTP_CONNECTIONS,
    pipelining: 1,
    duration: seconds,
    workers: HTTP_WORKERS,
  });
  const p1 = sampleProc(s.pid);
  const m1 = sampleMachine();
  const c = process.cpuUsage(c0);
  const answered = r.requests.total;
  const cpuUs = c.user + c.system;
  return {
    target,
    repeat,
    client: 'autocannon',
    reqPerSec: Math.round(r.requests.average),
    latencyMs: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max },
    errors: r.errors + r.non2xx,
    serverCpuCores: round(cpuShare(p0, p1), 3),
    loadGeneratorCpuCores: round(cpuUs / 1000 / (p1.at - p0.at), 3),
    loadGeneratorCpuUsPerRequest: answered === 0 ? 0 : round(cpuUs / answered, 2),
    machineBusyCores: round(machineBusyCores(m0, m1), 3),
  };
}

function summarise(rows: BroadcastRow[]) {
  const f = (g: (r: BroadcastRow) => number | null) =>
    spread(rows.map(g).filter((v): v is number => v !== null));
  return {
    p50Ms: f((r) => r.latencyMs.p50),
    p99Ms: f((r) => r.latencyMs.p99),
    messagesPerSec: f((r) => r.messagesPerSec),
    cpuCores: f((r) => r.server?.cpuCores ?? null),
    mainThreadCpuCores: f((r) => r.server?.mainThreadCpuCores ?? null),
    cpuUsPerDeliveredMessage: f((r) => r.cpuUsPerDeliveredMessage),
    marginalCpuUsPerDeliveredMessage: f((r) => r.marginalCpuUsPerDeliveredMessage),
    mainThreadCpuUsPerDeliveredMessage: f((r) => r.mainThreadCpuUsPerDeliveredMessage),
    memoryPerConnectionBytes: f((r) => r.memoryPerConnectionBytes),
    swarmCpuCores: f((r) => r.swarm.cpuCores),
    machineBusyCores: f((r) => r.machine.busyCores),
    eventLoopDelayP99Ms: f((r) => r.eventLoopDelayP99Ms),
    gapsTotal: rows.reduce((n, r) => n + r.gaps, 0),
    connectedMin: Math.min(...rows.map((r) => r.connected)),
  };
}

/** a/b per repeat (rows paired by repeat), as a spread; null if a pair is missing or zero. */
function pairedRatio(
  a: BroadcastRow[],
  b: BroadcastRow[],
  f: (r: BroadcastRow) => number | null,
): Spread | null {
  const values: number[] = [];
  for (const ra of a) {
    const rb = b.find((x) => x.repeat === ra.repeat);
    const va = f(ra);
    const vb = rb ? f(rb) : null;
    if (va !== null && vb !== null && va > 0 && vb > 0) values.push(va / vb);
  }
  return spread(values);
}

/** Pulseboard's runs ÷ the bare uWS publisher's of the same repeat: latency and CPU. */
function vsUws(mine: BroadcastRow[], uws: BroadcastRow[]) {
  return {
    p99: pairedRatio(mine, uws, (r) => r.latencyMs.p99),
    cpuPerMessage: pairedRatio(mine, uws, (r) => r.cpuUsPerDeliveredMessage),
    marginalCpuPerMessage: pairedRatio(mine, uws, (r) => r.marginalCpuUsPerDeliveredMessage),
    mainThreadCpuPerMessage: pairedRatio(mine, uws, (r) => r.mainThreadCpuUsPerDeliveredMessage),
  };
}

async function main(): Promise<void> {
  const { clients, repeats, seconds, tps } = flags;
  const floorClients = flags['floor-clients'];
  const httpSeconds = flags['http-seconds'];
  const httpClient = flags['http-client'] as LoadClient;
  const threadCounts = flags['ws-threads'];

  progress(`peers: capturing the live metrics frame at ${tps} tx/s`);
  const { payload, frameBytes } = await captureFrame(tps);
  progress(`  frame ${frameBytes} bytes`);

  const peer = (target: Target): Pass => ({ target, wsThreads: null });
  const ours = (wsThreads: number): Pass => ({ target: 'pulseboard', wsThreads });
  const plan: [Pass, number][] = [
    ...[...threadCounts.map(ours), peer('uws'), ...PEERS.map(peer)].map((p): [Pass, number] => [
      p,
      clients,
    ]),
    ...(floorClients > 0
      ? [ours(1), peer('uws')].map((p): [Pass, number] => [p, floorClients])
      : []),
  ];
  const rows: BroadcastRow[] = [];
  const httpRows: HttpRow[] = [];
  for (let repeat = 1; repeat <= repeats; repeat++) {
    for (const [pass, n] of plan)
      rows.push(await broadcast(pass, n, seconds, repeat, payload, tps));
    if (httpSeconds > 0) {
      for (const target of ['pulseboard', 'fastify'] as const)
        httpRows.push(await http(target, repeat, httpSeconds, payload, tps, httpClient));
    }
  }

  const at = (key: string, n: number) => rows.filter((r) => r.key === key && r.clients === n);
  const summary: Record<number, Record<string, ReturnType<typeof summarise>>> = {};
  for (const [p, n] of plan) {
    summary[n] ??= {};
    summary[n]![passKey(p)] = summarise(at(passKey(p), n));
  }
  const pulseboard = at('pulseboard', clients);
  const vsPeers = Object.fromEntries(
    [...PEERS, 'uws' as const].map((k) => [
      k,
      {
        cpuPerMessage: pairedRatio(at(k, clients), pulseboard, (r) => r.cpuUsPerDeliveredMessage),
        marginalCpuPerMessage: pairedRatio(
          at(k, clients),
          pulseboard,
          (r) => r.marginalCpuUsPerDeliveredMessage,
        ),
        mainThreadCpuPerMessage: pairedRatio(
          at(k, clients),
          pulseboard,
          (r) => r.mainThreadCpuUsPerDeliveredMessage,
        ),
        memoryPerConnection: pairedRatio(
          at(k, clients),
          pulseboard,
          (r) => r.memoryPerConnectionBytes,
        ),
        p99Latency: pairedRatio(at(k, clients), pulseboard, (r) => r.latencyMs.p99),
      },
    ]),
  );
  // Pulseboard at each WS_THREADS ÷ the bare uWS publisher of the same repeat, at the main
  // client count: the fan-out threads bar (WS_THREADS=2) next to WS_THREADS=1.
  const uwsRows = at('uws', clients);
  const byThreads = Object.fromEntries(
    threadCounts.map((k) => {
      const mine = at(passKey(ours(k)), clients);
      return [
        k,
        {
          clients,
          ...vsUws(mine, uwsRows),
          gapsTotal: mine.reduce((n, r) => n + r.gaps, 0),
          connectedMin: Math.min(...mine.map((r) => r.connected)),
        },
      ];
    }),
  );
  const floor = Object.fromEntries(
    [clients, ...(floorClients > 0 ? [floorClients] : [])].map((n) => [
      n,
      vsUws(at('pulseboard', n), at('uws', n)),
    ]),
  );
  const httpOf = (t: 'pulseboard' | 'fastify') => httpRows.filter((h) => h.target === t);
  const httpRatio = spread(
    httpOf('pulseboard')
      .map((h) => {
        const f = httpOf('fastify').find((x) => x.repeat === h.repeat);
        return f && f.reqPerSec > 0 ? h.reqPerSec / f.reqPerSec : Number.NaN;
      })
      .filter((v) => Number.isFinite(v)),
  );
  const httpSummary = Object.fromEntries(
    (['pulseboard', 'fastify'] as const).map((t) => [
      t,
      {
        reqPerSec: spread(httpOf(t).map((h) => h.reqPerSec)),
        p50Ms: spread(httpOf(t).map((h) => h.latencyMs.p50)),
        p99Ms: spread(httpOf(t).map((h) => h.latencyMs.p99)),
        errors: httpOf(t).reduce((n, h) => n + h.errors, 0),
        serverCpuCores: spread(httpOf(t).map((h) => h.serverCpuCores)),
        loadGeneratorCpuCores: spread(httpOf(t).map((h) => h.loadGeneratorCpuCores)),
        machineBusyCores: spread(httpOf(t).map((h) => h.machineBusyCores)),
      },
    ]),
  );
  const result = {
    clients,
    floorClients,
    wsThreads: threadCounts,
    repeats,
    seconds,
    tickMs: TICK_MS,
    pipelineTps: tps,
    frameBytes,
    payloadBytes: Buffer.byteLength(payload),
    maxBackpressureBytes: MAX_BACKPRESSURE,
    rssSamples: RSS_SAMPLES,
    rssIntervalMs: RSS_INTERVAL_MS,
    http: {
      client: httpClient,
      connections: HTTP_CONNECTIONS,
      ...(httpClient === 'autocannon' ? { workers: HTTP_WORKERS } : {}),
      seconds: httpSeconds,
    },
    broadcast: rows,
    summary,
    httpRuns: httpRows,
    httpSummary,
    ratios: { vsPeers, floor, wsThreadsVsUws: byThreads, fastifyReqPerSec: httpRatio },
  };
  const file = writeResult(
    'peers',
    `node dist/bench/peers/run-peers.js --clients ${clients} --floor-clients ${floorClients} --repeats ${repeats} --seconds ${seconds} --http-seconds ${httpSeconds} --tps ${tps} --ws-threads ${threadCounts.join(',')}`,
    `${repeats} interleaved repeats (${threadCounts.map((k) => `pulseboard WS_THREADS=${k}`).join(', ')}, uws, ws, socketio; then pulseboard WS_THREADS=1, uws at ${floorClients} clients), a fresh server process each, settled with a forced GC every second until its anonymous RSS held still (5 readings 1 s apart within 512 KB, after at least ${SETTLE_MS / 1000} s, at most ${(3 * SETTLE_MS) / 1000} s), then its CPU read over ${IDLE_MS / 1000} s with no clients; ${clients} WebSocket clients on topic metrics, one ${frameBytes}-byte frame every ${TICK_MS} ms (Pulseboard's live metrics frame captured at ${tps} tx/s, sent by every server); Pulseboard runs its pipeline at ${tps} tx/s, persistence off, --ws-max-backpressure ${MAX_BACKPRESSURE} (with WS_THREADS > 1 its fan-out threads hold the connections on WS_PORT and publish each tick; the primary serialises it once); the peers run no pipeline; raw-TCP swarm on the same machine (one process per 5,000 clients), ramp ${RAMP_PER_SECOND}/s, ${seconds} s measured; CPU above idle = server CPU during the span − its CPU with no clients; memory per connection = (median of ${RSS_SAMPLES} post-GC readings of anonymous RSS ${RSS_INTERVAL_MS} ms apart with the clients connected − the same before they connect) / connected (RssAnon of the server process: heap and malloc, not code pages nor kernel socket buffers); GET /api/metrics: ${httpClient === 'raw' ? `the bench's lean raw-TCP HTTP client (bench/ingest/http-load-client.ts, one child process; autocannon's own CPU per request capped what this box could show: compare with --http-client autocannon), ${HTTP_CONNECTIONS} keep-alive connections` : `autocannon ${HTTP_CONNECTIONS} connections, ${HTTP_WORKERS} worker threads`}, ${httpSeconds} s, the same ${Buffer.byteLength(payload)}-byte snapshot (Pulseboard's live one with its pipeline at ${tps} tx/s)`,
    result,
  );
  progress(`wrote ${file}`);
  process.stdout.write(`${JSON.stringify(result.ratios, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
