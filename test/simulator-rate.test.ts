import t from 'tap';
import { parseOptions } from '../src/config/parse-options.js';
import { ShardPool } from '../src/pipeline/shard-pool.js';
import { G_GENERATED } from '../src/shared/metric-buckets.js';

/** The simulator's rate is exact (token bucket on a monotonic clock) and changes live. */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('rate within ±2 % over 5 s at 1,000 and 50,000 tx/s, changed live', async (t) => {
  const { options } = parseOptions(['--sim-tps', '0', '--shards', '2'], {});
  const pool = new ShardPool(options);
  await pool.start();
  t.teardown(() => pool.stop());
  const generated = () => pool.shards.reduce((n, s) => n + s.metrics.gauges[G_GENERATED]!, 0);

  await sleep(300);
  t.equal(generated(), 0, 'idle at 0 tx/s');

  for (const rate of [1_000, 50_000]) {
    pool.setParams({ tps: rate }); // live, no restart
    await sleep(500);
    const g0 = generated();
    const t0 = performance.now();
    await sleep(5000);
    const measured = ((generated() - g0) / (performance.now() - t0)) * 1000;
    t.ok(
      Math.abs(measured - rate) / rate <= 0.02,
      `${rate} tx/s target → ${Math.round(measured)} tx/s measured`,
    );
  }
});
