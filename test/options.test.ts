import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { OPTION_NAMES, OPTION_SPECS } from '../src/config/option-specs.js';
import { parseOptions } from '../src/config/parse-options.js';

/** Options: env and flags, one validation place, messages that name the option and range. */

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const run = promisify(execFile);

t.test('defaults, env and flags (flags win)', async (t) => {
  const { options } = parseOptions([], {});
  t.equal(options.port, 8080);
  t.equal(options.host, '127.0.0.1');
  t.equal(options.tickMs, 500);
  t.equal(options.simTps, 10);
  t.equal(options.persistence, 'auto');
  t.ok(options.shards >= 1);
  const both = parseOptions(['--sim-tps', '300', '--tick-ms=250'], {
    SIM_TPS: '20',
    PORT: '9000',
  }).options;
  t.equal(both.simTps, 300, 'flag beats env');
  t.equal(both.port, 9000, 'env beats default');
  t.equal(both.tickMs, 250, '--flag=value form');
  t.same(parseOptions([], { SOURCES: 'shop-1, shop-2' }).options.sources, ['shop-1', 'shop-2']);
});

t.test('invalid values name the option, where it came from, and the accepted range', async (t) => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [
      ['--port', '70000'],
      {},
      /options\.port \(--port\) must be between 0 and 65535 \(got "70000"\)/,
    ],
    [[], { TICK_MS: '5' }, /options\.tickMs \(TICK_MS\) must be between 50 and 10000/],
    [['--sim-tps', 'lots'], {}, /options\.simTps \(--sim-tps\) must be a number/],
    [['--failure-rate', '1.5'], {}, /options\.failureRate .* must be between 0 and 1/],
    [['--persistence', 'maybe'], {}, /options\.persistence .* must be auto, required or off/],
    [['--ring-capacity', '1000'], {}, /options\.ringCapacity .* must be a power of two/],
    [['--sources', 'a,a'], {}, /options\.sources .* names must be unique/],
    [['--sources', 'ach,other'], {}, /options\.sources .* "other" is reserved/],
    [[], { SOURCES_MAX: '257' }, /options\.sourcesMax \(SOURCES_MAX\) must be between 1 and 256/],
    [
      ['--sources', 'a,b,c', '--sources-max', '2'],
      {},
      /options\.sourcesMax \(SOURCES_MAX\) must be at least the number of SOURCES \(3\)/,
    ],
    [
      ['--proc-min-ms', '500', '--proc-median-ms', '100'],
      {},
      /procMinMs ≤ procMedianMs ≤ procMaxMs/,
    ],
    [
      ['--ingest-max-queued-bytes', 'lots'],
      {},
      /options\.ingestMaxQueuedBytes .* must be auto or a whole number of bytes/,
    ],
    [
      ['--ingest-max-queued-bytes', '2048', '--ingest-body-limit', '4096'],
      {},
      /ingestMaxQueuedBytes \(INGEST_MAX_QUEUED_BYTES\) must be auto or at least INGEST_BODY_LIMIT \(4096\)/,
    ],
    [[], { WS_THREADS: '0' }, /options\.wsThreads \(WS_THREADS\) must be between 1 and 16/],
    [
      ['--ws-threads', '2', '--port', '9000', '--ws-port', '9000'],
      {},
      /options\.wsPort \(WS_PORT\) must differ from PORT with WS_THREADS > 1/,
    ],
    [['--ws-public-url', 'ws:/x'], {}, /options\.wsPublicUrl .* must be empty, a path/],
  ];
  for (const [argv, env, message] of cases) {
    t.throws(
      () => parseOptions(argv, env),
      { code: 'PB_ERR_OPTIONS_INVALID', message },
      argv.join(' ') || JSON.stringify(env),
    );
  }
  t.throws(() => parseOptions(['--bogus', '1'], {}), { code: 'PB_ERR_OPTIONS_UNKNOWN' });
  t.throws(() => parseOptions(['--port'], {}), {
    code: 'PB_ERR_OPTIONS_INVALID',
    message: /needs a value/,
  });
});

t.test('--help lists every option; a bad option exits 2 with the message', async (t) => {
  const { stdout } = await run(process.execPath, [MAIN, '--help']);
  for (const name of OPTION_NAMES)
    t.match(stdout, OPTION_SPECS[name].env, `--help mentions ${OPTION_SPECS[name].env}`);
  t.match(stdout, '--sim-tps');
  const failed = await run(process.execPath, [MAIN, '--tick-ms', '1']).catch(
    (e: { code: number; stderr: string }) => e,
  );
  t.equal((failed as { code: number }).code, 2);
  t.match(
    (failed as { stderr: string }).stderr,
    /options\.tickMs \(--tick-ms\) must be between 50 and 10000/,
  );
});
