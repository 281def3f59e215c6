import t from 'tap';
import { LoadRowsEncoder } from '../src/db/load-rows-encoder.js';
import { encodeRingRows, RollupAccumulator, ringRowId } from '../src/db/ring-rows.js';
import { STATUS } from '../src/shared/catalog.js';
import { TxRing } from '../src/shared/tx-ring.js';

// The writers send LoadRowsEncoder's bytes; encodeRingRows' 'load' text is the reference
// (and what the quarantine and the ceiling bench write). They must never drift apart.

function ringOf(n: number): TxRing {
  const ring = TxRing.create(n);
  const f = ring.f;
  for (let i = 0; i < n; i++) {
    // Ids on both sides of idText's top === 0 branch, and padded low digits.
    f.idHi[i] = i === 0 ? 0 : 1000 + i * 7919;
    f.idLo[i] = (i * 2_654_435_761) >>> 0;
    f.source[i] = i % 3;
    f.account[i] = i === 1 ? 123_456_789 : i * 37;
    f.type[i] = i % 2;
    f.amount[i] =
      i === 2 ? 999_999_999_999_999 : i === 3 ? 1e15 : i === 4 ? 1e9 + 7 : i === 6 ? 1e9 : i * 1013;
    f.currency[i] = i % 8;
    f.status[i] = i % 5 === 0 ? STATUS.failed : STATUS.completed;
    f.failureReason[i] = i % 5 === 0 ? 1 : 0;
    f.createdAt[i] = 1_764_450_000_000.4 + i * 3.3;
    f.completedAt[i] = 1_764_450_000_250.6 + i * 5.1;
    f.processingMs[i] = i % 300;
    f.flagRule[i] = i % 7 === 0 ? 1 : 0;
    f.riskScore[i] = i % 101;
  }
  return ring;
}

t.test('LoadRowsEncoder writes exactly the text encodeRingRows writes, rollups included', (t) => {
  const n = 64;
  const ring = ringOf(n);
  const sources = ['card-pos', 'ach', 'a-much-longer-merchant-name-32ch'];
  const skip = new Set([ringRowId(ring.f, 5), ringRowId(ring.f, 40)]);
  const poison = (p: number) => p === 9;
  const enc = new LoadRowsEncoder();
  for (const [start, count, s, pz] of [
    [0, n, undefined, undefined],
    [50, 30, skip, poison], // wraps around the ring
  ] as const) {
    const a = new RollupAccumulator();
    const b = new RollupAccumulator();
    const want = encodeRingRows(ring.f, n - 1, start, count, 'load', sources, a, s, pz);
    const got = enc.encode(ring.f, n - 1, start, count, sources, b, s, pz);
    t.equal(got.rows, want.rows);
    t.equal(got.payload.toString('latin1'), want.text);
    t.equal(b.sql(1, sources), a.sql(1, sources));
  }
  t.end();
});

for (const [name, spread] of [
  ['keys sorted natively (ids within 3 × 2^32)', 3],
  ['comparator (ids far apart)', 900_000],
] as const)
  t.test(`byId, ${name}: the same rows and rollups, in ascending id order`, (t) => {
    const n = 64;
    const ring = ringOf(n);
    // Completion order is not id order: the high halves go down and up along the ring.
    for (let i = 0; i < n; i++) ring.f.idHi[i] = 5000 + ((i * 7) % spread);
    const sources = ['card-pos', 'ach', 'merchant'];
    const skip = new Set([ringRowId(ring.f, 12)]);
    const a = new RollupAccumulator();
    const b = new RollupAccumulator();
    const want = encodeRingRows(ring.f, n - 1, 8, 48, 'load', sources, a, skip);
    const got = new LoadRowsEncoder().encode(
      ring.f,
      n - 1,
      8,
      48,
      sources,
      b,
      skip,
      undefined,
      true,
    );
    const lines = got.payload.toString('latin1').split('\n').slice(0, -1);
    t.equal(got.rows, want.rows);
    t.same([...lines].sort(), want.text.split('\n').slice(0, -1).sort());
    const ids = lines.map((l) => BigInt(l.slice(0, l.indexOf('\t'))));
    t.ok(
      ids.every((id, k) => k === 0 || ids[k - 1]! < id),
      'ids ascend',
    );
    t.equal(b.sql(1, sources), a.sql(1, sources));
    t.end();
  });
