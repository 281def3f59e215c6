import { mkdirSync, writeFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import type { MetricsSnapshot } from '../../src/metrics/snapshot-types.js';
import { benchArgs } from '../lib/cli-args.js';
import { progress, RESULTS_DIR, sleep, writeResult } from '../lib/results.js';
import { GC_NODE_ARGS, startServer } from '../lib/server-process.js';
import { round, slope } from '../lib/stats.js';
import { lineChart } from '../report/svg-chart.js';
import { cpuShare, sampleProc } from '../ws-swarm/proc-stats.js';
import { runSwarm } from '../ws-swarm/swarm.js';

/**
 * `npm run soak`: N minutes (default 30) at a steady load — default 10,000 tx/s with
 * persistence on and 1,000 dashboard clients — sampling RSS, JS heap, CPU, event-loop
 * delay and writer lag every 10 s into bench/results/soak.csv and docs/charts/soak.svg.
 * At the end the simulator is stopped, in-flight transactions finish, the writers catch
 * up, and rows in MySQL are compared with the completed count (lost = completed − rows).
 * RSS drift compares the last sample with the first one after warm-up (2 min, or 20 %
 * of a shorter run).
 *
 * Leak check: the server alone runs with the bench's forced-GC hook (node --expose-gc and
 * bench/lib/gc-hook.ts, not in the server's code). At each sample it collects its primary's
 * heap fully and reports heapUsed right after: what survives a full GC is what is still
 * referenced. The slope of a least-squares line through those samples after warm-up, in
 * MiB per hour, is the leak rate (0 = none); RSS gets the same fit.
 *
 *   node dist/bench/soak/soak.js [--minutes 30] [--tps 10000] [--clients 1000]
 */

const DATABASE = 'pulseboard_soak';
const SAMPLE_S = 10;

const flags = benchArgs({
  command: 'node dist/bench/soak/soak.js',
  about:
    'Minutes at a steady persisted load with dashboard clients, sampling RSS, heap after a forced GC, CPU, event-loop delay and writer lag every 10 s; rows in MySQL against the completed count at the end. Writes bench/results/soak.csv and soak.json.',
  flags: {
    minutes: { type: 'number', default: '30', help: 'length of the soak' },
    tps: { type: 'number', default: '10000', help: 'simulator transactions/s' },
    clients: { type: 'number', default: '1000', help: 'dashboard WebSocket clients' },
  },
});

async function main(): Promise<void> {
  const { minutes, tps, clients } = flags;
  const admin = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  await admin.query(`DROP DATABASE IF EXISTS \`${DATABASE}\``);
  const server = await startServer(
    ['--sim-tps', String(tps), '--persistence', 'required', '--mysql-database', DATABASE],
    {},
    { nodeArgs: GC_NODE_ARGS },
  );
  const pid = server.proc.pid!;
  const metrics = async () =>
    (await (await fetch(`${server.url}/api/metrics`)).json()) as MetricsSnapshot;
  const heap = async () =>
    Number(
      /^nodejs_heap_size_used_bytes (\d+)/m.exec(
        await (await fetch(`${server.url}/metrics`)).text(),
      )?.[1] ?? 0,
    );

  progress(
    `soak: ${minutes} min at ${tps} tx/s, persistence on, ${clients} clients; a sample every ${SAMPLE_S} s`,
  );
  const swarm = runSwarm({
    url: `${server.wsUrl}?topics=metrics,tx`,
    clients,
    processes: 1,
    rampPerSecond: 1000,
    seconds: minutes * 60 - 15,
    quiet: true,
  });
  const samples: {
    t: number;
    rssMiB: number;
    heapMiB: number;
    heapAfterGcMiB: number | null;
    cpuCores: number;
    loopP99Ms: number;
    writerLag: number;
    tps: number;
  }[] = [];
  const start = Date.now();
  let prev = sampleProc(pid);
  while (Date.now() - start < minutes * 60_000) {
    await sleep(SAMPLE_S * 1000);
    const p = sampleProc(pid);
    const m = await metrics();
    const heapNow = await heap();
    // After the RSS, CPU and loop readings: the forced collection must not disturb them.
    const gc = await server.gc();
    const s = {
      t: Math.round((Date.now() - start) / 1000),
      rssMiB: Math.round((p.rssBytes / 2 ** 20) * 10) / 10,
      heapMiB: Math.round((heapNow / 2 ** 20) * 10) / 10,
      heapAfterGcMiB: gc === null ? null : Math.round((gc.heapUsedBytes / 2 ** 20) * 1000) / 1000,
      cpuCores: Math.round(cpuShare(prev, p) * 100) / 100,
      loopP99Ms: m.pipeline.eventLoopDelayP99Ms,
      writerLag: m.pipeline.writerLag,
      tps: m.tpsSmoothed,
    };
    prev = p;
    samples.push(s);
    progress(
      `  ${String(s.t).padStart(5)} s  RSS ${s.rssMiB} MiB, heap ${s.heapMiB} MiB (${s.heapAfterGcMiB} after GC), CPU ${s.cpuCores}, loop p99 ${s.loopP99Ms} ms, lag ${s.writerLag}, ${s.tps} tx/s`,
    );
  }
  const fan = await swarm;
  // Drain: stop generating, let in-flight transactions finish and the writers catch up.
  await fetch(`${server.url}/api/load-test`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"tps":0}',
  });
  let m = await metrics();
  for (
    let i = 0;
    i < 120 && (m.inFlight.pending + m.inFlight.processing > 0 || m.pipeline.writerLag > 0);
    i++
  ) {
    await sleep(1000);
    m = await metrics();
  }
  const completed = m.pipeline.completed;
  await server.stop();
  const [rows] = await admin.query(
    `SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM \`${DATABASE}\`.transactions`,
  );
  const { n: inDb, d: distinct } = (rows as { n: number; d: number }[])[0]!;
  await admin.query(`DROP DATABASE IF EXISTS \`${DATABASE}\``);
  await admin.end();

  const warmupSeconds = Math.min(120, minutes * 12);
  const warm = samples.find((s) => s.t >= warmupSeconds) ?? samples[0]!;
  const last = samples.at(-1)!;
  const after = samples.filter((s) => s.t >= warmupSeconds);
  const gcd = after.filter((s) => s.heapAfterGcMiB !== null);
  const perHour = (v: number | null) => (v === null ? null : round(v * 3600, 3));
  const heapSlope = perHour(
    slope(
      gcd.map((s) => s.t),
      gcd.map((s) => s.heapAfterGcMiB!),
    ),
  );
  const rssSlope = perHour(
    slope(
      after.map((s) => s.t),
      after.map((s) => s.rssMiB),
    ),
  );
  const result = {
    minutes,
    tps,
    clients,
    samples: samples.length,
    rssWarmMiB: warm.rssMiB,
    rssEndMiB: last.rssMiB,
    rssDriftPercent: Math.round(((last.rssMiB - warm.rssMiB) / warm.rssMiB) * 1000) / 10,
    warmupSeconds,
    /** Least-squares slopes over the samples after warm-up, MiB per hour. */
    rssSlopeMiBPerHour: rssSlope,
    heapAfterGcSlopeMiBPerHour: heapSlope,
    heapAfterGcWarmMiB: gcd[0]?.heapAfterGcMiB ?? null,
    heapAfterGcEndMiB: gcd.at(-1)?.heapAfterGcMiB ?? null,
    heapAfterGcSamples: gcd.length,
    completed,
    rowsInDb: Number(inDb),
    duplicates: Number(inDb) - Number(distinct),
    lost: completed - Number(distinct),
    gaps: fan.gaps,
    deliveryP99Ms: fan.latencyMs.p99,
    clientsConnectedAtEnd: fan.connected,
    clientsClosedDuringRun: fan.closedDuringRun,
    clientsFailed: fan.failedConnections,
  };
  const csv = [
    't_s,rss_mib,heap_mib,cpu_cores,loop_p99_ms,writer_lag,tps,heap_after_gc_mib',
    ...samples.map(
      (s) =>
        `${s.t},${s.rssMiB},${s.heapMiB},${s.cpuCores},${s.loopP99Ms},${s.writerLag},${s.tps},${s.heapAfterGcMiB ?? ''}`,
    ),
  ];
  mkdirSync(new URL('../../../docs/charts/', import.meta.url), { recursive: true });
  writeFileSync(`${RESULTS_DIR}soak.csv`, `${csv.join('\n')}\n`);
  writeFileSync(
    new URL('../../../docs/charts/soak.svg', import.meta.url),
    lineChart({
      title: `Soak: ${minutes} min at ${tps} tx/s, ${clients} clients`,
      xLabel: 'seconds',
      yLabel: 'MiB',
      yRightLabel: 'writer lag',
      series: [
        { name: 'RSS MiB', points: samples.map((s) => [s.t, s.rssMiB]), color: '#2563eb' },
        { name: 'heap MiB', points: samples.map((s) => [s.t, s.heapMiB]), color: '#16a34a' },
        {
          name: 'heap after GC MiB',
          points: samples
            .filter((s) => s.heapAfterGcMiB !== null)
            .map((s) => [s.t, s.heapAfterGcMiB!]),
          color: '#9333ea',
        },
        {
          name: 'writer lag',
          points: samples.map((s) => [s.t, s.writerLag]),
          color: '#dc2626',
          right: true,
        },
      ],
    }),
  );
  writeResult(
    'soak',
    `node dist/bench/soak/soak.js --minutes ${minutes} --tps ${tps} --clients ${clients}`,
    `${tps} tx/s simulated with persistence on (MariaDB on the same machine), ${clients} WebSocket clients on metrics and tx, sampled every ${SAMPLE_S} s; at each sample a forced full GC of the server's primary (bench-only hook: node --expose-gc --import bench/lib/gc-hook) and its heapUsed right after; RSS drift = last sample vs the first after ${warmupSeconds} s of warm-up; slopes = least-squares fit over the samples after warm-up`,
    result,
  );
  progress(JSON.stringify(result, null, 2));
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
