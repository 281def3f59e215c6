import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { runSwarm, type SwarmResult } from '../bench/ws-swarm/swarm.js';
import { startServer } from './helpers/server.js';
import { getJson, waitFor } from './helpers/wait-for.js';
import { TestClient } from './helpers/ws-client.js';
import { WS_THREAD_COUNTS, wsThreadsArgs } from './helpers/ws-threads.js';

/**
 * Fault (d): clients that never read. The same swarm of reading clients is measured twice,
 * without and then with a never-reading client joining every 2 s (subscribed to the heavy
 * `tx` feed). Each never-reader must be dropped and counted (snapshot
 * pipeline.wsSlowConsumersDropped and /metrics), and the readers' p99 delivery latency must
 * stay within 10 % of the run without them — plus an absolute slack, because this 2-core
 * machine is shared and noisy (the timing bar proper belongs to the benchmarks).
 */

const SECONDS = Number(process.env.FAULT_SLOW_SECONDS ?? 6);
const READERS = 200;
// Absolute slack on top of the 10 %: the machine is shared; the strict bar is in the benchmarks.
const SLACK_MS = Number(process.env.FAULT_SLOW_SLACK_MS ?? 50);

/** A WebSocket client that completes the upgrade and then never reads another byte. */
function neverReader(port: number, path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.on('connect', () => {
      s.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    s.once('data', (d) => {
      if (!d.toString('latin1').startsWith('HTTP/1.1 101')) reject(new Error('upgrade refused'));
      s.pause(); // from here on, never read
      resolve(s);
    });
    s.on('error', () => {});
  });
}

function fmt(r: SwarmResult): string {
  const l = r.latencyMs;
  return `${r.connected} readers, ${r.messagesPerSec} msg/s, ${r.gaps} gaps, p50 ${l.p50} / p95 ${l.p95} / p99 ${l.p99} / max ${l.max} ms`;
}

for (const threads of WS_THREAD_COUNTS)
  t.test(
    `a client that never reads is dropped, counted, and slows no one (WS_THREADS=${threads})`,
    async (t) => {
      const server = await startServer([
        ...wsThreadsArgs(threads),
        '--sim-tps',
        '2000',
        '--shards',
        '1',
        '--tick-ms',
        '100',
        '--feed-per-tick',
        '500',
        '--ws-max-backpressure',
        '262144',
      ]);
      t.teardown(() => server.stop());
      // One reading `tx` subscriber in both runs, so the tx feed is encoded in both.
      const feed = await TestClient.connect(`${server.wsUrl}?topics=tx`);
      t.teardown(() => feed.close());
      const swarm = () =>
        runSwarm({
          url: `${server.wsUrl}?topics=metrics`,
          clients: READERS,
          processes: 1,
          rampPerSecond: 1000,
          seconds: SECONDS,
          quiet: true,
        });

      const without = await swarm();
      t.comment(`without never-readers: ${fmt(without)}`);

      const slow: Socket[] = [];
      slow.push(await neverReader(server.wsPort, '/ws?topics=tx,metrics,alerts'));
      const adder = setInterval(() => {
        void neverReader(server.wsPort, '/ws?topics=tx,metrics,alerts').then((s) => slow.push(s));
      }, 2000);
      let withSlow: SwarmResult;
      try {
        withSlow = await swarm();
      } finally {
        clearInterval(adder);
      }
      t.comment(`with ${slow.length} never-readers: ${fmt(withSlow)}`);

      const bound = without.latencyMs.p99 * 1.1 + SLACK_MS;
      t.ok(
        withSlow.latencyMs.p99 <= bound,
        `readers' p99 ${withSlow.latencyMs.p99} ms ≤ ${bound.toFixed(1)} ms (110 % of ${without.latencyMs.p99} + ${SLACK_MS})`,
      );
      t.equal(withSlow.gaps, 0, 'the readers lost nothing');
      t.equal(withSlow.closedDuringRun, 0, 'no reader was dropped');

      // Every never-reader (bar one that joined in the last second) is dropped and counted.
      const snap = await waitFor(
        'the drops in the snapshot',
        async () => {
          const { body } = await getJson(`${server.url}/api/metrics`);
          return body.pipeline.wsSlowConsumersDropped >= slow.length && body;
        },
        10_000,
      );
      t.ok(
        snap.pipeline.wsSlowConsumersDropped >= slow.length,
        `${snap.pipeline.wsSlowConsumersDropped} dropped of ${slow.length} never-readers`,
      );
      const prom = await (await fetch(`${server.url}/metrics`)).text();
      const m = /pulseboard_ws_slow_consumers_dropped_total (\d+)/.exec(prom);
      t.ok(m && Number(m[1]) >= slow.length, '/metrics counts them too');

      // The server closed them: once they read, they see the end of the stream.
      const closed = await Promise.all(
        slow.map(
          (s) =>
            new Promise<boolean>((resolve) => {
              const timer = setTimeout(() => resolve(false), 5000);
              s.on('close', () => {
                clearTimeout(timer);
                resolve(true);
              });
              s.resume();
            }),
        ),
      );
      t.ok(
        closed.every(Boolean),
        `every never-reader's socket was closed by the server (${closed.filter(Boolean).length}/${slow.length})`,
      );
      for (const s of slow) s.destroy();
      t.ok(feed.closedWith === null, 'the reading tx subscriber is still connected');
    },
  );
