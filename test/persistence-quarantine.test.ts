import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startServer, type TestServer } from './helpers/server.js';
import { drainPipeline, getJson, waitFor } from './helpers/wait-for.js';

/**
 * Simulator writers and permanent database errors (issue 15 §1). A row the database refuses
 * for good used to be retried forever with its whole batch: the writer stopped, its rings
 * filled, the simulator stalled. Now the batch is bisected, the good rows commit, the refused
 * row goes to the quarantine table, counted in /metrics, and the pipeline goes on. Rows are
 * poisoned with the test-only PB_FAULT_POISON_ROWS switch (every n-th ring position gets a
 * created_ms above a signed BIGINT), in both row formats: INSERT refuses it with an error,
 * LOAD DATA LOCAL only warns (and would store a clamped value), which must fail the batch
 * just the same. When even the quarantine table refuses, DB_QUARANTINE_FILE takes the rows.
 */

const POISON_EVERY = 997;
const QUARANTINE_DIR = mkdtempSync(join(tmpdir(), 'pb-quarantine-'));
const QUARANTINE_FILE = join(QUARANTINE_DIR, 'quarantine.jsonl');
t.teardown(() => rmSync(QUARANTINE_DIR, { recursive: true, force: true }));
/** Short simulated processing times: the drains at the end of each case finish sooner. */
const QUICK = ['--proc-min-ms', '5', '--proc-median-ms', '10', '--proc-max-ms', '40'];

async function counter(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
}

async function count(db: TestDatabase, sql: string): Promise<number> {
  const [r] = await db.conn.query(sql);
  return Number((r as { n: string }[])[0]!.n);
}

for (const method of ['load', 'insert'] as const) {
  t.test(
    `${method}: a refused simulator row is quarantined and the pipeline goes on`,
    async (t) => {
      const db = await createTestDatabase();
      const server = await startServer(
        [
          '--sim-tps',
          '2000',
          '--shards',
          '1',
          '--db-batch-size',
          '500',
          '--db-flush-ms',
          '20',
          '--db-write-method',
          method,
          ...QUICK,
        ],
        {
          MYSQL_URL: db.url,
          PERSISTENCE: 'required',
          PB_FAULT_POISON_ROWS: String(POISON_EVERY),
          DB_QUARANTINE_FILE: QUARANTINE_FILE,
        },
      );
      t.teardown(async () => {
        await server.stop();
        await db.drop();
      });
      await waitFor(
        'three rows quarantined and more committed after them',
        async () =>
          (await counter(server, 'pulseboard_db_rows_quarantined_total')) >= 3 &&
          (await count(db, 'SELECT COUNT(*) AS n FROM transactions')) > 3 * POISON_EVERY,
        30_000,
        250,
      );
      await drainPipeline(server.url);
      // One more tick so `completed` is final.
      await new Promise((r) => setTimeout(r, 700));
      const { body } = await getJson(`${server.url}/api/metrics`);
      const completed = body.pipeline.completed as number;
      const quarantined = body.pipeline.dbRowsQuarantined as number;
      t.ok(quarantined >= 3, `${quarantined} rows quarantined`);
      t.equal(
        quarantined,
        Math.floor((completed - 1) / POISON_EVERY) + 1,
        'exactly the poisoned ring positions (0, n, 2n, …) were refused',
      );

      const rows = await count(db, 'SELECT COUNT(*) AS n FROM transactions');
      t.equal(rows, completed - quarantined, 'rows in MySQL = completed − quarantined');
      t.equal(
        await count(db, 'SELECT COUNT(DISTINCT id) AS n FROM transactions'),
        rows,
        'no duplicate ids',
      );
      t.equal(
        await count(db, 'SELECT COUNT(*) AS n FROM transactions WHERE created_ms > 9e15'),
        0,
        'no clamped value was stored',
      );

      const [q] = await db.conn.query(
        'SELECT tx_id, error_code, row_format, row_text FROM quarantine ORDER BY seq',
      );
      const held = q as {
        tx_id: string;
        error_code: string;
        row_format: string;
        row_text: string;
      }[];
      t.equal(held.length, quarantined, 'every refused row is in the quarantine table');
      t.same(
        [...new Set(held.map((r) => r.error_code))],
        ['ER_WARN_DATA_OUT_OF_RANGE'],
        'with the cause',
      );
      t.ok(
        held.every((r) => r.row_format === method && r.row_text.includes('100000000000000000000')),
        'and the row as it was sent',
      );
      t.equal(
        await count(
          db,
          `SELECT COUNT(*) AS n FROM transactions WHERE id IN (${held.map((r) => r.tx_id).join(',')})`,
        ),
        0,
        'a quarantined row is not in transactions',
      );

      // Rollups cover exactly the committed rows.
      const [a] = await db.conn.query(
        `SELECT second, source, currency, SUM(count) AS c, SUM(amount) AS a FROM rollup_seconds
        GROUP BY second, source, currency ORDER BY second, source, currency`,
      );
      const [b] = await db.conn.query(
        `SELECT FLOOR(completed_ms / 1000) AS second, source, currency, COUNT(*) AS c, SUM(amount) AS a
         FROM transactions GROUP BY 1, source, currency ORDER BY 1, source, currency`,
      );
      const norm = (r: unknown) =>
        (r as Record<string, unknown>[]).map((x) => Object.values(x).map(String).join('|'));
      t.same(norm(a), norm(b), 'rollups equal a brute-force aggregation of the committed rows');

      t.equal(
        await counter(server, 'pulseboard_db_rows_quarantined_total'),
        quarantined,
        'counted in /metrics',
      );
      const logged = server.logs.filter((l) => l.code === 'PB_ERR_DB_QUARANTINED');
      t.equal(logged.length, 1, 'logged at error level once for the cause');
      t.equal(logged[0]?.where, 'table');
      t.equal(logged[0]?.level, 50);
      t.equal((await fetch(`${server.url}/readyz`)).status, 200, 'the server is ready');
      if (method === 'insert') await quarantineFileTakesOver(t, db, server, quarantined);
    },
  );
}

/**
 * When the quarantine table refuses too (here: dropped), refused rows go to
 * DB_QUARANTINE_FILE, one JSON line each, and the pipeline still goes on.
 */
async function quarantineFileTakesOver(
  t: Test,
  db: TestDatabase,
  server: TestServer,
  before: number,
): Promise<void> {
  await db.conn.query('DROP TABLE quarantine');
  await fetch(`${server.url}/api/load-test`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tps: 2000 }),
  });
  await waitFor(
    'two more rows quarantined',
    async () => (await counter(server, 'pulseboard_db_rows_quarantined_total')) >= before + 2,
    30_000,
    250,
  );
  await drainPipeline(server.url);
  await new Promise((r) => setTimeout(r, 700));
  const { body } = await getJson(`${server.url}/api/metrics`);
  const quarantined = body.pipeline.dbRowsQuarantined as number;
  t.ok(existsSync(QUARANTINE_FILE), 'the quarantine file exists');
  const lines = readFileSync(QUARANTINE_FILE, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.equal(lines.length, quarantined - before, 'one JSON line per row refused since the drop');
  t.ok(
    lines.every(
      (l) =>
        l.errorCode === 'ER_WARN_DATA_OUT_OF_RANGE' && l.rowText.includes('100000000000000000000'),
    ),
    'with the cause and the row as sent',
  );
  t.equal(
    await count(db, 'SELECT COUNT(*) AS n FROM transactions'),
    body.pipeline.completed - quarantined,
    'rows in MySQL = completed − quarantined',
  );
  const logged = await waitFor('the error log line for the file', async () =>
    server.logs.find((l) => l.code === 'PB_ERR_DB_QUARANTINED' && l.where === 'file'),
  );
  t.equal(logged.level, 50, 'logged at error level, saying where the rows went');
}
