import t from 'tap';
import { runImpairments } from '../bench/net-impair/run.js';
import { startServer } from './helpers/server.js';

/**
 * Fault (f): dashboards behind a degraded network (bench/net-impair/proxy.ts: latency
 * with jitter, bandwidth throttling, random connection resets). The clients reconnect and
 * resume on their own; delivery rate and latency percentiles are reported per impairment.
 * The reset rate here is far above the 5 %/min so that a 6 s run sees resets; the
 * full profiles run with `node dist/bench/net-impair/run.js` (60 s each).
 */

const SECONDS = Number(process.env.FAULT_IMPAIR_SECONDS ?? 6);

t.test('clients reconnect and resume through a degraded network', async (t) => {
  const server = await startServer(['--sim-tps', '500', '--shards', '1', '--tick-ms', '250']);
  t.teardown(() => server.stop());
  const common = { latencyMs: 10, jitterMs: 5, bytesPerSec: 0, resetsPerMinute: 0 };
  const [direct, jitter, throttled, resets] = await runImpairments({
    serverPort: server.port,
    clients: 20,
    seconds: SECONDS,
    log: (l) => t.comment(l),
    impairments: [
      { ...common, name: 'direct', latencyMs: 0, jitterMs: 0 },
      { ...common, name: 'latency 10 ± 5 ms' },
      { ...common, name: 'throttled 16 KB/s + 10 ± 5 ms', bytesPerSec: 16 * 1024 },
      // 600 %/min: each of the 20 connections is reset with p = 0.1 every second, so a 6 s
      // run sees none at all with probability 0.9^120 ≈ 3·10^-6 (at 300 %/min it was 0.2 %).
      { ...common, name: 'resets 600 %/min + 10 ± 5 ms', resetsPerMinute: 6 },
    ],
  });

  t.equal(direct!.deliveryRate, 1, 'direct: everything delivered');
  t.equal(direct!.reconnects, 0);

  t.equal(jitter!.deliveryRate, 1, 'latency and jitter lose nothing');
  t.ok(jitter!.latencyMs.p50 >= 5, `the proxy adds latency (p50 ${jitter!.latencyMs.p50} ms)`);

  t.ok(throttled!.messages > 0, 'throttled clients still receive');
  t.ok(throttled!.latencyMs.p50 >= jitter!.latencyMs.p50, 'throttling adds latency');
  t.ok(throttled!.deliveryRate >= 0.95, `throttled delivery ${throttled!.deliveryRate}`);

  t.ok(resets!.proxy.resets > 0, `${resets!.proxy.resets} connections reset`);
  t.ok(resets!.reconnects >= resets!.proxy.resets, 'every reset client reconnected');
  t.ok(resets!.connectedAtEnd >= 15, `${resets!.connectedAtEnd}/20 connected at the end`);
  t.ok(resets!.deliveryRate >= 0.8, `delivery under resets ${resets!.deliveryRate}`);

  // Every client of the run closed its socket: the server must see all of them go (a leaked
  // socket would keep `clients` above 0). The snapshot is at most one tick old.
  let clients = -1;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    ({ clients } = (await (await fetch(`${server.url}/api/metrics`)).json()) as {
      clients: number;
    });
    if (clients === 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  t.equal(clients, 0, 'no leaked server connections once every client closed');
});
