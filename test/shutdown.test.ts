import t from 'tap';
import { startServer } from './helpers/server.js';
import { TestClient } from './helpers/ws-client.js';

/** SIGINT/SIGTERM: stop accepting, stop producers, close sockets, exit 0 within 5 s. */

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${signal} under load exits 0 within 5 s and closes every socket`, async (t) => {
    const server = await startServer(['--sim-tps', '20000', '--persistence', 'off']);
    const clients = await Promise.all(
      Array.from({ length: 20 }, () => TestClient.connect(`${server.wsUrl}?topics=metrics,tx`)),
    );
    await clients[0]!.until((c) => c.of('metrics').length >= 2, 5000, 'metrics flowing');
    const started = Date.now();
    const code = await server.stop(signal);
    const took = Date.now() - started;
    t.equal(code, 0, 'exit code 0');
    t.ok(took < 5000, `exited in ${took} ms`);
    await Promise.all(
      clients.map((c) => c.until((x) => x.closedWith !== null, 2000, 'close').catch(() => {})),
    );
    t.ok(
      clients.every((c) => c.closedWith !== null),
      'every client saw its socket close',
    );
    t.ok(
      server.logs.some((l) => l.msg === 'stopped'),
      'logged the stop',
    );
    const refused = await fetch(`${server.url}/healthz`).then(
      () => false,
      () => true,
    );
    t.ok(refused, 'no longer accepting connections');
  });
}
