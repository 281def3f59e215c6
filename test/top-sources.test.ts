import t from 'tap';
import { busiestSources, sourceMetrics } from '../src/metrics/bucket-row.js';
import { SourceRegistry } from '../src/shared/source-registry.js';
import { addItem, ROW_STRIDE } from '../src/shared/window-row.js';

/**
 * The snapshot goes to every client every tick, so with 256 tracked sources its
 * `topSources` lists the busiest only: the first n by count and the first n by USD volume
 * (the dashboard ranks by either); every source is still in sourceMetrics (alert rules,
 * `source/<name>` topics).
 */

t.test('topSources keeps the first n by count and by volume, in count order', async (t) => {
  const names = Array.from({ length: 40 }, (_, i) => `s${i}`);
  const registry = SourceRegistry.create(256, names);
  const row = new Float64Array(ROW_STRIDE);
  // Source i has 40 − i transactions of 1 USD cent, except s39: one huge transaction.
  for (let i = 0; i < 40; i++) {
    const n = i === 39 ? 1 : 40 - i;
    const amount = i === 39 ? 1e12 : 1;
    for (let k = 0; k < n; k++) addItem(row, 0, false, false, 10, 0, amount, amount, i);
  }
  const all = sourceMetrics(row, 0, registry.names());
  t.equal(all.length, 40, 'every source with traffic');
  const top = busiestSources(all, 5);
  t.same(
    top.map((s) => s.source),
    ['s0', 's1', 's2', 's3', 's4', 's39'],
    'five by count, and the volume leader that is not among them, last (by count)',
  );
  t.equal(busiestSources(all.slice(0, 3), 5).length, 3, 'short lists unchanged');
});
