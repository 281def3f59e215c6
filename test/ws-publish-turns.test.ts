import t from 'tap';
import { TestClient } from './helpers/ws-client.js';
import { startServerWith, WS_THREAD_COUNTS } from './helpers/ws-threads.js';

/**
 * A tick handed out over several event-loop turns (src/ws/partitioned-publisher.ts): with 8
 * slices and a budget of 3 sockets per turn, 20 clients take about 7 turns per tick. Every
 * client still gets every tick, in order, the same frame as every other client, also while
 * others leave and join between ticks.
 */

const CLIENTS = 20;

for (const threads of WS_THREAD_COUNTS)
  t.test(`a tick in many turns reaches every client (WS_THREADS=${threads})`, async (t) => {
    const server = await startServerWith(threads, [
      '--sim-tps',
      '200',
      '--persistence',
      'off',
      '--ws-publish-partitions',
      '8',
      '--ws-publish-sockets-per-turn',
      '3',
    ]);
    t.teardown(() => server.stop());
    const url = `${server.wsUrl}${server.wsUrl.includes('?') ? '&' : '?'}topics=metrics`;
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, () => TestClient.connect(url)),
    );
    t.teardown(() => {
      for (const c of clients) c.close();
    });
    await Promise.all(clients.map((c) => c.until((x) => x.of('metrics').length >= 2, 6000)));
    // A quarter of them leave and as many join while ticks go on.
    for (const c of clients.splice(0, CLIENTS / 4)) c.close();
    clients.push(
      ...(await Promise.all(Array.from({ length: CLIENTS / 4 }, () => TestClient.connect(url)))),
    );
    await Promise.all(clients.map((c) => c.until((x) => x.of('metrics').length >= 4, 8000)));

    const bySeq = new Map<number, string>();
    let mismatched = 0;
    for (const c of clients) {
      const frames = c.of('metrics');
      const gaps = frames.slice(1).filter((f, i) => f.seq !== frames[i]!.seq + 1).length;
      t.equal(gaps, 0, `consecutive seq ${frames[0]!.seq}…${frames.at(-1)!.seq}`);
      for (const f of frames) {
        const body = JSON.stringify(f);
        const seen = bySeq.get(f.seq);
        if (seen === undefined) bySeq.set(f.seq, body);
        else if (seen !== body) mismatched++;
      }
    }
    t.equal(mismatched, 0, 'every client got the same frame for a seq');
  });
