import { readFileSync } from 'node:fs';
import t from 'tap';
import { GlobalWindows } from '../src/cluster/global-windows.js';
import {
  decodePartial,
  encodePartial,
  type PartialHeader,
  wireWords,
} from '../src/cluster/partial-codec.js';
import { SourceRegistry } from '../src/shared/source-registry.js';
import { addItem, B_COUNT, ROW_STRIDE, S_COUNT, sourceField } from '../src/shared/window-row.js';

/**
 * The merge's algebra without NATS: partials survive the codec exactly; a partial applied
 * twice (a redelivery, a replayed stream) adds nothing; source slots are renumbered by name;
 * a silent node's open seconds leave the window and its closed ones stay.
 */

const now = Math.floor(Date.now() / 1000);

function partial(
  node: number,
  closedThrough: number,
  seconds: number[],
  perSecond: number,
  source: number,
  names: string[],
) {
  const rows = new Float64Array(seconds.length * ROW_STRIDE);
  for (let r = 0; r < seconds.length; r++)
    for (let i = 0; i < perSecond; i++)
      addItem(rows, r * ROW_STRIDE, i % 10 === 0, false, 120 + i, 0, 1000 + i, 10, source);
  const header: Omit<PartialHeader, 'sources'> = {
    node,
    instance: `i${node}`,
    ts: Date.now(),
    closedThrough,
    seconds,
    tps: perSecond,
    clients: 1,
    inFlight: [0, 0],
  };
  return decodePartial(encodePartial(header, rows, names));
}

t.test('codec round trip is exact, and its size follows the layout, not the traffic', async (t) => {
  const p = partial(0, now - 2, [now - 3, now - 1, now], 500, 2, ['a', 'b', 'c']);
  t.same(p.header.seconds, [now - 3, now - 1, now]);
  t.same(p.header.sources, ['a', 'b', 'c']);
  t.equal(p.rows[B_COUNT], 500);
  t.equal(p.rows[sourceField(2, S_COUNT)], 500);
  const again = decodePartial(encodePartial(p.header, p.rows, p.header.sources));
  t.same([...again.rows], [...p.rows], 'every word survives');
  // The rows' bytes: all but the u32 and the JSON header (whose numbers differ in digits only).
  const rowBytes = (perSecond: number) => {
    const q = partial(0, now - 2, [now - 3, now - 1, now], perSecond, 2, ['a', 'b', 'c']);
    const data = encodePartial(q.header, q.rows, q.header.sources);
    return data.length - 4 - new DataView(data.buffer).getUint32(0, true);
  };
  t.equal(rowBytes(500), 3 * wireWords(3) * 8, 'three rows of the fixed width');
  t.equal(rowBytes(5), rowBytes(500), 'as many bytes for 5 transactions a second as for 500');
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const shared = /\((\d+) \+ 3 × \(sources \+ 1\)\) × 8/.exec(readme)?.[1];
  t.equal(Number(shared) + 3 * (3 + 1), wireWords(3), "README's partial size formula");
  const bytes = encodePartial(p.header, p.rows, p.header.sources);
  t.throws(
    () => decodePartial(bytes.subarray(0, bytes.length - 8)),
    /length/,
    'a cut message is refused',
  );
});

t.test('applied twice = applied once; open rows replaced; slots by name', async (t) => {
  const registry = SourceRegistry.create(16, ['x', 'c']);
  const g = new GlobalWindows(registry, 1500, now);
  const out = new Float64Array(ROW_STRIDE);
  const first = partial(1, now - 2, [now - 3, now - 2, now - 1, now], 100, 2, ['a', 'b', 'c']);
  g.apply(first, Date.now());
  g.apply(first, Date.now());
  g.advance(now);
  g.window('1m', Date.now(), out);
  t.equal(out[B_COUNT], 400, '2 closed + 2 open seconds, each 100, once');
  t.equal(out[sourceField(1, S_COUNT)], 400, "the sender's slot 2 ('c') is slot 1 here");
  // A newer partial from the same node: the closed seconds above stay, the open ones are replaced.
  g.apply(partial(1, now - 1, [now - 1, now], 50, 2, ['a', 'b', 'c']), Date.now());
  g.window('1m', Date.now(), out);
  t.equal(out[B_COUNT], 300, 'closed 100 + 100 + 50, open 50');
});

t.test('a silent node: its open seconds leave, its closed ones stay', async (t) => {
  const g = new GlobalWindows(SourceRegistry.create(16, ['a']), 1500, now);
  const p = partial(2, now - 2, [now - 2, now - 1, now], 10, 0, ['a']);
  p.header.ts = Date.now() - 5000; // heard from 5 s ago
  g.apply(p, Date.now());
  const out = new Float64Array(ROW_STRIDE);
  g.window('1m', Date.now(), out);
  t.equal(out[B_COUNT], 10, 'only the closed second');
  t.equal(g.summaries(Date.now())[0]!.status, 'down');
});
