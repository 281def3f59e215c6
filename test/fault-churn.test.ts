import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import t from 'tap';
import { sampleProc } from '../bench/ws-swarm/proc-stats.js';
import { startServer } from './helpers/server.js';
import { getJson, waitFor } from './helpers/wait-for.js';

/**
 * Fault (e): 1,000 clients connecting and disconnecting in a loop. Each of 1,000 loops
 * opens a WebSocket (raw `net`, as the bench swarm does), waits for the upgrade, holds it
 * 50–250 ms, drops the connection and starts again. After the churn: the open count is
 * back to zero (snapshot and /metrics), and the churn runs in two equal rounds after a
 * warm-up: the server's RSS after the second round is within 5 % of its RSS after the
 * first. A leak grows with every round; the allocator's high-water mark does not. (Against
 * the warm-up baseline instead, the check failed in full `npm test` runs: with the machine
 * busy the server fell behind, held more sockets at once and its allocator kept the higher
 * mark, +11.6 % and +14.9 %, while the same build alone came back to −0.3 … −5.2 %.)
 *
 * CI runs 20 s of churn; the full 60 s: FAULT_CHURN_SECONDS=60 (scripts/fault-churn.sh).
 */

const CLIENTS = Number(process.env.FAULT_CHURN_CLIENTS ?? 1000);
const SECONDS = Number(process.env.FAULT_CHURN_SECONDS ?? 20);
const WARMUP_SECONDS = 5;

interface ChurnStats {
  connections: number;
  upgraded: number;
  stalled: number;
  errors: number;
}

function churn(port: number, seconds: number): Promise<ChurnStats> {
  const stats: ChurnStats = { connections: 0, upgraded: 0, stalled: 0, errors: 0 };
  const deadline = Date.now() + seconds * 1000;
  const loop = (): Promise<void> =>
    new Promise((resolve) => {
      if (Date.now() >= deadline) {
        resolve();
        return;
      }
      stats.connections++;
      const s = connect({ host: '127.0.0.1', port });
      let upgraded = false;
      // A full cycle: connect, upgrade, hold 50–250 ms, drop. A client the server never
      // upgrades within 5 s is dropped too (and counted as stalled).
      let hold = setTimeout(() => {
        stats.stalled++;
        s.destroy();
      }, 5000);
      s.on('connect', () =>
        s.write(
          `GET /ws?topics=metrics HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
            `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
            'Sec-WebSocket-Version: 13\r\n\r\n',
        ),
      );
      s.on('data', (d) => {
        if (!upgraded && d.toString('latin1', 0, 12).includes('101')) {
          upgraded = true;
          stats.upgraded++;
          clearTimeout(hold);
          hold = setTimeout(() => s.destroy(), 50 + Math.random() * 200);
        }
      });
      s.on('error', () => {
        stats.errors++;
      });
      s.on('close', () => {
        clearTimeout(hold);
        setImmediate(() => void loop().then(resolve));
      });
    });
  return Promise.all(Array.from({ length: CLIENTS }, loop)).then(() => stats);
}

async function openClients(url: string): Promise<number> {
  const { body } = await getJson(`${url}/api/metrics`);
  return body.clients as number;
}

/** The lowest RSS seen over `ms` (GC and the allocator return memory lazily). */
async function settledRss(pid: number, ms: number): Promise<number> {
  let min = Number.POSITIVE_INFINITY;
  for (const end = Date.now() + ms; Date.now() < end; ) {
    min = Math.min(min, sampleProc(pid).rssBytes);
    await new Promise((r) => setTimeout(r, 250));
  }
  return min;
}

const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;

t.test(`${CLIENTS} clients churning for ${SECONDS} s: no leak`, async (t) => {
  const server = await startServer(['--sim-tps', '200', '--shards', '1', '--tick-ms', '250']);
  t.teardown(() => server.stop());
  const pid = server.proc.pid!;

  const warm = await churn(server.port, WARMUP_SECONDS);
  await waitFor('warm-up clients gone', async () => (await openClients(server.url)) === 0, 15_000);
  const baseline = await settledRss(pid, 3000);
  t.comment(`warm-up: ${warm.upgraded} connections; baseline RSS ${mb(baseline)}`);

  const started = Date.now();
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, sampleProc(pid).rssBytes);
  }, 500);
  const first = await churn(server.port, SECONDS / 2);
  await waitFor('first round gone', async () => (await openClients(server.url)) === 0, 15_000);
  const afterFirst = await settledRss(pid, 3000);
  const second = await churn(server.port, SECONDS / 2);
  clearInterval(sampler);
  const run: ChurnStats = {
    connections: first.connections + second.connections,
    upgraded: first.upgraded + second.upgraded,
    stalled: first.stalled + second.stalled,
    errors: first.errors + second.errors,
  };
  const took = (Date.now() - started) / 1000;
  t.comment(
    `churn: ${run.connections} connections (${Math.round(run.connections / took)}/s), ` +
      `${run.upgraded} upgraded, ${run.stalled} stalled, ${run.errors} socket errors, peak RSS ${mb(peak)}`,
  );
  t.ok(run.upgraded > CLIENTS * 2, 'every loop connected repeatedly');
  t.ok(run.stalled <= run.connections * 0.01, `${run.stalled} upgrades stalled (≤ 1 %)`);

  await waitFor(
    'every churned client gone',
    async () => (await openClients(server.url)) === 0,
    15_000,
  );
  t.equal(await openClients(server.url), 0, 'snapshot: 0 clients');
  const prom = await (await fetch(`${server.url}/metrics`)).text();
  t.match(prom, /\npulseboard_ws_clients 0\n/, '/metrics: 0 clients');
  const accepted = Number(/\npulseboard_ws_accepted (\d+)/.exec(prom)?.[1]);
  t.ok(accepted >= warm.upgraded + run.upgraded, `accepted ${accepted} connections in all`);

  // RSS: the second round leaves it within 5 % of where the first left it (polled for a
  // while: memory returns lazily).
  let after = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 6 && after > afterFirst * 1.05; i++)
    after = Math.min(after, await settledRss(pid, 2500));
  const growth = (after / afterFirst - 1) * 100;
  t.comment(
    `RSS after round 1: ${mb(afterFirst)} (${((afterFirst / baseline - 1) * 100).toFixed(1)} % of the warm-up baseline); ` +
      `after round 2: ${mb(after)} (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} % of round 1)`,
  );
  t.ok(
    after <= afterFirst * 1.05,
    `RSS within 5 % of round 1 after round 2 (${growth.toFixed(1)} %)`,
  );
});
