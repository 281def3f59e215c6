import { parseOptions } from '../../src/config/parse-options.js';
import { ShardPool } from '../../src/pipeline/shard-pool.js';
import { G_COMPLETED, G_GENERATED, G_THROTTLED } from '../../src/shared/metric-buckets.js';

/**
 * `npm run bench:pipeline`: sustained tx/s of generate → lifecycle → aggregate with
 * persistence off, the simulator at "max". Runs the shard threads alone (no HTTP), warms
 * up, then counts completions over the measured span, printing progress every second.
 *
 *   npm run bench:pipeline -- [--seconds 15] [--warmup 5] [--shards N] [--json]
 * Any server option (e.g. --shards, --inflight-capacity) is accepted too.
 */

function takeFlag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i === -1) return fallback;
  const v = Number(args[i + 1]);
  args.splice(i, 2);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
  return v;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  if (json) args.splice(args.indexOf('--json'), 1);
  const seconds = takeFlag(args, '--seconds', 15);
  const warmup = takeFlag(args, '--warmup', 5);
  const { options } = parseOptions(args, {}, { simTps: '0', logLevel: 'silent' });
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
