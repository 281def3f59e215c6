import { AckPolicy } from 'nats';
import t from 'tap';
import { AckBatch } from '../workers/ingest/stream/ack-batch.js';
import { deliveryCount, isRedelivery } from '../workers/ingest/stream/ack-subject.js';
import { deleteStreams, natsClient, uniqueStream } from './helpers/nats.js';

/**
 * The door uses each message's ack subject itself: it reads the delivery count from it (a
 * cheaper parse than nats.js's info object) — both layouts, anything else NaN, and on real
 * deliveries from the shared NATS server the same answer as nats.js — and acks to it in one
 * protocol command per turn (ack-batch.ts), which the server takes as every message acked.
 */

t.test('the delivery count of both ack-subject layouts; NaN for anything else', async (t) => {
  t.equal(deliveryCount('$JS.ACK.S.C.1.10.10.1700000000000000000.0'), 1);
  t.equal(deliveryCount('$JS.ACK.S.C.3.10.12.1700000000000000000.5'), 3);
  t.equal(deliveryCount('$JS.ACK.dom.ACCHASH.S.C.2.10.11.1700000000000000000.0'), 2);
  t.equal(deliveryCount('$JS.ACK.dom.ACCHASH.S.C.7.10.11.1700000000000000000.0.rnd'), 7);
  t.ok(Number.isNaN(deliveryCount('_INBOX.abc.def')));
  t.ok(Number.isNaN(deliveryCount('$JS.ACK.S.C.1.10')));
  t.ok(Number.isNaN(deliveryCount('')));
});

t.test('real deliveries and redeliveries: the same as nats.js', async (t) => {
  const names = uniqueStream('dcount');
  const nc = await natsClient();
  t.teardown(async () => {
    await nc.close();
    await deleteStreams(names);
  });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: names.stream, subjects: [names.subject] });
  await jsm.consumers.add(names.stream, { durable_name: 'c', ack_policy: AckPolicy.Explicit });
  const js = nc.jetstream();
  await js.publish(names.subject, 'x');
  const consumer = await js.consumers.get(names.stream, 'c');
  const seen: [boolean, boolean, number][] = [];
  for (let delivery = 1; delivery <= 3; delivery++) {
    const m = await consumer.next({ expires: 5000 });
    if (m === null) throw new Error(`delivery ${delivery} did not come`);
    seen.push([isRedelivery(m), m.redelivered, m.info.deliveryCount]);
    if (delivery < 3) m.nak();
    else m.ack();
  }
  t.same(seen, [
    [false, false, 1],
    [true, true, 2],
    [true, true, 3],
  ]);
});

t.test(
  'batched acks: one command per turn, and the server counts every message acked',
  async (t) => {
    const names = uniqueStream('ackbatch');
    const nc = await natsClient();
    t.teardown(async () => {
      await nc.close();
      await deleteStreams(names);
    });
    AckBatch.check(nc);
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: names.stream, subjects: [names.subject] });
    await jsm.consumers.add(names.stream, {
      durable_name: 'c',
      ack_policy: AckPolicy.Explicit,
      ack_wait: 2_000_000_000, // 2 s: an ack that did not count would be redelivered
    });
    const js = nc.jetstream();
    const n = 500;
    for (let i = 0; i < n; i++) await js.publish(names.subject, `m${i}`);
    const consumer = await js.consumers.get(names.stream, 'c');
    const batch = await consumer.fetch({ max_messages: n, expires: 5000 });
    const acks = new AckBatch(nc);
    let got = 0;
    for await (const m of batch) {
      acks.ack(m);
      got++;
    }
    t.equal(got, n, 'all fetched');
    await nc.flush();
    const info = await jsm.consumers.info(names.stream, 'c');
    t.equal(info.num_ack_pending, 0, 'none left unacknowledged');
    t.equal(info.ack_floor.stream_seq, n, 'acked up to the last');
    await new Promise((r) => setTimeout(r, 2500));
    const again = await consumer.fetch({ max_messages: 1, expires: 1000 });
    let redelivered = 0;
    for await (const _ of again) redelivered++;
    t.equal(redelivered, 0, 'nothing redelivered after ack_wait');
  },
);
