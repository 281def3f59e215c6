import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';

/**
 * `npm run bench:ingest`: HTTP ingest throughput. Starts the real server (SIM_TPS=0) on a
 * fresh loopback database, runs `--clients` concurrent producers posting JSON arrays of
 * `--batch` unique transactions for `--seconds`, and reports committed tx/s, request
 * latency and the primary's event-loop delay p99 while ingesting. Stops by itself.
 *
 *   npm run bench:ingest -- [--seconds 20] [--clients 8] [--batch 500] [--ndjson]
 */

const args = process.argv.slice(2);
const flag = (name: string, d: number) => {
  const i = args.indexOf(name);
  return i === -1 ? d : Number(args[i + 1]);
};
const seconds = flag('--seconds', 20);
const clients = flag('--clients', 8);
const batch = flag('--batch', 500);
const ndjson = args.includes('--ndjson');
const database = `pb_bench_ingest_${Date.now()}`;
const base = 'mysql://root@127.0.0.1:3306';

const main = fileURLToPath(new URL('../../src/main.js', import.meta.url));
const proc = spawn(
  process.execPath,
  [main, '--port', '0', '--sim-tps', '0', '--log-pretty', 'false', '--stats-interval-s', '0'],
  {
    env: {
      ...process.env,
      MYSQL_URL: `${base}/${database}`,
      PERSISTENCE: 'required',
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const port = await new Promise<number>((resolve, reject) => {
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const m = /"port":(\d+)/.exec(buf);
    if (m) resolve(Number(m[1]));
  });
  proc.once('exit', (c) => reject(new Error(`server exited ${c}`)));
});
const url = `http://127.0.0.1:${port}/api/transactions`;
const sources = ['card-pos', 'ach', 'wire', 'mobile', 'atm', 'p2p'];
const currencies = ['USD', 'EUR', 'GBP', 'JPY'];

let seq = 0;
function body(): string {
  const items = [];
  for (let i = 0; i < batch; i++) {
    const n = seq++;
    items.push({
      ref: `b-${n}`,
      source: sources[n % 6],
      account: `acct-${n % 5000}`,
      amount: 100 + (n % 100_000),
      currency: currencies[n % 4],
    });
  }
  return ndjson ? `${items.map((x) => JSON.stringify(x)).join('\n')}\n` : JSON.stringify(items);
}

let accepted = 0;
let requests = 0;
let non200 = 0;
const latencies: number[] = [];
const loopP99: number[] = [];
const deadline = Date.now() + seconds * 1000;
const sampler = setInterval(async () => {
  const m = (await (await fetch(`http://127.0.0.1:${port}/api/metrics`)).json()) as {
    pipeline: { eventLoopDelayP99Ms: number };
  };
  loopP99.push(m.pipeline.eventLoopDelayP99Ms);
}, 1000);

async function producer(): Promise<void> {
  while (Date.now() < deadline) {
    const b = body();
    const t0 = performance.now();
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': ndjson ? 'application/x-ndjson' : 'application/json' },
      body: b,
    });
    const j = (await r.json()) as { accepted?: number };
    latencies.push(performance.now() - t0);
    requests++;
    if (r.status === 200) accepted += j.accepted ?? 0;
    else non200++;
  }
}

const t0 = performance.now();
await Promise.all(Array.from({ length: clients }, producer));
const elapsed = (performance.now() - t0) / 1000;
clearInterval(sampler);
proc.kill('SIGTERM');
await new Promise((r) => proc.once('exit', r));

const conn = await mysql.createConnection({ uri: `${base}/${database}` });
const [rows] = await conn.query('SELECT COUNT(*) AS n FROM transactions');
const inDb = Number((rows as { n: number }[])[0]!.n);
await conn.query(`DROP DATABASE \`${database}\``);
await conn.end();
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]! * 10) /
  10;
const result = {
  benchmark: 'http-ingest',
  format: ndjson ? 'ndjson' : 'json-array',
  clients,
  batch,
  seconds: Math.round(elapsed * 10) / 10,
  requests,
  non200,
  acceptedPerSec: Math.round(accepted / elapsed),
  rowsInDb: inDb,
  acceptedEqualsRows: inDb === accepted,
  requestMs: { p50: pct(0.5), p99: pct(0.99) },
  eventLoopDelayP99Ms: {
    max: Math.max(...loopP99),
    median: loopP99.sort((a, b) => a - b)[Math.floor(loopP99.length / 2)],
  },
  node: process.version,
  cpus: availableParallelism(),
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
