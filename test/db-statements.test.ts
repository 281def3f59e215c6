import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import t from 'tap';
import { batchConnectionOptions, connectionOptions, parseMysqlUrl } from '../src/db/db-config.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

/**
 * `multipleStatements` (issue 15 §3): only the writers' batches and the ingest group commit
 * send several statements in one round trip. Every other connection (reads, migrations,
 * retention, the monitor, the start-up reload) is made with connectionOptions(), which
 * must refuse a stacked query, so an injection that ever slipped into one of them could not
 * append `; DROP TABLE …`. On the code before this change connectionOptions() turned
 * multiple statements on for every connection: the stacked query ran.
 */

let db: TestDatabase;
t.before(async () => {
  db = await createTestDatabase();
  await db.conn.query('CREATE TABLE canary (x INT)');
});
t.teardown(() => db?.drop());

const INJECTED = 'SELECT 1 AS one; DROP TABLE canary';

async function canaryExists(): Promise<boolean> {
  const [rows] = await db.conn.query(
    'SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
    ['canary'],
  );
  return Number((rows as { n: string }[])[0]!.n) === 1;
}

t.test('a read / monitor / migration connection refuses a stacked query', async (t) => {
  const conn = await mysql.createConnection(connectionOptions(parseMysqlUrl(db.url)));
  t.teardown(() => conn.end());
  await t.rejects(
    conn.query(INJECTED),
    { code: 'ER_PARSE_ERROR' },
    'the second statement is refused',
  );
  t.ok(await canaryExists(), 'and did not run');
  const [rows] = await conn.query('SELECT 1 AS one');
  t.same(rows, [{ one: 1 }], 'single statements still work');
});

t.test('the batch connections keep their one-round-trip batches', async (t) => {
  const conn = await mysql.createConnection(batchConnectionOptions(parseMysqlUrl(db.url)));
  t.teardown(() => conn.end());
  const [res] = await conn.query('START TRANSACTION; INSERT INTO canary VALUES (1); COMMIT');
  t.equal((res as unknown[]).length, 3, 'three results from one query');
});

t.test('only the writer lanes and the ingest thread ask for multiple statements', async (t) => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const users: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(root, dir))) {
      const rel = `${dir}/${name}`;
      if (statSync(join(root, rel)).isDirectory()) walk(rel);
      else if (rel.endsWith('.ts') && rel !== 'src/db/db-config.ts') {
        const text = readFileSync(join(root, rel), 'utf8');
        if (/batchConnectionOptions|multipleStatements/.test(text)) users.push(rel);
      }
    }
  };
  walk('src');
  walk('workers');
  t.same(users.sort(), ['workers/ingest/group-committer.ts', 'workers/writer/lane.ts']);
});
