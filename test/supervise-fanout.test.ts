import t from 'tap';
import { startServer } from './helpers/server.js';
import { watchReadyz } from './helpers/supervise.js';
import { getJson, waitFor } from './helpers/wait-for.js';
import { TestClient } from './helpers/ws-client.js';

/**
 * A fan-out thread (WS_THREADS=2) that throws while publishing: the process survives (its
 * App is closed before the thread ends, or the process would abort with 134), /readyz
 * names the thread while it is down, the restart is counted, the dead thread's clients are
 * taken out of the shared connection count (so WS_MAX_CONNECTIONS is not leaked: they all
 * reconnect), and the survivors never miss a frame.
 */

const CLIENTS = 8;

t.test('a failed fan-out thread is restarted on the same port and shared counters', async (t) => {
  const server = await startServer(
    ['--ws-threads', '2', '--ws-max-connections', String(CLIENTS), '--sim-tps', '200'],
    // Each thread counts the ticks it publishes to a client: the first at 8 throws (once).
    { PB_FAULT_THROW: 'fanout:8' },
  );
  t.teardown(() => server.stop());
  const readyz = watchReadyz(server.url);
  const url = `${server.wsUrl}?topics=metrics`;
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => TestClient.connect(url)));
  t.teardown(() => {
    for (const c of clients) c.close();
  });

  await waitFor('a client of the failed thread to be closed', async () =>
    clients.some((c) => c.closedWith !== null),
  );
  const prom = await waitFor('the restart in /metrics', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return /pulseboard_thread_restarts_total\{role="fanout"\} 1/.test(text) && text;
  });
  t.ok(prom, 'pulseboard_thread_restarts_total{role="fanout"} 1');
  const down = (await readyz.stop()).find((a) =>
    a.body.error?.threads?.some((n) => /^fanout [01]$/.test(n)),
  );
  t.ok(down, '/readyz named the fan-out thread while it was down');
  t.equal(down?.body.error?.code, 'PB_ERR_THREAD_DOWN');

  const survivors = clients.filter((c) => c.closedWith === null);
  const lost = CLIENTS - survivors.length;
  t.ok(lost > 0, `${lost} clients were on the failed thread`);
  const counted = await waitFor('the count of open sockets to settle', async () => {
    const { body } = await getJson(`${server.url}/api/metrics`);
    return body.clients === survivors.length && body.clients;
  });
  t.equal(counted, survivors.length, "the failed thread's sockets left the shared count");

  // Their slots were given back: all of them fit under WS_MAX_CONNECTIONS again.
  const back = await Promise.all(Array.from({ length: lost }, () => TestClient.connect(url)));
  t.teardown(() => {
    for (const c of back) c.close();
  });
  for (const c of back) await c.until((x) => x.of('metrics').length >= 2, 5000, 'frames again');
  t.pass(`the ${lost} clients reconnected and receive frames`);

  for (const c of survivors) {
    const seqs = c.of('metrics').map((f) => f.seq);
    const gaps = seqs.slice(1).filter((s, i) => s !== seqs[i]! + 1).length;
    t.equal(gaps, 0, `a client of the surviving thread saw no gap (${seqs.length} frames)`);
  }
  t.equal(await server.stop(), 0, 'a clean stop afterwards (no abort)');
});
