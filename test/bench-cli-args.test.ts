import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { BenchArgsError, benchUsage, parseBenchArgs } from '../bench/lib/cli-args.js';

/**
 * The bench scripts' shared flag parser (bench/lib/cli-args.ts). What broke: an unknown flag
 * — `--help` among them — was ignored and the whole benchmark ran with its defaults. Now the
 * real script stops at once: exit 2 naming the flag and the known ones, and `--help` prints
 * the usage and exits 0; neither starts a server or touches the database.
 */

const HTTP_INGEST = fileURLToPath(new URL('../bench/ingest/http-ingest.js', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [HTTP_INGEST, ...args],
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? null) : 0;
        resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
      },
    );
  });
}

t.test('an unknown flag exits 2 with the flag and the known ones, before any run', async (t) => {
  const r = await run(['--connection', '256']);
  t.equal(r.code, 2);
  t.match(r.stderr, /unknown flag --connection; known flags: .*--connections, --seconds/);
  t.match(r.stderr, /--help/);
  t.equal(r.stdout, '', 'no benchmark started');
});

t.test('--help prints the usage and exits 0', async (t) => {
  const r = await run(['--help']);
  t.equal(r.code, 0);
  t.match(r.stdout, /^usage: node dist\/bench\/ingest\/http-ingest\.js \[flags\]/);
  t.match(r.stdout, /--connections <numbers> +connection counts .*\(default: 8,64,256\)/);
  t.match(r.stdout, /--client <raw\|autocannon>/);
  t.equal(r.stderr, '');
});

const usage = {
  command: 'node x.js',
  about: 'a test',
  flags: {
    seconds: { type: 'number', default: '20', help: 'seconds' },
    sizes: { type: 'numbers', default: '100,1000', help: 'sizes' },
    quiet: { type: 'boolean', help: 'no output' },
    client: { type: 'string', default: 'raw', choices: ['raw', 'autocannon'], help: 'client' },
    label: { type: 'string', help: 'a label' },
  },
} as const;

t.test('values are typed, defaults applied, and bad values named', async (t) => {
  t.same(parseBenchArgs(usage, []), {
    serverArgs: [],
    seconds: 20,
    sizes: [100, 1000],
    quiet: false,
    client: 'raw',
    label: undefined,
  });
  t.same(parseBenchArgs(usage, ['--seconds', '5', '--sizes', '', '--quiet', '--label=x']), {
    serverArgs: [],
    seconds: 5,
    sizes: [],
    quiet: true,
    client: 'raw',
    label: 'x',
  });
  t.equal(parseBenchArgs(usage, ['--help']), null);
  const bad = (argv: string[], message: RegExp) =>
    t.throws(() => parseBenchArgs(usage, argv), { name: 'BenchArgsError', message });
  bad(['--seconds', 'ten'], /--seconds takes a number \(got 'ten'\)/);
  bad(['--sizes', '1,x'], /--sizes takes comma-separated numbers/);
  bad(['--client', 'curl'], /--client takes raw or autocannon/);
  bad(['--seconds'], /--seconds/);
  bad(['stray'], /unexpected argument stray; known flags: --seconds, --sizes/);
  bad(['-x'], /unknown flag -x/);
  t.ok(new BenchArgsError('x').code === 'PB_ERR_BENCH_ARGS');
  t.match(benchUsage(usage), /--quiet +no output\n/);
});

t.test('a script that starts the server takes its options, checked by its parser', async (t) => {
  const withServer = {
    command: 'node y.js',
    about: 'a test',
    flags: {
      seconds: { type: 'number', default: '15', min: 1, help: 'seconds' },
      json: { type: 'boolean', help: 'JSON' },
    },
    serverOptions: true,
  } as const;
  t.same(parseBenchArgs(withServer, ['--db-writers', '2', '--json', '--seconds=3']), {
    serverArgs: ['--db-writers', '2'],
    seconds: 3,
    json: true,
  });
  t.throws(() => parseBenchArgs(withServer, ['--db-writer', '2']), {
    message:
      /unknown option --db-writer; known flags: --seconds, --json, --help, and the server's options/,
  });
  t.throws(() => parseBenchArgs(withServer, ['--seconds', '0']), {
    message: /--seconds takes numbers ≥ 1/,
  });
});
