import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { deleteStreams, natsClient, SHARED_NATS, uniqueStream } from './helpers/nats.js';
import { startServer, type TestServer } from './helpers/server.js';
import { waitFor } from './helpers/wait-for.js';

/**
 * README "From a NATS JetStream stream": its copy-paste examples run as written, on the
 * shared NATS, with only the subject and stream names swapped for this suite's own (so
 * that runs at the same time never meet): the server starts with the INGEST_STREAM shown,
 * the publish snippet's transactions are stored, the dead-letter snippet prints a poison
 * message's reason.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const names = uniqueStream('readme');
let db: TestDatabase;
let server: TestServer;

function examples(): string[] {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const start = readme.indexOf('<!-- stream-example:start -->');
  const end = readme.indexOf('<!-- stream-example:end -->');
  if (start === -1 || end < start) throw new Error('README has no stream-example markers');
  const part = readme.slice(start, end);
  return [...part.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

const own = (snippet: string) =>
  snippet
    .replaceAll('PULSEBOARD_TX_DEAD', names.deadStream)
    .replaceAll('pulseboard.tx', names.subject);

t.before(async () => {
  db = await createTestDatabase('pb_stream_readme');
});

t.teardown(async () => {
  await server?.stop();
  await deleteStreams(names);
  await db?.drop();
});

t.test('the README JetStream examples work as written', async (t) => {
  const [startCmd, publish, readDead] = examples();
  t.ok(startCmd && publish && readDead, 'three examples');
  const env = /^INGEST_STREAM=(\S+) npm start$/m.exec(startCmd!);
  t.ok(env, 'the start example sets INGEST_STREAM');
  t.equal(env![1], `nats://${SHARED_NATS}/pulseboard.tx`);

  server = await startServer(['--sim-tps', '0', '--ingest-stream-name', names.stream], {
    INGEST_STREAM: own(env![1]!),
    MYSQL_URL: db.url,
    PERSISTENCE: 'required',
  });
  await waitFor('stream door consuming', async () => {
    const r = await fetch(`${server.url}/readyz`);
    return r.status === 200;
  });

  await run('sh', ['-c', own(publish!)], { cwd: ROOT, timeout: 20_000 });
  const refs = await waitFor('the published transactions stored', async () => {
    const [r] = await db.conn.query('SELECT ref FROM transactions ORDER BY ref');
    const list = (r as { ref: string }[]).map((x) => x.ref);
    return list.length === 3 && list;
  });
  t.same(refs, ['order-2001', 'order-2002', 'order-2003']);

  const nc = await natsClient();
  await nc.jetstream().publish(names.subject, '{"ref": "order-2004", ');
  await nc.close();
  await waitFor('the poison message dead-lettered', async () => {
    const m = (await (await fetch(`${server.url}/api/metrics`)).json()) as {
      stream: { deadLetters: number };
    };
    return m.stream.deadLetters === 1;
  });
  const { stdout } = await run('sh', ['-c', own(readDead!)], { cwd: ROOT, timeout: 20_000 });
  t.match(
    stdout,
    /^PB_ERR_HTTP_BAD_JSON request body is not valid JSON.*\{"ref": "order-2004", $/m,
  );
});
