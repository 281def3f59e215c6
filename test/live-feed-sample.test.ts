import t from 'tap';
import { allocateSample } from '../src/pipeline/live-feed.js';
import { FeedSampleBuffer, ReservoirSampler, readFeedSample } from '../src/shared/feed-sample.js';
import { mulberry32 } from './helpers/rng.js';
import { startServer } from './helpers/server.js';
import { TestClient } from './helpers/ws-client.js';

/**
 * The live `tx` feed is a uniform sample of each tick's finished transactions (issue 10,
 * part 6): a reservoir per producer thread, merged across threads in proportion to what
 * each finished. Until this change the feed was the first FEED_PER_TICK / SHARDS
 * completions of each shard after the tick began: the end-to-end test below then sees
 * every item in the first few milliseconds of its tick (mean position ≈ 0.01).
 */

t.test('the reservoir keeps a uniform sample of every tick (Algorithm L)', async (t) => {
  const size = 50;
  const buf = FeedSampleBuffer.create(size);
  const sampler = new ReservoirSampler(buf, mulberry32(7));
  const deciles = new Array<number>(10).fill(0);
  let seen = 0;
  let sum = 0;
  let n = 0;
  const wrong: string[] = [];
  for (let tick = 0; tick < 400; tick++) {
    // Ticks of different sizes, some smaller than the reservoir.
    const population = tick % 10 === 0 ? 30 : 2_000 + tick * 37;
    for (let i = 0; i < population; i++) {
      const at = sampler.offer();
      if (at !== -1) buf.f.amount[at] = i / population; // the position within the tick
    }
    sampler.flush();
    const r = readFeedSample(buf, seen)!;
    seen = r.flush;
    if (r.population !== population) wrong.push(`tick ${tick}: population ${r.population}`);
    if (r.count !== Math.min(size, population)) wrong.push(`tick ${tick}: ${r.count} sampled`);
    const positions = new Set<number>();
    for (let k = 0; k < r.count; k++) {
      const p = buf.f.amount[r.base + k]!;
      positions.add(p);
      if (population > size) {
        deciles[Math.floor(p * 10)]!++;
        sum += p;
        n++;
      }
    }
    if (positions.size !== r.count) wrong.push(`tick ${tick}: a transaction sampled twice`);
  }
  t.same(wrong, [], 'every tick: its population, min(size, population) distinct records');
  t.ok(Math.abs(sum / n - 0.5) < 0.01, `mean position ${(sum / n).toFixed(4)} ≈ 0.5`);
  const expected = n / 10;
  const chi2 = deciles.reduce((c, o) => c + (o - expected) ** 2 / expected, 0);
  // 9 degrees of freedom: P(χ² > 27.9) = 0.001 for a uniform sample.
  t.ok(chi2 < 27.9, `deciles ${deciles.join(' ')}: χ² = ${chi2.toFixed(1)}`);
});

t.test('threads supply the feed in proportion to what they finished', async (t) => {
  const random = mulberry32(11);
  const take = [0, 0, 0];
  let wrongSize = 0;
  for (let tick = 0; tick < 2_000; tick++) {
    const got = allocateSample([8_000, 1_800, 200], 50, random);
    if (got.reduce((a, b) => a + b, 0) !== 50) wrongSize++;
    for (let i = 0; i < 3; i++) take[i]! += got[i]!;
  }
  t.equal(wrongSize, 0, 'always exactly FEED_PER_TICK items');
  const total = take[0]! + take[1]! + take[2]!;
  t.ok(Math.abs(take[0]! / total - 0.8) < 0.01, `thread 0: ${take[0]! / total}`);
  t.ok(Math.abs(take[1]! / total - 0.18) < 0.01, `thread 1: ${take[1]! / total}`);
  t.ok(Math.abs(take[2]! / total - 0.02) < 0.005, `thread 2: ${take[2]! / total}`);
  t.same(allocateSample([3, 0, 4], 50, random), [3, 0, 4], 'small ticks: everything');
  t.same(allocateSample([0, 0], 50, random), [0, 0], 'an idle tick: nothing');
});

t.test('the live feed is not biased toward the start of the tick', async (t) => {
  const server = await startServer(['--sim-tps', '20000', '--shards', '2', '--tick-ms', '500']);
  t.teardown(() => server.stop());
  const client = await TestClient.connect(`${server.wsUrl}?topics=tx`);
  t.teardown(() => client.close());
  await client.until((c) => c.of('tx').length >= 18, 20_000, '18 tx frames');
  const frames = client.of('tx');
  const ticks = frames.map((f) => f.ts);
  const positions: number[] = [];
  let omitted = 0;
  for (const f of frames.slice(2)) {
    omitted += f.data.omitted;
    for (const item of f.data.items as { completedAt: number }[]) {
      // The tick (between two consecutive frames) the transaction finished in.
      const j = ticks.findIndex((_, k) => k + 1 < ticks.length && item.completedAt < ticks[k + 1]!);
      if (j < 0 || item.completedAt < ticks[j]!) continue;
      positions.push((item.completedAt - ticks[j]!) / (ticks[j + 1]! - ticks[j]!));
    }
  }
  t.ok(positions.length >= 500, `${positions.length} feed items placed in their tick`);
  t.ok(omitted > 100_000, `the rest counted as omitted (${omitted})`);
  const mean = positions.reduce((a, b) => a + b, 0) / positions.length;
  const late = positions.filter((p) => p >= 0.5).length / positions.length;
  t.ok(mean >= 0.4 && mean <= 0.6, `mean position within the tick ${mean.toFixed(3)}`);
  t.ok(late >= 0.3 && late <= 0.7, `share in the second half of the tick ${late.toFixed(3)}`);
});
