import t from 'tap';
import { parseMysqlUrl } from '../src/db/db-config.js';
import { migrate } from '../src/db/migrate.js';
import { listPartitions } from '../src/db/partitions.js';
import { runRetention } from '../src/db/retention.js';
import { firstIdAt } from '../src/db/tx-id-time.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

/** Retention drops exactly the expired daily partitions and adds the days ahead. */

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 10, 12); // schema created 2026-01-10 12:00 UTC

let db: TestDatabase;
t.before(async () => {
  db = await createTestDatabase();
  await migrate(parseMysqlUrl(db.url), T0);
});
t.teardown(async () => {
  await db?.drop();
});

async function names(): Promise<string[]> {
  return (await listPartitions(db.conn)).map((p) => p.name);
}

async function insertAt(ms: number, n: number): Promise<void> {
  const rows = [];
  for (let i = 0; i < n; i++) {
    rows.push(
      `(${firstIdAt(ms) + BigInt(i)}, 'ach', 'AC1', 'purchase', 100, 'USD', 'completed', ${ms}, ${ms}, 1, 0)`,
    );
  }
  await db.conn.query(
    `INSERT INTO transactions (id, source, account, type, amount, currency, status, created_ms, completed_ms, processing_ms, risk_score) VALUES ${rows.join(',')}`,
  );
}

t.test('initial layout: yesterday … 3 days ahead, then pfuture', async (t) => {
  t.same(await names(), [
    'p20260109',
    'p20260110',
    'p20260111',
    'p20260112',
    'p20260113',
    'pfuture',
  ]);
});

t.test('a week later: new days added, exactly the expired ones dropped', async (t) => {
  await insertAt(Date.UTC(2026, 0, 9, 5), 3); // p20260109
  await insertAt(Date.UTC(2026, 0, 10, 5), 4); // p20260110
  await insertAt(Date.UTC(2026, 0, 11, 5), 5); // p20260111
  await insertAt(Date.UTC(2026, 0, 12, 5), 6); // p20260112
  await db.conn.query(
    "INSERT INTO rollup_seconds (second, source, currency, writer, count, failed, flagged, amount, volume, processing_ms) VALUES (1000, 'ach', 'USD', 0, 1, 0, 0, 1, 1, 1)",
  );
  // One quarantined row older than the cutoff, one younger.
  await db.conn.query(
    `INSERT INTO quarantine (at_ms, writer, tx_id, error_code, error, row_format, row_text)
     VALUES (${Date.UTC(2026, 0, 10, 5)}, 0, '1', 'ER_X', 'old', 'insert', '(1)'),
            (${Date.UTC(2026, 0, 12, 5)}, 0, '2', 'ER_X', 'young', 'insert', '(2)')`,
  );
  // now = 2026-01-18 12:00; retention 7 days → cutoff 2026-01-11 12:00: every row of
  // p20260109 and p20260110 is older; p20260111 still holds rows younger than the cutoff.
  const r = await runRetention(db.conn, T0 + 8 * DAY, 7, 90);
  t.same(r.dropped, ['p20260109', 'p20260110']);
  t.same(r.added, [
    'p20260114',
    'p20260115',
    'p20260116',
    'p20260117',
    'p20260118',
    'p20260119',
    'p20260120',
    'p20260121',
  ]);
  t.equal(r.rollupsDeleted, 1);
  t.equal(r.quarantineDeleted, 1, 'the quarantined row older than RETENTION_DAYS is dropped');
  const [rows] = await db.conn.query('SELECT COUNT(*) AS n FROM transactions');
  t.equal(
    Number((rows as { n: string }[])[0]!.n),
    11,
    'the 7 expired rows are gone, the 11 others stay',
  );
  t.equal((await names()).at(-1), 'pfuture');
  const again = await runRetention(db.conn, T0 + 8 * DAY, 7, 90);
  t.same(
    again,
    { added: [], dropped: [], rollupsDeleted: 0, refsDeleted: 0, quarantineDeleted: 0 },
    'idempotent',
  );
});
