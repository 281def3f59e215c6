import { AckPolicy } from 'nats';
import t from 'tap';
import { deliveryCount, isRedelivery } from '../workers/ingest/stream/delivery-count.js';
import { deleteStreams, natsClient, uniqueStream } from './helpers/nats.js';

/**
 * The door reads each message's delivery count from its ack subject itself (a cheaper
 * parse than nats.js's info object): both ack-subject layouts, anything else NaN, and on
 * real deliveries from the shared NATS server the same answer as nats.js.
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
