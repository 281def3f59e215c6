import { parseOptions } from '../../src/config/parse-options.js';
import { ShardPool } from '../../src/pipeline/shard-pool.js';
import { G_COMPLETED, G_GENERATED, G_THROTTLED } from '../../src/shared/metric-buckets.js';
import { benchArgs } from '../lib/cli-args.js';

/**
 * `npm run bench:pipeline`: sustained tx/s of generate → lifecycle → aggregate with
 * persistence off, the simulator at "max". Runs the shard threads alone (no HTTP), warms
 * up, then counts completions over the measured span, printing progress every second.
 *
 *   npm run bench:pipeline -- [--seconds 15] [--warmup 5] [--shards N] [--json]
 * Any server option (e.g. --shards, --inflight-capacity) is accepted too.
 */

async function main(): Promise<void> {
  const { json, seconds, warmup, serverArgs } = benchArgs({
    command: 'node dist/bench/pipeline/throughput.js',
    about:
      'Sustained tx/s of generate → lifecycle → aggregate with persistence off, the simulator at max, the shard threads alone (no HTTP).',
    flags: {
      seconds: { type: 'number', default: '15', min: 1, help: 'measured seconds' },
      warmup: { type: 'number', default: '5', min: 1, help: 'seconds before measuring' },
      json: { type: 'boolean', help: 'print the result as one JSON line' },
    },
    serverOptions: true,
  });
  const { options } = parseOptions(serverArgs, {}, { simTps: '0', logLevel: 'silent' });
  const pool = new ShardPool(options);
  await pool.start();
  pool.setParams({ tps: Number.POSITIVE_INFINITY });
  const sum = (g: number) => pool.shards.reduce((n, s) => n + s.metrics.gauges[g]!, 0);
  const log = (m: string) => process.stderr.write(`${m}\n`);

  log(
    `pipeline bench: ${options.shards} shard(s), persistence off, warm-up ${warmup} s, measuring ${seconds} s`,
  );
  await new Promise((r) => setTimeout(r, warmup * 1000));
  const c0 = sum(G_COMPLETED);
  const g0 = sum(G_GENERATED);
  const t0 = performance.now();
  let last = c0;
  for (let i = 1; i <= seconds; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const c = sum(G_COMPLETED);
    log(
      `  ${String(i).padStart(3)} s  ${Math.round(c - last)
        .toLocaleString('en-US')
        .padStart(12)} tx/s`,
    );
    last = c;
  }
  const elapsed = (performance.now() - t0) / 1000;
  const completed = sum(G_COMPLETED) - c0;
  const generated = sum(G_GENERATED) - g0;
  const result = {
    benchmark: 'pipeline-throughput',
    persistence: 'off',
    shards: options.shards,
    seconds: Math.round(elapsed * 10) / 10,
    completed,
    generated,
    txPerSec: Math.round(completed / elapsed),
    throttled: sum(G_THROTTLED),
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
  };
  await pool.stop();
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else
    log(
      `sustained: ${result.txPerSec.toLocaleString('en-US')} tx/s completed (generate → lifecycle → aggregate), ${result.seconds} s`,
    );
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
