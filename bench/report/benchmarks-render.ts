import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RESULTS_DIR } from '../lib/results.js';
import { type Spread, spread } from '../lib/stats.js';
import {
  CLUSTER_BARS,
  clusterBars,
  clusterFigures,
  clusterMissed,
  clusterSection,
} from './cluster-render.js';
import { med, ms, n, type ResultDoc, source, sp, toSpread, verdict } from './format.js';
import { lineChart } from './svg-chart.js';
import {
  peersLabel,
  WS_THREADS_BAR,
  wsThreadsBar,
  wsThreadsFloorText,
  wsThreadsMissed,
} from './ws-threads-render.js';

/**
 * Renders BENCHMARKS.md, its charts and the figures ARCHITECTURE.md quotes from
 * bench/results/*.json (see benchmarks-doc.ts for the command). Nothing here is typed by
 * hand: every figure is read from a result file, printed next to the command that
 * produced it, the machine and the conditions. Missing results say which command to run.
 */

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHARTS = `${ROOT}docs/charts/`;

export function load(): Map<string, ResultDoc> {
  const docs = new Map<string, ResultDoc>();
  if (!existsSync(RESULTS_DIR)) return docs;
  for (const f of readdirSync(RESULTS_DIR)) {
    if (!f.endsWith('.json')) continue;
    const d = JSON.parse(readFileSync(`${RESULTS_DIR}${f}`, 'utf8')) as ResultDoc;
    docs.set(d.name, d);
  }
  return docs;
}

const mib = (b: number | undefined) => (b === undefined ? '—' : `${n(b / 2 ** 20, 1)} MiB`);
/** `x` ≥ goal, or null when not measured. */
const atLeast = (x: number | null, goal: number) => (x === null ? null : x >= goal);
/** Which client loaded the ingest runs: results from before `client` was recorded used autocannon. */
const ingestClient = (ingest: any) => (ingest?.client === 'raw' ? 'load client' : 'autocannon');
/** Which client loaded the peers' GET /api/metrics runs (before `http.client`: autocannon). */
const peersHttpClient = (peers: any) =>
  peers?.http?.client === 'raw' ? 'load client' : 'autocannon';

/** A fan-out row of one publishing thread (results from before WS_THREADS have no field). */
const oneThread = (r: any): boolean => (r.wsThreads ?? 1) === 1;

/** Server CPU (all threads) per delivered message of a fan-out row, µs. */
const cpuUsPerMessage = (r: any): number | undefined =>
  r?.server && r.messagesPerSec > 0 ? (r.server.cpuCores / r.messagesPerSec) * 1e6 : undefined;

/**
 * DESIGN §7's bars, word for word (split into one row per measured clause). The verdict of
 * each row is computed from the stated goal in render(): met only when it is reached.
 */
export const BARS = {
  pipelineOff: '≥ 1,000,000 tx/s with persistence off',
  persisted:
    '≥ 100,000 tx/s sustained generate → lifecycle → aggregate → persisted in MySQL, zero loss, zero duplicates',
  persistedCeiling:
    '≥ 60 % of a bare `LOAD DATA` of the same rows into the same table measured in the same run',
  fanout10k:
    '10,000 WebSocket clients at 2 updates/s: every message delivered (no sequence gaps), p99 delivery latency ≤ 1.25× a bare uWS publisher of the same frame measured in the same run with the same swarm, while the pipeline runs 10,000 tx/s',
  fanout1k: 'the same ratio at 1,000 clients',
  peersCpu:
    'at 10,000 clients, less server CPU per delivered message than the same broadcast on `ws` and on Socket.IO (goal: ≥ 2×)',
  peersMemory: 'less memory per connection than `ws` and Socket.IO (goal: ≥ 5× on memory)',
  peersHttp: "`GET /api/metrics` ≥ 2× Fastify's req/s serving the same snapshot",
  loop: 'event-loop delay p99 < 5 ms at full load',
  soak: 'RSS flat (±5 %) over a 30-minute soak',
  idleConnection: '< 5 KB server memory per idle connection',
  dashboard:
    'p95 update render < 4 ms with 1 h of per-second points in every chart, measured in headless Chromium',
  bundle: 'gzipped bundle < 150 KB',
  reliability:
    'DB outage mid-run, SIGTERM at full load, kill -9 of the process: every acknowledged transaction is in MySQL exactly once',
  ingest:
    '≥ 30,000 committed requests/s at 256 keep-alive connections, p99 < 50 ms, ack after COMMIT',
  ingestPeer: '≥ 5× a hand-written Fastify + mysql2 endpoint in the same run',
  stream: '≥ 50,000 tx/s committed from JetStream, exactly-once effect',
  alerts:
    '1,000 rules evaluated in < 1 ms per tick; the WebSocket event within one tick after `for` elapses',
  cluster: `${CLUSTER_BARS.merge}; ${CLUSTER_BARS.bytes}`,
  wsThreads: WS_THREADS_BAR,
} as const;

export function render(docs: Map<string, ResultDoc>): string {
  const R = (k: string) => docs.get(k);
  const off = R('pipeline-off')?.result;
  const persisted = R('persisted')?.result;
  const fan = R('fanout')?.result;
  const fanRun = (c: number) => fan?.runs?.find((r: any) => r.clients === c && oneThread(r));
  const peers = R('peers')?.result;
  const mem = R('memory')?.result;
  const soak = R('soak')?.result;
  const dash = R('dashboard')?.result;
  const micro = R('micro')?.result;
  const sweep = R('db-sweep')?.result;
  const ramp = R('ramp')?.result;
  const ingest = R('ingest')?.result;
  const suite = R('suite')?.result;
  const f100 = fanRun(100);

  // Peers: the broadcast summaries and ratios (median over the interleaved repeats).
  const big = peers?.clients as number | undefined;
  const small = peers?.floorClients as number | undefined;
  const pb = (c: number | undefined) => (c === undefined ? undefined : peers?.summary?.[c]);
  const floorRatio = (c: number | undefined) =>
    c === undefined ? null : toSpread(peers?.ratios?.floor?.[c]?.p99);
  const fanBar = (c: number | undefined, want: number) => {
    const s = pb(c);
    const ratio = floorRatio(c);
    if (!s?.pulseboard || !s?.uws || !ratio || c !== want) return { text: '—', ok: null };
    const ok =
      ratio.median <= 1.25 &&
      s.pulseboard.gapsTotal === 0 &&
      s.pulseboard.connectedMin === c &&
      peers.pipelineTps === 10_000;
    return {
      text: `p99 ${sp(s.pulseboard.p99Ms, 0, ' ms')} vs bare uWS ${sp(s.uws.p99Ms, 0, ' ms')}: ${sp(ratio, 2, '×')}; gaps ${n(s.pulseboard.gapsTotal)}; connected ${n(s.pulseboard.connectedMin)} of ${n(c)} in every run; pipeline ${n(peers.pipelineTps)} tx/s`,
      ok,
    };
  };
  const f10k = fanBar(big, 10_000);
  const f1k = fanBar(small, 1000);
  const vs = (k: string, f: string) => toSpread(peers?.ratios?.vsPeers?.[k]?.[f]);
  const peerGoal = (f: string, goal: number) => {
    const ws = atLeast(med(vs('ws', f)), goal);
    const io = atLeast(med(vs('socketio', f)), goal);
    return big !== 10_000 || ws === null || io === null ? null : ws && io;
  };
  const http = toSpread(peers?.ratios?.fastifyReqPerSec);
  const httpSum = peers?.httpSummary;
  const loop = toSpread(pb(big)?.pulseboard?.eventLoopDelayP99Ms);

  const ofCeiling = toSpread(persisted?.ofCeiling);
  const committed = toSpread(persisted?.committedPerSec);
  const single = (c: number) => ingest?.single?.find((x: any) => x.connections === c);
  const ingestHead = ingest?.headline;
  const i256 = ingestHead ?? single(256);

  const row = (area: string, bar: string, measured: string, ok: boolean | null, how: string) =>
    `| ${area} | ${bar} | ${measured} | ${verdict(ok)} | ${how} |`;
  const notMeasured = (area: string, bar: string) =>
    `| ${area} | ${bar} | — | not measured | no benchmark in \`bench/\` yet |`;

  const lines: string[] = [
    '# Benchmarks',
    '',
    '<!-- Generated by `node dist/bench/report/benchmarks-doc.js` from bench/results/*.json (npm run bench). Do not edit by hand. -->',
    '',
    `Every figure below is read from a result file in \`bench/results/\`, written by the script named next to it. \`npm run bench\` reruns the standard suite${suite ? ` (${n(suite.totalSeconds / 60)} minutes in the run these results come from)` : ''} and regenerates this page; each step can be run alone with the command shown. All runs use loopback only, with the load generator on the same machine as the server (they share its cores). Where a figure is measured over repeats it is given as the median with the min–max in brackets, and verdicts use the median.`,
    '',
    '## Bars (DESIGN §7)',
    '',
    '| area | bar | measured | verdict | how |',
    '| --- | --- | --- | --- | --- |',
    row(
      'pipeline',
      BARS.pipelineOff,
      `${n(off?.txPerSec)} tx/s`,
      off ? off.txPerSec >= 1e6 : null,
      source(R('pipeline-off'), 'npm run bench:pipeline'),
    ),
    row(
      'pipeline',
      BARS.persisted,
      `${sp(committed, 0, ' tx/s')}; rows = completions, no duplicate id, in every run: ${persisted ? persisted.lossless : '—'}`,
      committed ? committed.median >= 1e5 && persisted.lossless === true : null,
      source(R('persisted'), 'npm run bench:persisted'),
    ),
    row(
      'pipeline',
      BARS.persistedCeiling,
      ofCeiling
        ? `${sp(ofCeiling, 2)} of the ceiling (${sp(persisted.ceiling?.rowsPerSec, 0, ' rows/s')})`
        : '—',
      ofCeiling ? ofCeiling.median >= 0.6 : null,
      persisted ? 'same run' : source(undefined, 'npm run bench:persisted'),
    ),
    row('fan-out', BARS.fanout10k, f10k.text, f10k.ok, source(R('peers'), 'npm run bench:peers')),
    row('fan-out', BARS.fanout1k, f1k.text, f1k.ok, peers ? 'same run' : '—'),
    row(
      'peers',
      BARS.peersCpu,
      peers
        ? `ws ${sp(vs('ws', 'marginalCpuPerMessage'), 2, '×')}, Socket.IO ${sp(vs('socketio', 'marginalCpuPerMessage'), 2, '×')} (server CPU above its no-client CPU, per delivered message)`
        : '—',
      peerGoal('marginalCpuPerMessage', 2),
      peers ? 'same run' : '—',
    ),
    row(
      'peers',
      BARS.peersMemory,
      peers
        ? `ws ${sp(vs('ws', 'memoryPerConnection'), 1, '×')}, Socket.IO ${sp(vs('socketio', 'memoryPerConnection'), 1, '×')}`
        : '—',
      peerGoal('memoryPerConnection', 5),
      peers ? 'same run' : '—',
    ),
    row(
      'peers',
      BARS.peersHttp,
      http
        ? `${sp(http, 2, '×')} (${sp(httpSum?.pulseboard?.reqPerSec)} vs ${sp(httpSum?.fastify?.reqPerSec)} req/s)`
        : '—',
      http ? http.median >= 2 : null,
      peers ? 'same run' : '—',
    ),
    row(
      'primary',
      BARS.loop,
      loop
        ? `${sp(loop, 1, ' ms')} (${n(big)} clients, pipeline ${n(peers.pipelineTps)} tx/s)`
        : '—',
      loop ? loop.median < 5 : null,
      loop ? 'peers run' : '—',
    ),
    row(
      'memory',
      BARS.soak,
      soak
        ? `${n(soak.rssDriftPercent, 1)} % over ${n(soak.minutes)} min (RSS slope ${n(soak.rssSlopeMiBPerHour, 1)} MiB/h; post-GC heap slope ${n(soak.heapAfterGcSlopeMiBPerHour, 2)} MiB/h); clients connected at the end ${n(soak.clientsConnectedAtEnd)} of ${n(soak.clients)}; lost ${n(soak.lost)}`
        : '—',
      soak ? soak.minutes >= 30 && Math.abs(soak.rssDriftPercent) <= 5 : null,
      source(R('soak'), 'npm run soak'),
    ),
    row(
      'memory',
      BARS.idleConnection,
      fan?.idle
        ? `${n(fan.idle.bytesPerConnection)} B (${n(fan.idle.connected)} idle sockets)`
        : '—',
      fan?.idle ? fan.idle.bytesPerConnection < 5 * 1024 : null,
      fan?.idle ? 'fan-out run' : source(undefined, 'npm run bench:fanout'),
    ),
    row(
      'dashboard',
      BARS.dashboard,
      ms(dash?.p95Ms),
      dash ? dash.p95Ms < 4 : null,
      source(R('dashboard'), 'node dist/bench/dashboard/render.js'),
    ),
    row(
      'dashboard',
      BARS.bundle,
      dash?.bundleGzipBytes ? `${n(dash.bundleGzipBytes / 1024, 1)} KB` : '—',
      dash?.bundleGzipBytes ? dash.bundleGzipBytes < 150 * 1024 : null,
      dash ? 'same run' : '—',
    ),
    `| reliability | ${BARS.reliability} | asserted by the fault tests in \`test/\` (run by \`npm test\` in CI) | see tests | \`npm test\` |`,
    row(
      'single-item HTTP ingest',
      `${BARS.ingest}; primary event-loop p99 < 5 ms during it`,
      i256
        ? `${sp(i256.pulseboard.committedRequestsPerSec, 0, ' req/s')}, p99 ${sp(i256.pulseboard.p99Ms, 0, ' ms')}, event-loop p99 ${sp(i256.pulseboard.eventLoopDelayP99Ms, 1, ' ms')}${ingestHead ? ` (median of ${ingestHead.repeats})` : ''}; every acknowledged item in MySQL exactly once: ${i256.pulseboard.rowsMatch}`
        : '—',
      ingestHead
        ? ingestHead.barMet
        : i256
          ? i256.pulseboard.committedRequestsPerSec.median >= 30_000 &&
            i256.pulseboard.p99Ms.median < 50 &&
            i256.pulseboard.rowsMatch === true
          : null,
      source(R('ingest'), 'npm run bench:ingest'),
    ),
    row(
      'single-item HTTP ingest',
      BARS.ingestPeer,
      i256?.ratio
        ? `${sp(i256.ratio, 2, '×')} at 256 connections (hand-written: ${sp(i256.handWritten?.committedRequestsPerSec, 0, ' req/s')})`
        : '—',
      ingestHead ? ingestHead.verdicts.ratio : i256?.ratio ? i256.ratio.median >= 5 : null,
      i256 ? 'same run' : '—',
    ),
    streamBar(docs, notMeasured('stream ingest', BARS.stream)),
    ...alertBars(docs, notMeasured('alert rules', BARS.alerts)),
    ...clusterBars(docs, [notMeasured('cluster', BARS.cluster)]),
    wsThreadsBar(docs, notMeasured('fan-out threads', BARS.wsThreads)),
    '',
    ...missedBars(docs),
    '## The seed table',
    '',
    'The figures the earlier systems of this kind reported, measured here.',
    '',
    '| metric | value | conditions |',
    '| --- | --- | --- |',
    `| broadcast latency, 100 clients | p50 ${ms(f100?.latencyMs?.p50)}, p99 ${ms(f100?.latencyMs?.p99)} | ${source(R('fanout'), 'npm run bench:fanout')} |`,
    `| metrics computation (snapshot of 3 windows holding ${n(micro?.transactionsInWindows)} transactions) | ${micro ? `${n(micro.rows.find((r: any) => r.task.startsWith('snapshot'))?.meanUs, 1)} µs` : '—'} | ${source(R('micro'), 'npm run bench:micro')} — independent of the count: windows are pre-aggregated per second |`,
    `| memory, steady state (${n(mem?.tps)} tx/s, ${n(mem?.clients)} connections) | RSS ${mib(mem?.rssBytes)}, JS heap ${mib(mem?.heapUsedBytes)} | ${source(R('memory'), 'npm run bench:memory')} |`,
    `| DB write throughput, batch 100 | ${n(sweep?.results?.find((r: any) => r.batchSize === 100)?.committedPerSec)} rows/s | ${source(R('db-sweep'), 'npm run bench:db-sweep')} |`,
    `| client render, 5 m window (300 points drawn) | p95 ${ms(dash?.p95Ms5m)} | ${source(R('dashboard'), 'node dist/bench/dashboard/render.js')} |`,
    '',
  ];

  if (persisted?.runs) {
    lines.push(
      '## Persisted pipeline and the database ceiling',
      '',
      source(R('persisted'), ''),
      '',
      '| run | committed tx/s | lossless | CPU µs per row: Pulseboard | CPU µs per row: database server (its threads serving this run) | machine busy (cores) | ceiling rows/s | ceiling: database µs per row (its threads serving the ceiling) | persisted / ceiling |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    persisted.runs.forEach((r: any, i: number) => {
      const c = persisted.ceiling?.runs?.[i];
      lines.push(
        `| ${i + 1} | ${n(r.committedPerSec)} | ${r.lossless} | ${n(r.cpuUsPerRow?.process, 2)} | ${n(r.cpuUsPerRow?.server, 2)} (${n(r.cpuUsPerRow?.serverThreads, 2)}) | ${n(r.machineBusyCores, 2)} | ${n(c?.rowsPerSec)} | ${n(c?.cpuUsPerRow?.db, 2)} (${n(c?.cpuUsPerRow?.dbThreads, 2)}) | ${c ? n(r.committedPerSec / c.rowsPerSec, 2) : '—'} |`,
      );
    });
    lines.push('');
  }
  if (sweep?.results) {
    lines.push(
      '## Database writes by batch size',
      '',
      `${source(R('db-sweep'), '')}`,
      '',
      '| batch | rows/s | lossless |',
      '| --- | --- | --- |',
    );
    for (const r of sweep.results)
      lines.push(`| ${n(r.batchSize)} | ${n(r.committedPerSec)} | ${r.lossless} |`);
    lines.push('');
  }
  if (ingest?.runs) {
    lines.push(
      '## HTTP ingest',
      '',
      source(R('ingest'), ''),
      '',
      `| server | repeat | connections | items per request | committed requests/s | committed items/s | p50 | p99 | non-2xx + errors | acknowledged = in MySQL once | server CPU (cores) | database CPU (cores) | ${ingestClient(ingest)} CPU (cores) | machine busy (cores) | event-loop p99 |`,
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const r of ingest.runs)
      lines.push(
        `| ${r.target} | ${r.repeat} | ${n(r.connections)} | ${n(r.itemsPerRequest)} | ${n(r.committedRequestsPerSec)} | ${n(r.committedItemsPerSec)} | ${ms(r.latencyMs.p50)} | ${ms(r.latencyMs.p99)} | ${n(r.non2xx + r.errors + r.timeouts)} | ${r.rowsMatch} | ${n(r.serverCpuCores, 2)} | ${n(r.dbCpuCores, 2)} | ${n(r.loadGeneratorCpuCores, 2)} | ${n(r.machineBusyCores, 2)} | ${ms(r.eventLoopDelayP99Ms)} |`,
      );
    const ratios = (ingest.single ?? []).filter((x: any) => x.ratio);
    if (ratios.length > 0)
      lines.push(
        '',
        `Pulseboard ÷ hand-written, committed requests/s: ${ratios.map((x: any) => `${sp(x.ratio, 2, '×')} at ${n(x.connections)} connections`).join(', ')}.`,
      );
    lines.push('');
  }
  if (ramp) {
    lines.push(
      '## Ramp 10 → 50 → 100 → 1,000 → 10,000 → max tx/s',
      '',
      source(R('ramp'), ''),
      '',
      '![tx/s ramp with CPU and memory](docs/charts/ramp.svg)',
      '',
      '| target tx/s | achieved tx/s | CPU (cores, all threads) | RSS | writer lag (max) | event-loop p99 (max) |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const s of ramp.stages) {
      lines.push(
        `| ${s.targetTps === 'max' ? 'max' : n(s.targetTps)} | ${n(s.achievedTps)} | ${n(s.cpuCores, 2)} | ${n(s.rssMiB)} MiB | ${n(s.writerLagMax)} | ${ms(s.eventLoopDelayP99MsMax)} |`,
      );
    }
    lines.push('');
  }
  if (soak) {
    lines.push(
      '## Soak',
      '',
      source(R('soak'), ''),
      '',
      '![soak: RSS, heap and writer lag](docs/charts/soak.svg)',
      '',
      '| minutes | samples | RSS after warm-up → end | RSS drift | RSS slope | heap after a forced GC, after warm-up → end | its slope | completed | rows | lost | duplicates | gaps | clients connected at the end | delivery p99 |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      `| ${n(soak.minutes, 1)} | ${n(soak.samples)} | ${n(soak.rssWarmMiB, 1)} → ${n(soak.rssEndMiB, 1)} MiB | ${n(soak.rssDriftPercent, 1)} % | ${n(soak.rssSlopeMiBPerHour, 1)} MiB/h | ${n(soak.heapAfterGcWarmMiB, 2)} → ${n(soak.heapAfterGcEndMiB, 2)} MiB | ${n(soak.heapAfterGcSlopeMiBPerHour, 2)} MiB/h | ${n(soak.completed)} | ${n(soak.rowsInDb)} | ${n(soak.lost)} | ${n(soak.duplicates)} | ${n(soak.gaps)} | ${n(soak.clientsConnectedAtEnd)} of ${n(soak.clients)} | ${ms(soak.deliveryP99Ms)} |`,
      '',
    );
  }
  if (fan?.runs) {
    lines.push(
      '## Fan-out by client count',
      '',
      'One pass per WS_THREADS value and client count: the shape of the curve. With WS_THREADS > 1 the fan-out threads publish and the primary only serialises (its main-thread CPU and event-loop delay show what it kept). On this 2-core machine the swarm shares the cores with every server thread, so more threads cannot add cores here; ARCHITECTURE.md §3.12 says what to expect, and how to measure, with idle cores. The fan-out bar is measured against the bare uWS publisher over repeats in the peers run below.',
      '',
      source(R('fanout'), ''),
      '',
      '![delivery latency vs clients](docs/charts/latency-vs-clients.svg)',
      '',
      '| WS threads | clients | connected | messages/s | gaps | p50 | p95 | p99 | max | server CPU (cores) | CPU µs / message | server main thread (cores) | swarm CPU (cores) | machine busy (cores) | server RSS | event-loop p99 (primary) |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const r of fan.runs) {
      if (r.skipped) {
        lines.push(
          `| ${n(r.wsThreads ?? 1)} | ${n(r.clients)} | skipped: ${r.skipped} |${' — |'.repeat(13)}`,
        );
        continue;
      }
      lines.push(
        `| ${n(r.wsThreads ?? 1)} | ${n(r.clients)} | ${n(r.connected)} | ${n(r.messagesPerSec)} | ${n(r.gaps)} | ${ms(r.latencyMs.p50)} | ${ms(r.latencyMs.p95)} | ${ms(r.latencyMs.p99)} | ${ms(r.latencyMs.max)} | ${n(r.server?.cpuCores, 2)} | ${n(cpuUsPerMessage(r), 1)} | ${n(r.server?.mainThreadCpuCores, 2)} | ${n(r.swarm?.cpuCores, 2)} | ${n(r.machine?.busyCores, 2)} | ${mib(r.server?.rssBytes)} | ${ms(r.eventLoopDelayP99Ms)} |`,
      );
    }
    lines.push('');
  }
  if (peers?.summary) {
    lines.push(
      '## Peers, side by side',
      '',
      source(R('peers'), ''),
      '',
      '| server | clients | runs | connected (min) | messages/s | gaps (all runs) | p50 | p99 | server CPU (cores) | CPU µs / message (gross) | CPU µs / message (above no-client CPU) | main thread µs / message | memory per connection | swarm CPU (cores) | machine busy (cores) |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const [clients, byTarget] of Object.entries(peers.summary as Record<string, any>).sort(
      (a, b) => Number(b[0]) - Number(a[0]),
    )) {
      for (const [target, s] of Object.entries(byTarget as Record<string, any>)) {
        lines.push(
          `| ${peersLabel(peers, target)} | ${n(Number(clients))} | ${n(s.p99Ms?.values?.length)} | ${n(s.connectedMin)} | ${sp(s.messagesPerSec)} | ${n(s.gapsTotal)} | ${sp(s.p50Ms, 0, ' ms')} | ${sp(s.p99Ms, 0, ' ms')} | ${sp(s.cpuCores, 2)} | ${sp(s.cpuUsPerDeliveredMessage, 2)} | ${sp(s.marginalCpuUsPerDeliveredMessage, 2)} | ${sp(s.mainThreadCpuUsPerDeliveredMessage, 2)} | ${sp(s.memoryPerConnectionBytes, 0, ' B')} | ${sp(s.swarmCpuCores, 2)} | ${sp(s.machineBusyCores, 2)} |`,
        );
      }
    }
    const floor = peers.ratios?.floor ?? {};
    const floorText = Object.entries(floor as Record<string, any>)
      .sort((a, b) => Number(b[0]) - Number(a[0]))
      .map(
        ([c, f]) =>
          `at ${n(Number(c))} clients p99 ${sp(f.p99, 2, '×')}, CPU per message above no-client CPU ${sp(f.marginalCpuPerMessage, 2, '×')}, main-thread CPU per message ${sp(f.mainThreadCpuPerMessage, 2, '×')}`,
      );
    if (floorText.length > 0)
      lines.push('', `Pulseboard ÷ the bare uWS publisher, per repeat: ${floorText.join('; ')}.`);
    const threadsText = wsThreadsFloorText(peers);
    if (threadsText) lines.push('', threadsText);
    if (httpSum) {
      lines.push(
        '',
        `| HTTP GET /api/metrics | runs | req/s | p50 | p99 | errors (all runs) | server CPU (cores) | ${peersHttpClient(peers)} CPU (cores) | machine busy (cores) |`,
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      );
      for (const [target, h] of Object.entries(httpSum as Record<string, any>))
        lines.push(
          `| ${target} | ${n(h.reqPerSec?.values?.length)} | ${sp(h.reqPerSec)} | ${sp(h.p50Ms, 0, ' ms')} | ${sp(h.p99Ms, 0, ' ms')} | ${n(h.errors)} | ${sp(h.serverCpuCores, 2)} | ${sp(h.loadGeneratorCpuCores, 2)} | ${sp(h.machineBusyCores, 2)} |`,
        );
    }
    lines.push('');
  }
  lines.push(...streamSection(docs));
  lines.push(...alertSection(docs));
  lines.push(...clusterSection(docs));
  if (micro?.rows) {
    lines.push(
      '## Hot paths (micro-benchmarks)',
      '',
      source(R('micro'), ''),
      '',
      '| task | mean | p99 | per item | ops/s |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const r of micro.rows)
      lines.push(
        `| ${r.task} | ${n(r.meanUs, 2)} µs | ${n(r.p99Us, 2)} µs | ${n(r.nsPerItem, 1)} ns | ${n(r.opsPerSec)} |`,
      );
    lines.push('');
  }
  return lines.join('\n');
}

/**
 * Alert rules (issue 13): rows of the bars table and a section, present once their results
 * exist (bench/alerts/rule-evaluation.ts and latency.ts), so a checkout without them renders
 * as before.
 */
/** The stream-ingest bar: single-transaction messages, the shape a producer sends most. */
function streamBar(docs: Map<string, ResultDoc>, missing: string): string {
  const d = docs.get('stream');
  const one = d?.result?.byItems?.find((x: any) => x.itemsPerMessage === 1);
  if (!d || !one) return missing;
  const all = d.result.byItems as any[];
  const sim = d.result.simulatorPersisted?.committedPerSec;
  const measured = `${all.map((x) => `${sp(x.committedTxPerSec, 0, ' tx/s')} with ${n(x.itemsPerMessage)} per message`).join(', ')}; rows = distinct (source, ref) = published: ${all.every((x) => x.exactlyOnce)}${sim ? `; the simulator's persisted rate: ${sp(sim, 0, ' tx/s')}` : ''}`;
  const ok =
    med(one.committedTxPerSec) !== null && med(one.committedTxPerSec)! >= 50_000 && one.exactlyOnce;
  return `| stream ingest | ${BARS.stream} | ${measured} | ${verdict(ok)} | ${source(d, 'npm run bench:stream')} |`;
}

function streamSection(docs: Map<string, ResultDoc>): string[] {
  const d = docs.get('stream');
  if (!d) return [];
  const out = [
    '## Stream ingest (NATS JetStream)',
    '',
    source(d, ''),
    '',
    '| transactions per message | messages | committed tx/s | measured over | rows = distinct (source, ref) = published | redelivered | server CPU (cores) | database CPU (cores) | event-loop p99 |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of d.result.runs)
    out.push(
      `| ${n(r.itemsPerMessage)} | ${n(r.messages)} | ${n(r.committedTxPerSec)} | ${n(r.measuredSeconds, 2)} s | ${r.exactlyOnce} | ${n(r.redelivered)} | ${n(r.serverCpuCores, 2)} | ${n(r.dbCpuCores, 2)} | ${ms(r.eventLoopDelayP99Ms)} |`,
    );
  const sim = d.result.simulatorPersisted;
  if (sim?.committedPerSec)
    out.push(
      '',
      `For comparison, the simulator's persisted pipeline (bench/results/persisted.json, ${String(sim.at).slice(0, 16).replace('T', ' ')} UTC): ${sp(sim.committedPerSec, 0, ' tx/s')}. Stream ingest goes through the ingest thread's group commit (idempotency keys, INGEST_COMMITS_IN_FLIGHT commits at once), not the simulator's LOAD DATA writers.`,
    );
  out.push('');
  return out;
}

function alertBars(docs: Map<string, ResultDoc>, missing: string): string[] {
  const ev = docs.get('alert-rules');
  const lat = docs.get('alert-latency');
  const out: string[] = [];
  if (ev) {
    const r = ev.result;
    out.push(
      `| alert rules: evaluation per tick | 1,000 rules in < 1 ms | ${n(r.tickUs, 1)} µs for ${n(r.rules)} rules (${n(r.series)} series), ${n(r.nsPerRulePerTick, 1)} ns per rule; on the primary (a worker round trip: ${n(r.worker.roundTripUs.mean, 1)} µs) | ${verdict(r.rules >= 1000 && r.tickUs < 1000)} | ${source(ev, 'npm run bench:alerts-eval')} |`,
    );
  }
  if (lat) {
    const r = lat.result;
    out.push(
      `| alert rules: condition → WebSocket event | within one tick (${n(r.tickMs)} ms) after \`for\` elapses | max ${ms(r.wsAfterForMs.max)}, median ${ms(r.wsAfterForMs.p50)} after \`for\` (Alertmanager push: max ${ms(r.amAfterForMs.max)}) | ${verdict(r.withinOneTick)} | ${source(lat, 'npm run bench:alerts-latency')} |`,
    );
  }
  return out.length > 0 ? out : [missing];
}

function alertSection(docs: Map<string, ResultDoc>): string[] {
  const ev = docs.get('alert-rules');
  const lat = docs.get('alert-latency');
  if (!ev && !lat) return [];
  const out = ['## Alert rules', ''];
  if (ev) {
    const r = ev.result;
    out.push(
      source(ev, ''),
      '',
      '| task | mean | p99 | per rule |',
      '| --- | --- | --- | --- |',
      ...r.rows.map(
        (x: any) =>
          `| ${x.task} | ${n(x.meanUs, 2)} µs | ${n(x.p99Us, 2)} µs | ${n(x.nsPerRule, 1)} ns |`,
      ),
      `| the same evaluation on a worker thread (post values, await events) | ${n(r.worker.roundTripUs.mean, 2)} µs | ${n(r.worker.roundTripUs.p99, 2)} µs | — |`,
      '',
      `Decision: ${r.decision}.`,
      '',
    );
  }
  if (lat) {
    const r = lat.result;
    out.push(
      source(lat, ''),
      '',
      '| from the condition (scenario started) | median | max |',
      '| --- | --- | --- |',
      `| condition first seen by a tick (\`activeAt\`) | ${ms(r.detectMs.p50)} | ${ms(r.detectMs.max)} |`,
      `| \`for\` elapsed → firing evaluated (server clock) | ${ms(r.fireLagMs.p50)} | ${ms(r.fireLagMs.max)} |`,
      `| \`for\` elapsed → WebSocket client has the event | ${ms(r.wsAfterForMs.p50)} | ${ms(r.wsAfterForMs.max)} |`,
      `| \`for\` elapsed → Alertmanager endpoint has the alert | ${ms(r.amAfterForMs.p50)} | ${ms(r.amAfterForMs.max)} |`,
      '',
      `Rules are evaluated on every tick's snapshot, so a condition is first seen up to one tick (${n(r.tickMs)} ms) after it begins and fires in the tick in which \`for\` has passed since then; Prometheus, for comparison, scrapes and evaluates every 15 s to 1 min.`,
      '',
    );
  }
  return out;
}

/**
 * For every bar the results miss, what stops it — stated from the same result files (CPU
 * split, client counts, soak samples), so the explanation moves with the figures.

/**
 * For every bar the results miss, what was measured around it — every number read from the
 * same result files (CPU of each side, the floor, the samples' slopes), no sentence that a
 * result does not back.
 */
function missedBars(docs: Map<string, ResultDoc>): string[] {
  const r = (k: string) => docs.get(k)?.result;
  const out: string[] = [];

  const persisted = r('persisted');
  const committed = toSpread(persisted?.committedPerSec);
  const ofCeiling = toSpread(persisted?.ofCeiling);
  if (committed && (committed.median < 1e5 || (ofCeiling && ofCeiling.median < 0.6))) {
    const c = persisted.ceiling;
    out.push(
      `- **Persisted pipeline (${sp(committed, 0, ' tx/s')}${ofCeiling ? `, ${sp(ofCeiling, 2)} of the ceiling` : ''}).** Per committed row, Pulseboard's process used ${sp(persisted.cpuUsPerRow?.process, 2, ' µs')} and the database server ${sp(persisted.cpuUsPerRow?.server, 2, ' µs')} of CPU; the machine's ${n(docs.get('persisted')?.machine.cores)} cores were ${sp(persisted.machineBusyCores, 2)} busy during the runs.${c ? ` The bare LOAD DATA of the same rows reached ${sp(c.rowsPerSec, 0, ' rows/s')}, at ${sp(c.dbCpuUsPerRow, 2, ' µs')} of database CPU per row (its client ${sp(c.clientCpuUsPerRow, 2, ' µs')}), with the machine ${sp(c.machineBusyCores, 2)} cores busy.` : ''}`,
    );
  }

  const peers = r('peers');
  const fanoutMiss = (c: number | undefined) => {
    const s = c === undefined ? undefined : peers?.summary?.[c];
    const ratio = c === undefined ? null : toSpread(peers?.ratios?.floor?.[c]?.p99);
    if (!s?.pulseboard || !s?.uws || !ratio) return;
    if (ratio.median <= 1.25 && s.pulseboard.gapsTotal === 0) return;
    const side = (x: any) =>
      `server ${sp(x.cpuCores, 2)} cores, swarm ${sp(x.swarmCpuCores, 2)} cores, machine ${sp(x.machineBusyCores, 2)} cores busy`;
    out.push(
      `- **Fan-out, ${n(c)} clients (p99 ${sp(s.pulseboard.p99Ms, 0, ' ms')}, ${sp(ratio, 2, '×')} the bare uWS publisher's ${sp(s.uws.p99Ms, 0, ' ms')}; gaps ${n(s.pulseboard.gapsTotal)}).** During Pulseboard's spans: ${side(s.pulseboard)}; during the bare publisher's: ${side(s.uws)}. Pulseboard's CPU per delivered message above its no-client CPU was ${sp(peers.ratios.floor[c!].marginalCpuPerMessage, 2, '×')} the bare publisher's.`,
    );
  };
  fanoutMiss(peers?.clients);
  fanoutMiss(peers?.floorClients);

  const big = peers?.summary?.[peers?.clients];
  const loop = toSpread(big?.pulseboard?.eventLoopDelayP99Ms);
  if (loop && loop.median >= 5) {
    out.push(
      `- **Event-loop delay at full load (p99 ${sp(loop, 1, ' ms')}, ${n(peers.clients)} clients, pipeline ${n(peers.pipelineTps)} tx/s).** In those runs the server's main thread used ${sp(big.pulseboard.mainThreadCpuCores, 2)} cores, the whole server ${sp(big.pulseboard.cpuCores, 2)}, the swarm ${sp(big.pulseboard.swarmCpuCores, 2)}, and the machine was ${sp(big.pulseboard.machineBusyCores, 2)} cores busy.`,
    );
  }

  for (const [k, name] of [
    ['ws', 'ws'],
    ['socketio', 'Socket.IO'],
  ] as const) {
    const cpu = toSpread(peers?.ratios?.vsPeers?.[k]?.marginalCpuPerMessage);
    // (peer ÷ Pulseboard) ÷ (uWS ÷ Pulseboard) per repeat = peer ÷ the bare uWS publisher.
    const floorVs = pairedQuotient(
      peers?.ratios?.vsPeers?.[k]?.marginalCpuPerMessage?.values,
      peers?.ratios?.vsPeers?.uws?.marginalCpuPerMessage?.values,
    );
    const memory = toSpread(peers?.ratios?.vsPeers?.[k]?.memoryPerConnection);
    const ours = big?.pulseboard;
    const them = big?.[k];
    const uws = big?.uws;
    if (cpu && cpu.median < 2) {
      out.push(
        `- **CPU per message against ${name} (${sp(cpu, 2, '×')}, goal 2×).** Above each server's CPU with no clients, per delivered message: Pulseboard ${sp(ours?.marginalCpuUsPerDeliveredMessage, 2, ' µs')}, ${name} ${sp(them?.marginalCpuUsPerDeliveredMessage, 2, ' µs')}, the bare uWS publisher ${sp(uws?.marginalCpuUsPerDeliveredMessage, 2, ' µs')}; main thread alone: ${sp(ours?.mainThreadCpuUsPerDeliveredMessage, 2, ' µs')}, ${sp(them?.mainThreadCpuUsPerDeliveredMessage, 2, ' µs')} and ${sp(uws?.mainThreadCpuUsPerDeliveredMessage, 2, ' µs')}.${floorVs ? ` The bare uWS publisher's own ratio against ${name}, per repeat in the same runs: ${sp(floorVs, 2, '×')}.` : ''}`,
      );
    }
    if (memory && memory.median < 5) {
      out.push(
        `- **Memory per connection against ${name} (${sp(memory, 1, '×')}, goal 5×).** Pulseboard ${sp(ours?.memoryPerConnectionBytes, 0, ' B')}, ${name} ${sp(them?.memoryPerConnectionBytes, 0, ' B')}, the bare uWS publisher ${sp(uws?.memoryPerConnectionBytes, 0, ' B')} per connection.`,
      );
    }
  }
  const http = toSpread(peers?.ratios?.fastifyReqPerSec);
  if (http && http.median < 2) {
    const h = peers.httpSummary;
    out.push(
      `- **GET /api/metrics against Fastify (${sp(http, 2, '×')}: ${sp(h?.pulseboard?.reqPerSec)} vs ${sp(h?.fastify?.reqPerSec)} req/s).** During Pulseboard's runs the server used ${sp(h?.pulseboard?.serverCpuCores, 2)} cores and ${peersHttpClient(peers) === 'autocannon' ? 'autocannon' : 'the load client'} ${sp(h?.pulseboard?.loadGeneratorCpuCores, 2)}, with the machine ${sp(h?.pulseboard?.machineBusyCores, 2)} cores busy; during Fastify's, ${sp(h?.fastify?.serverCpuCores, 2)}, ${sp(h?.fastify?.loadGeneratorCpuCores, 2)} and ${sp(h?.fastify?.machineBusyCores, 2)}. p50 ${sp(h?.pulseboard?.p50Ms, 0, ' ms')} against ${sp(h?.fastify?.p50Ms, 0, ' ms')}.`,
    );
  }

  const soak = r('soak');
  if (soak && (Math.abs(soak.rssDriftPercent) > 5 || soak.minutes < 30)) {
    out.push(
      `- **Soak (RSS ${n(soak.rssDriftPercent, 1)} % from ${n(soak.rssWarmMiB, 1)} to ${n(soak.rssEndMiB, 1)} MiB over ${n(soak.minutes)} min, drift measured from ${n(soak.warmupSeconds)} s).** Least-squares slopes over the samples after warm-up: RSS ${n(soak.rssSlopeMiBPerHour, 1)} MiB/h, the primary's heap after a forced full GC ${n(soak.heapAfterGcSlopeMiBPerHour, 2)} MiB/h (from ${n(soak.heapAfterGcWarmMiB, 2)} to ${n(soak.heapAfterGcEndMiB, 2)} MiB). Clients connected at the end: ${n(soak.clientsConnectedAtEnd)} of ${n(soak.clients)}. Nothing was lost: ${n(soak.completed)} completed, ${n(soak.rowsInDb)} rows, ${n(soak.duplicates)} duplicates, ${n(soak.gaps)} sequence gaps.`,
    );
  }

  const dash = r('dashboard');
  if (dash && dash.p95Ms >= 4) {
    out.push(
      `- **Dashboard render (p95 ${ms(dash.p95Ms)} over ${n(dash.updates)} updates; p50 ${ms(dash.p50Ms)}, max ${ms(dash.maxMs)}).**${dash.scriptP95Ms === undefined ? '' : ` The time is the whole update frame, from the update's animation-frame callback to the first task after the frame has rendered (a new second's three charts are redrawn one per frame, in the frames after the one that updates the KPI cards, so each redraw is an update of its own); its script part alone: p95 ${ms(dash.scriptP95Ms)}, p50 ${ms(dash.scriptP50Ms)}. The 5 m window: p95 ${ms(dash.p95Ms5m)}.`}`,
    );
  }

  const i256 = r('ingest')?.single?.find((x: any) => x.connections === 256);
  if (i256) {
    const o = i256.pulseboard;
    const missRate = o.committedRequestsPerSec.median < 30_000 || o.p99Ms.median >= 50;
    const missPeer = i256.ratio && i256.ratio.median < 5;
    if (missRate || missPeer) {
      const run = (r('ingest')?.runs ?? []).filter(
        (x: any) => x.target === 'pulseboard' && x.connections === 256 && x.itemsPerRequest === 1,
      );
      out.push(
        `- **Single-item ingest at 256 connections (${sp(o.committedRequestsPerSec, 0, ' req/s')}, p99 ${sp(o.p99Ms, 0, ' ms')}${i256.ratio ? `, ${sp(i256.ratio, 2, '×')} the hand-written endpoint` : ''}).** During the run: Pulseboard ${sp(o.serverCpuCores, 2)} cores, the database ${sp(o.dbCpuCores, 2)}, ${ingestClient(r('ingest'))} ${sp(o.loadGeneratorCpuCores, 2)}${o.loadGeneratorCpuUsPerRequest ? ` (${sp(o.loadGeneratorCpuUsPerRequest, 1, ' µs')} per request)` : ''}, the machine ${sp(o.machineBusyCores, 2)} cores busy; CPU per committed item: Pulseboard ${sp(looseSpread(run.map((x: any) => x.cpuUsPerItem?.server)), 1, ' µs')}, the database ${sp(looseSpread(run.map((x: any) => x.cpuUsPerItem?.db)), 1, ' µs')}.`,
      );
    }
  }
  const lat = r('alert-latency');
  if (lat && !lat.withinOneTick) {
    out.push(
      `- **Alert event after \`for\` (max ${ms(lat.wsAfterForMs.max)}, tick ${n(lat.tickMs)} ms).** In the same runs: the condition was first seen by a tick at most ${ms(lat.detectMs.max)} after it began, and the firing was evaluated at most ${ms(lat.fireLagMs.max)} after \`for\` had passed since then (server clock).`,
    );
  }
  out.push(...clusterMissed(docs));
  out.push(...wsThreadsMissed(docs));
  if (out.length === 0) return [];
  return ['### Where a bar is missed: what was measured', '', ...out, ''];
}

/** a[i] ÷ b[i] over paired per-repeat values read from a result file, as a spread; null if absent. */
function pairedQuotient(a: unknown, b: unknown): Spread | null {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return null;
  return looseSpread(a.map((x, i) => (typeof x === 'number' && b[i] > 0 ? x / b[i] : null)));
}

/** A spread of values read from result files, nulls dropped. */
const looseSpread = (values: unknown[]): Spread | null =>
  spread(values.filter((x): x is number => typeof x === 'number'));

export function charts(docs: Map<string, ResultDoc>): void {
  mkdirSync(CHARTS, { recursive: true });
  const fan = docs.get('fanout')?.result;
  if (fan?.runs?.length) {
    const pts = (f: 'p50' | 'p95' | 'p99') =>
      fan.runs
        .filter((r: any) => oneThread(r) && r.latencyMs)
        .map((r: any) => [r.clients, r.latencyMs[f]] as [number, number]);
    writeFileSync(
      `${CHARTS}latency-vs-clients.svg`,
      lineChart({
        title: 'Delivery latency vs clients (metrics topic, 2 updates/s)',
        xLabel: 'WebSocket clients (log scale)',
        yLabel: 'latency, ms',
        logX: true,
        series: [
          { name: 'p50', points: pts('p50'), color: '#2563eb' },
          { name: 'p95', points: pts('p95'), color: '#f59e0b' },
          { name: 'p99', points: pts('p99'), color: '#dc2626' },
        ],
      }),
    );
  }
  const ramp = docs.get('ramp')?.result;
  if (ramp?.stages?.length) {
    const cats = ramp.stages.map((s: any) => String(s.targetTps));
    writeFileSync(
      `${CHARTS}ramp.svg`,
      lineChart({
        title: 'Ramp: achieved tx/s, CPU and memory per stage',
        xLabel: 'target tx/s',
        yLabel: 'achieved tx/s',
        yRightLabel: 'CPU (cores ×100) / RSS (MiB)',
        xCategories: cats,
        series: [
          {
            name: 'achieved tx/s',
            points: ramp.stages.map((s: any, i: number) => [i, s.achievedTps]),
            color: '#2563eb',
          },
          {
            name: 'CPU ×100',
            points: ramp.stages.map((s: any, i: number) => [i, s.cpuCores * 100]),
            color: '#dc2626',
            right: true,
          },
          {
            name: 'RSS MiB',
            points: ramp.stages.map((s: any, i: number) => [i, s.rssMiB]),
            color: '#16a34a',
            right: true,
          },
        ],
      }),
    );
  }
}

/**
 * The figures ARCHITECTURE.md quotes, by key. There they stand between markers,
 * `<!--fig:KEY-->value<!--/fig-->`, and are rewritten from the same results as this page,
 * so the article can never quote a number BENCHMARKS.md does not show.
 */
export function figures(docs: Map<string, ResultDoc>): Record<string, string> {
  const r = (k: string) => docs.get(k)?.result;
  const fanRun = (c: number) =>
    r('fanout')?.runs?.find((x: any) => x.clients === c && oneThread(x));
  const peers = r('peers');
  const vs = (k: string, f: string) => med(peers?.ratios?.vsPeers?.[k]?.[f]);
  const snapshotUs = r('micro')?.rows?.find((x: any) => x.task.startsWith('snapshot'))?.meanUs;
  const sweep = (b: number) =>
    r('db-sweep')?.results?.find((x: any) => x.batchSize === b)?.committedPerSec;
  const unit = (v: number | undefined | null, u: string, digits = 0) =>
    v === undefined || v === null ? '—' : `${n(v, digits)} ${u}`;
  const ingest = r('ingest');
  const single = (c: number) => ingest?.single?.find((x: any) => x.connections === c);
  const batched = (b: number) => ingest?.batched?.find((x: any) => x.itemsPerRequest === b);
  // Fan-out by WS_THREADS (bench/ws-swarm/fanout.ts --ws-threads 1,2).
  const fanK: Record<string, string> = {};
  for (const k of [1, 2]) {
    for (const c of [1000, 10000, 20000]) {
      const row = r('fanout')?.runs?.find((x: any) => x.clients === c && (x.wsThreads ?? 1) === k);
      fanK[`fanout-k${k}-${c}-p99`] = ms(row?.latencyMs?.p99);
      fanK[`fanout-k${k}-${c}-cpu`] = unit(cpuUsPerMessage(row), 'µs', 1);
      fanK[`fanout-k${k}-${c}-loop`] = ms(row?.eventLoopDelayP99Ms);
    }
  }
  const handoff = (mode: string) => r('fanout-handoff')?.runs?.find((x: any) => x.mode === mode);
  const streamRun = (i: number) => r('stream')?.byItems?.find((x: any) => x.itemsPerMessage === i);
  return {
    ...fanK,
    ...clusterFigures(docs),
    'uws-floor-p99-1000': ms(med(peers?.summary?.[1000]?.uws?.p99Ms)),
    'handoff-post-primary': unit(handoff('post')?.primaryUsPerTick?.p50, 'µs', 1),
    'handoff-post-delivery': unit(handoff('post')?.deliveryUs?.p50, 'µs', 1),
    'handoff-sab-primary': unit(handoff('sab')?.primaryUsPerTick?.p50, 'µs', 1),
    'handoff-sab-delivery': unit(handoff('sab')?.deliveryUs?.p50, 'µs', 1),
    'pipeline-off': unit(r('pipeline-off')?.txPerSec, 'tx/s'),
    persisted: unit(med(r('persisted')?.committedPerSec), 'tx/s'),
    'persisted-of-ceiling': unit(med(r('persisted')?.ofCeiling), '×', 2),
    'db-batch-100': unit(sweep(100), 'rows/s'),
    'db-batch-1000': unit(sweep(1000), 'rows/s'),
    'db-batch-5000': unit(sweep(5000), 'rows/s'),
    'fanout-100-p99': ms(fanRun(100)?.latencyMs?.p99),
    'fanout-1000-p99': ms(fanRun(1000)?.latencyMs?.p99),
    'fanout-10000-p99': ms(fanRun(10000)?.latencyMs?.p99),
    'fanout-10000-gaps': n(fanRun(10000)?.gaps),
    'fanout-floor-ratio-10000': unit(med(peers?.ratios?.floor?.[10000]?.p99), '×', 2),
    'fanout-floor-ratio-1000': unit(med(peers?.ratios?.floor?.[1000]?.p99), '×', 2),
    'uws-floor-p99-10000': ms(med(peers?.summary?.[10000]?.uws?.p99Ms)),
    'loop-p99-10000': ms(med(peers?.summary?.[10000]?.pulseboard?.eventLoopDelayP99Ms)),
    'idle-bytes-per-connection': unit(r('fanout')?.idle?.bytesPerConnection, 'B'),
    'peers-ws-cpu': unit(vs('ws', 'marginalCpuPerMessage'), '×', 2),
    'peers-socketio-cpu': unit(vs('socketio', 'marginalCpuPerMessage'), '×', 2),
    'peers-ws-memory': unit(vs('ws', 'memoryPerConnection'), '×', 1),
    'peers-socketio-memory': unit(vs('socketio', 'memoryPerConnection'), '×', 1),
    'peers-fastify-http': unit(med(peers?.ratios?.fastifyReqPerSec), '×', 2),
    'snapshot-us': snapshotUs === undefined ? '—' : `${n(snapshotUs, 1)} µs`,
    'ingest-1000': unit(med(batched(1000)?.pulseboard?.committedItemsPerSec), 'tx/s'),
    'ingest-single-256': unit(med(single(256)?.pulseboard?.committedRequestsPerSec), 'requests/s'),
    'ingest-hand-written-ratio': unit(med(single(256)?.ratio), '×', 2),
    'stream-1': unit(med(streamRun(1)?.committedTxPerSec), 'tx/s'),
    'stream-100': unit(med(streamRun(100)?.committedTxPerSec), 'tx/s'),
    'dashboard-p95': ms(r('dashboard')?.p95Ms),
    'dashboard-bundle': r('dashboard')?.bundleGzipBytes
      ? `${n(r('dashboard').bundleGzipBytes / 1024, 1)} KB`
      : '—',
    'soak-drift': r('soak') ? `${n(r('soak').rssDriftPercent, 1)} %` : '—',
    'soak-heap-slope': unit(r('soak')?.heapAfterGcSlopeMiBPerHour, 'MiB/h', 2),
    'alert-eval-tick': unit(r('alert-rules')?.tickUs, 'µs', 1),
    'alert-eval-rules': n(r('alert-rules')?.rules),
    'alert-eval-worker': unit(r('alert-rules')?.worker?.roundTripUs?.mean, 'µs', 1),
    'alert-ws-after-for': ms(r('alert-latency')?.wsAfterForMs?.max),
  };
}

export function fillFigures(text: string, values: Record<string, string>): string {
  return text.replace(/<!--fig:([a-z0-9-]+)-->(.*?)<!--\/fig-->/g, (_m, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`ARCHITECTURE.md quotes an unknown figure "${key}"`);
    return `<!--fig:${key}-->${value}<!--/fig-->`;
  });
}
