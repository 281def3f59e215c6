import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { TxRing } from '../src/shared/tx-ring.js';

const PRODUCER = fileURLToPath(new URL('./fixtures/ring-producer.js', import.meta.url));

function expectRecord(ring: TxRing, i: number, seq: number): string | null {
  const f = ring.f;
  const checks: [string, number, number][] = [
    ['idHi', f.idHi[i]!, seq >>> 20],
    ['idLo', f.idLo[i]!, seq],
    ['createdAt', f.createdAt[i]!, seq * 2],
    ['completedAt', f.completedAt[i]!, seq * 2 + 1],
    ['amount', f.amount[i]!, seq * 3 + 7],
    ['processingMs', f.processingMs[i]!, seq % 100_000],
    ['account', f.account[i]!, (seq ^ 0x5a5a) >>> 0],
    ['source', f.source[i]!, seq & 31],
    ['currency', f.currency[i]!, seq & 7],
    ['type', f.type[i]!, seq % 6],
    ['status', f.status[i]!, 2 + (seq & 1)],
    ['failureReason', f.failureReason[i]!, seq % 5],
    ['flagRule', f.flagRule[i]!, seq & 3],
    ['riskScore', f.riskScore[i]!, seq % 101],
  ];
  for (const [name, got, want] of checks)
    if (got !== want) return `${name}: got ${got}, want ${want}`;
  return null;
}

t.test('records cross two real threads with no loss, tearing or reordering', async (t) => {
  const capacity = 1024;
  const total = 300_000;
  const ring = TxRing.create(capacity);
  const consumer = ring.attachConsumer();
  const flags = new SharedArrayBuffer(16);
  const signal = new Int32Array(flags);
  const worker = new Worker(PRODUCER, { workerData: { sab: ring.sab, capacity, total, flags } });

  // Handshake, not a sleep: do not read until the producer has found the ring full.
  while (Atomics.load(signal, 0) === 0) Atomics.wait(signal, 0, 0, 50);
  t.equal(ring.available(consumer), capacity, 'producer stopped at capacity: nothing overwritten');
  t.ok(Atomics.load(signal, 1) >= 1, 'producer saw the full ring and stalled');

  let expected = 0;
  let firstError: string | null = null;
  while (expected < total) {
    const n = ring.waitForRecords(consumer, 100);
    let pos = ring.readPos(consumer);
    for (let k = 0; k < n; k++) {
      const err = expectRecord(ring, pos & ring.mask, expected);
      if (err && !firstError) firstError = `record ${expected}: ${err}`;
      pos = (pos + 1) | 0;
      expected++;
    }
    ring.release(consumer, pos);
  }
  await new Promise((r) => worker.once('exit', r));
  t.equal(firstError, null, 'every field of every record as written, in order');
  t.equal(expected, total, 'all records received');
  t.equal(ring.available(consumer), 0, 'nothing left over');
  t.equal(Atomics.load(signal, 2), 1, 'producer finished');
});

t.test('a producer without consumers sees the whole ring free; slots are exclusive', async (t) => {
  const ring = TxRing.create(8);
  t.equal(ring.hasConsumers(), false);
  t.equal(ring.freeSlots(), 8);
  const a = ring.attachConsumer();
  const b = ring.attachConsumer();
  t.not(a, b, 'two consumers get two slots');
  ring.publish(5);
  ring.release(a, 5);
  t.equal(ring.freeSlots(), 3, 'the slowest consumer bounds the producer');
  ring.detachConsumer(b);
  t.equal(ring.freeSlots(), 8, 'a detached consumer holds nothing');
  t.throws(() => TxRing.create(12), /power of two/);
});

t.test('positions survive the int32 wrap-around', async (t) => {
  const ring = TxRing.create(16);
  const k = ring.attachConsumer();
  const start = 2 ** 31 - 5; // stored as int32: wraps to negative within a few records
  ring.publish(start | 0);
  ring.release(k, start | 0);
  let pos = start | 0;
  for (let i = 0; i < 10; i++) {
    ring.f.idLo[pos & ring.mask] = i;
    pos = (pos + 1) | 0;
  }
  ring.publish(pos);
  t.equal(ring.available(k), 10);
  t.equal(ring.freeSlots(), 6);
  let read = ring.readPos(k);
  const seen: number[] = [];
  for (let i = 0; i < 10; i++) {
    seen.push(ring.f.idLo[read & ring.mask]!);
    read = (read + 1) | 0;
  }
  t.same(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});
