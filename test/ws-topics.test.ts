import t from 'tap';
import { SourceRegistry } from '../src/shared/source-registry.js';
import { TopicCatalog, topicColumns } from '../src/ws/topics.js';
import { rawExchange } from './helpers/raw-exchange.js';
import { startServer } from './helpers/server.js';
import { TestClient } from './helpers/ws-client.js';
import { WS_THREAD_COUNTS, wsThreadsArgs } from './helpers/ws-threads.js';

/** WebSocket topics against the real server with real clients. */

for (const threads of WS_THREAD_COUNTS)
  t.test(`websocket topics (WS_THREADS=${threads})`, async (t) => {
    const server = await startServer([
      ...wsThreadsArgs(threads),
      '--sim-tps',
      '400',
      '--feed-per-tick',
      '200',
      '--unusual-pair-rate',
      '0.2',
      '--persistence',
      'off',
    ]);
    t.teardown(() => server.stop());

    await t.test(
      'metrics arrive every tick with consecutive seq and changing values',
      async (t) => {
        const c = await TestClient.connect(`${server.wsUrl}?topics=metrics`);
        t.teardown(() => c.close());
        await c.until((x) => x.of('metrics').length >= 4, 6000, '4 metrics frames');
        const frames = c.of('metrics');
        for (const f of frames) {
          t.match(f, {
            topic: 'metrics',
            seq: Number,
            ts: Number,
            data: { tps: Number, windows: Object },
          });
        }
        const gaps = frames.slice(1).map((f, i) => f.seq - frames[i]!.seq);
        t.same(
          gaps,
          gaps.map(() => 1),
          'seq counts up by one',
        );
        const spacing = frames.slice(1).map((f, i) => f.ts - frames[i]!.ts);
        t.ok(
          spacing.every((ms) => ms > 250 && ms < 1500),
          `about 500 ms apart (${spacing.join(', ')})`,
        );
        const counts = frames.map((f) => f.data.pipeline.completed as number);
        t.ok(new Set(counts).size > 1, `values change between ticks (${counts.join(', ')})`);
        t.ok(Date.now() - frames.at(-1)!.ts < 5000, 'ts is the send time (epoch ms)');
      },
    );

    await t.test('a source topic carries only that source', async (t) => {
      const c = await TestClient.connect(server.wsUrl);
      t.teardown(() => c.close());
      c.send(JSON.stringify({ op: 'subscribe', topics: ['source/ach'] }));
      await c.until((x) => x.of('control').length >= 1, 3000, 'subscribe ack');
      t.same(c.of('control')[0]!.data, { ok: true, op: 'subscribe', topics: ['source/ach'] });
      await c.until(
        (x) => x.of('source/ach').some((f) => f.data.items.length > 0),
        8000,
        'ach transactions',
      );
      const items = c.of('source/ach').flatMap((f) => f.data.items as { source: string }[]);
      t.ok(items.length > 0);
      t.ok(
        items.every((i) => i.source === 'ach'),
        'every item is from ach',
      );
      t.notOk(
        c.frames.some((f) => f.topic !== 'control' && f.topic !== 'source/ach'),
        'no other topic arrives',
      );
    });

    await t.test('tx and alerts topics carry transactions in the documented shape', async (t) => {
      const c = await TestClient.connect(`${server.wsUrl}?topics=tx,alerts`);
      t.teardown(() => c.close());
      await c.until((x) => x.of('alerts').some((f) => f.data.items.length > 0), 8000, 'an alert');
      await c.until((x) => x.of('tx').some((f) => f.data.items.length > 0), 8000, 'a tx frame');
      const fraud = c.of('alerts').find((f) => f.data.items.length > 0)!;
      t.equal(fraud.data.kind, 'fraud', 'flagged transactions come in fraud frames');
      const alert = fraud.data.items[0];
      t.match(alert, {
        id: /^\d+$/,
        source: String,
        account: String,
        amount: Number,
        currency: /^[A-Z]{3}$/,
        status: /^(completed|failed)$/,
        flagged: true,
        flagRule: /^(amount_over_threshold|velocity|unusual_pairing)$/,
        riskScore: Number,
      });
      const tx = c.of('tx').find((f) => f.data.items.length > 0)!;
      t.type(tx.data.omitted, 'number');
      t.ok(Number.isInteger(tx.data.items[0].amount), 'amounts are integer minor units');
    });

    await t.test('bad control frames get an error or a close; others keep receiving', async (t) => {
      const witness = await TestClient.connect(`${server.wsUrl}?topics=metrics`);
      t.teardown(() => witness.close());
      const c = await TestClient.connect(server.wsUrl);
      const cases: [string, string | Buffer, boolean, string][] = [
        ['invalid JSON', '{"op": "subscribe", ', false, 'PB_ERR_WS_BAD_JSON'],
        ['not an object', '[1,2,3]', false, 'PB_ERR_WS_BAD_CONTROL'],
        ['unknown op', '{"op":"publish","topics":["metrics"]}', false, 'PB_ERR_WS_UNKNOWN_OP'],
        [
          'unknown topic',
          '{"op":"subscribe","topics":["metrics","nope"]}',
          false,
          'PB_ERR_WS_UNKNOWN_TOPIC',
        ],
        ['topics not strings', '{"op":"subscribe","topics":[1]}', false, 'PB_ERR_WS_BAD_CONTROL'],
        ['binary garbage', Buffer.from([0xff, 0x00, 0x13, 0x37]), true, 'PB_ERR_WS_BINARY'],
      ];
      for (const [i, [name, payload, binary, code]] of cases.entries()) {
        c.send(payload, binary);
        await c.until((x) => x.of('control').length > i, 3000, `reply to ${name}`);
        const reply = c.of('control')[i]!;
        t.equal(reply.data.ok, false, `${name}: refused`);
        t.equal(reply.data.error.code, code, `${name}: ${code}`);
      }
      t.notOk(c.of('metrics').length > 0, 'a refused subscribe changed nothing');
      const before = witness.of('metrics').length;
      c.send(Buffer.alloc(65 * 1024, 'a')); // over the 64 KB limit: closed by the server
      await new Promise<void>((resolve) => c.socket.once('close', () => resolve()));
      // uWS drops the connection at once (1006 on the client), without reading the rest.
      t.ok(
        c.closedWith === 1006 || c.closedWith === 1009,
        `oversized message closes the socket (${c.closedWith})`,
      );
      await witness.until(
        (x) => x.of('metrics').length >= before + 2,
        3000,
        'witness keeps receiving',
      );
      t.equal(witness.closedWith, null, 'the other client is still connected');
    });

    await t.test('unsubscribe stops a topic', async (t) => {
      const c = await TestClient.connect(`${server.wsUrl}?topics=metrics`);
      t.teardown(() => c.close());
      await c.until((x) => x.of('metrics').length >= 1, 3000, 'first metrics');
      c.send(JSON.stringify({ op: 'unsubscribe', topics: ['metrics'] }));
      await c.until((x) => x.of('control').length >= 1, 3000, 'unsubscribe ack');
      t.same(c.of('control')[0]!.data.topics, []);
      const n = c.of('metrics').length;
      await new Promise((r) => setTimeout(r, 1200));
      t.ok(
        c.of('metrics').length <= n + 1,
        'no more metrics after the ack (one may have been in flight)',
      );
    });

    await t.test('where /ws is, and every thread sends the same frames', async (t) => {
      const where = (await (await fetch(`${server.url}/api/ws-endpoint`)).json()) as any;
      if (threads === 1) {
        t.same(where, { url: null, port: null }, "the page's own origin");
        t.equal(server.wsPort, server.port);
      } else {
        t.same(where, { url: null, port: server.wsPort }, 'WS_PORT');
        t.not(server.wsPort, server.port);
        const upgrade =
          'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
        const onPrimary = await rawExchange(server.port, upgrade, 2000);
        t.match(onPrimary.data, /^HTTP\/1\.1 421/, '/ws on PORT: 421');
        t.match(onPrimary.data, /PB_ERR_WS_OTHER_PORT/);
        t.match(onPrimary.data, new RegExp(`port ${server.wsPort}`), 'naming WS_PORT');
        const api = await fetch(`http://127.0.0.1:${server.wsPort}/api/metrics`);
        t.equal(api.status, 404, 'WS_PORT serves /ws only');
      }
      // The kernel spreads these over the threads; each must get the primary's frames as is.
      const clients = await Promise.all(
        Array.from({ length: 8 }, () => TestClient.connect(`${server.wsUrl}?topics=metrics`)),
      );
      t.teardown(() => {
        for (const c of clients) c.close();
      });
      for (const c of clients) await c.until((x) => x.of('metrics').length >= 3, 6000, '3 frames');
      const tsOfSeq = new Map<number, number>();
      let disagree = 0;
      for (const c of clients) {
        const frames = c.of('metrics');
        for (const [i, f] of frames.entries()) {
          if (i > 0 && f.seq !== frames[i - 1]!.seq + 1) disagree++;
          if (tsOfSeq.has(f.seq) && tsOfSeq.get(f.seq) !== f.ts) disagree++;
          tsOfSeq.set(f.seq, f.ts);
        }
      }
      t.equal(disagree, 0, 'one frame per seq (serialised once), no gaps, on every client');
      const snap = (await (await fetch(`${server.url}/api/metrics`)).json()) as any;
      t.ok(snap.clients >= 8, `clients counted over every thread (${snap.clients})`);
    });
  });

// The shared subscriber counts were indexed by the topic list at startup: a source that
// appeared later had no column. Columns now come from the registry slot.
t.test('topic columns: one per registry slot, fixed before the sources appear', async (t) => {
  const sources = SourceRegistry.create(4, ['ach', 'wire']);
  const catalog = new TopicCatalog(sources);
  t.equal(catalog.columns, topicColumns(4), 'sized for SOURCES_MAX at startup');
  t.equal(catalog.columns, 3 + 4 + 1);
  t.same(
    ['metrics', 'tx', 'alerts', 'source/ach', 'source/wire'].map((x) => catalog.column(x)),
    [0, 1, 2, 3, 4],
  );
  t.equal(catalog.column('source/other'), 7, 'the overflow is the last column');
  t.equal(catalog.column('source/late'), -1, 'not a topic before the name is sent');
  t.equal(catalog.column('nope'), -1);
  // Another thread registers a name: this catalog sees it, in the column of its slot.
  new SourceRegistry(sources.sab).slotOf('late');
  t.equal(catalog.column('source/late'), 5);
  t.ok(catalog.isKnown('source/late'));
  t.equal(catalog.column('source/wire'), 4, 'earlier columns never move');
  sources.slotOf('late-2');
  sources.slotOf('late-3');
  t.equal(catalog.column('source/late-3'), -1, 'past SOURCES_MAX a name is not a topic…');
  t.equal(catalog.column('source/other'), 7, '…it counts in source/other');
});
