import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import t from 'tap';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startServer, type TestServer } from './helpers/server.js';

/**
 * README "Sending your transactions": every example marked `<!-- sending:example -->` is run
 * as written, with bash and curl, against a server with a database (its address in place of
 * localhost:8080). Each must be accepted in full, and each ref it sends must be in MySQL once.
 */

const run = promisify(execFile);
let db: TestDatabase;
let server: TestServer;

t.before(async () => {
  db = await createTestDatabase('pb_test_readme_send');
  server = await startServer(['--sim-tps', '0', '--shards', '1'], {
    MYSQL_URL: db.url,
    PERSISTENCE: 'required',
  });
});
t.teardown(async () => {
  await server?.stop();
  await db?.drop();
});

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const examples = [...readme.matchAll(/<!-- sending:example -->\n```sh\n([\s\S]*?)```/g)].map(
  (m) => m[1]!,
);

t.test('the README examples send transactions that are stored once each', async (t) => {
  t.ok(examples.length >= 4, `${examples.length} examples found`);
  const refs: string[] = [];
  for (const example of examples) {
    const sent = [...example.matchAll(/"ref": "([^"]+)"/g)].map((m) => m[1]!);
    t.ok(sent.length > 0, 'the example sends refs');
    const script = example.replaceAll('localhost:8080', `127.0.0.1:${server.port}`);
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], { timeout: 15_000 });
    const answer = JSON.parse(stdout) as { accepted: number; duplicates: number };
    t.equal(answer.accepted, sent.length, `accepted: ${example.split('\n')[0]}`);
    t.equal(answer.duplicates, 0);
    refs.push(...sent);
  }
  const [rows] = await db.conn.query(
    'SELECT ref, COUNT(*) AS n FROM transactions WHERE ref IN (?) GROUP BY ref',
    [refs],
  );
  const found = new Map((rows as { ref: string; n: string }[]).map((r) => [r.ref, Number(r.n)]));
  for (const ref of refs) t.equal(found.get(ref), 1, `${ref} stored once`);
});
