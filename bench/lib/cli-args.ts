import { parseArgs } from 'node:util';

/**
 * The bench scripts' flags, declared once per script and read here with node:util parseArgs
 * in strict mode. An unknown flag or a flag without its value stops the script before it
 * starts anything, naming the flag and listing the known ones (exit 2): before this each
 * script looked its flags up with indexOf, so a typo — or `--help` — silently ran the whole
 * benchmark with the defaults. `--help` prints the usage and exits 0.
 *
 *   const flags = benchArgs({
 *     command: 'node dist/bench/ingest/http-ingest.js',
 *     about: 'POST /api/transactions at 8, 64, 256 connections …',
 *     flags: { seconds: { type: 'number', default: '20', help: 'measured seconds per run' } },
 *   });
 *   flags.seconds // number
 */

/** How a flag's text becomes its value: `numbers` is a comma-separated list ('' → []). */
export type FlagType = 'string' | 'number' | 'numbers' | 'boolean';

export interface FlagSpec {
  type: FlagType;
  /** The value when the flag is absent, as it would be typed (booleans default to false). */
  default?: string;
  /** For a string flag: the only values it takes. */
  choices?: readonly string[];
  help: string;
}

export interface BenchUsage<F extends Record<string, FlagSpec>> {
  /** How the script is run, e.g. `node dist/bench/ingest/http-ingest.js`. */
  command: string;
  /** One paragraph: what the script measures. */
  about: string;
  flags: F;
}

type Value<T extends FlagType> = T extends 'boolean'
  ? boolean
  : T extends 'number'
    ? number
    : T extends 'numbers'
      ? number[]
      : string;

export type BenchFlags<F extends Record<string, FlagSpec>> = {
  [K in keyof F]: F[K] extends { type: 'boolean' }
    ? boolean
    : F[K] extends { default: string }
      ? Value<F[K]['type']>
      : Value<F[K]['type']> | undefined;
};

/** A bad command line; `message` names the flag and the known ones. */
export class BenchArgsError extends Error {
  readonly code = 'PB_ERR_BENCH_ARGS';
  override readonly name = 'BenchArgsError';
}

/** The usage text `--help` prints. */
export function benchUsage<F extends Record<string, FlagSpec>>(u: BenchUsage<F>): string {
  const rows = Object.entries(u.flags).map(([name, f]) => {
    const kind = f.choices ? f.choices.join('|') : f.type;
    const left = f.type === 'boolean' ? `--${name}` : `--${name} <${kind}>`;
    const d = f.default === undefined ? '' : ` (default: ${f.default === '' ? "''" : f.default})`;
    return { left, right: `${f.help}${d}` };
  });
  rows.push({ left: '--help', right: 'print this and exit' });
  const width = Math.max(...rows.map((r) => r.left.length));
  return [
    `usage: ${u.command} [flags]`,
    '',
    u.about,
    '',
    'flags:',
    ...rows.map((r) => `  ${r.left.padEnd(width)}  ${r.right}`),
    '',
  ].join('\n');
}

function known<F extends Record<string, FlagSpec>>(u: BenchUsage<F>): string {
  return [...Object.keys(u.flags), 'help'].map((n) => `--${n}`).join(', ');
}

function convert(name: string, f: FlagSpec, text: string): unknown {
  const type = f.type;
  if (type === 'string') {
    if (f.choices && !f.choices.includes(text))
      throw new BenchArgsError(`--${name} takes ${f.choices.join(' or ')} (got '${text}')`);
    return text;
  }
  const parts = type === 'numbers' ? text.split(',').filter((x) => x.trim() !== '') : [text];
  const numbers = parts.map(Number);
  const bad = parts.find((_, i) => text.trim() === '' || !Number.isFinite(numbers[i]));
  if (bad !== undefined || (type === 'number' && text.trim() === '')) {
    throw new BenchArgsError(
      `--${name} takes ${type === 'number' ? 'a number' : 'comma-separated numbers'} (got '${text}')`,
    );
  }
  return type === 'number' ? numbers[0] : numbers;
}

/**
 * Parses `argv` against the script's flags; throws BenchArgsError for an unknown flag, a
 * missing or malformed value, or a positional argument. Returns null for `--help`.
 */
export function parseBenchArgs<const F extends Record<string, FlagSpec>>(
  u: BenchUsage<F>,
  argv: string[],
): BenchFlags<F> | null {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const [name, f] of Object.entries(u.flags))
    options[name] = { type: f.type === 'boolean' ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (err) {
    // parseArgs' own message suggests `--` for positionals, which no bench script takes.
    const m = /option '([^']+)'|argument '([^']+)'/i.exec((err as Error).message);
    const what = m?.[1] ?? m?.[2];
    const code = (err as { code?: string }).code;
    const reason =
      code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
        ? `unknown flag ${what ?? ''}`.trim()
        : code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
          ? `unexpected argument ${what ?? ''}`.trim()
          : (err as Error).message;
    throw new BenchArgsError(`${reason}; known flags: ${known(u)}`);
  }
  if (values.help === true) return null;
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(u.flags)) {
    const v = values[name];
    if (f.type === 'boolean') out[name] = v === true;
    else if (typeof v === 'string') out[name] = convert(name, f, v);
    else out[name] = f.default === undefined ? undefined : convert(name, f, f.default);
  }
  return out as BenchFlags<F>;
}

/**
 * parseBenchArgs on this process's command line, for a script's top level: `--help` prints
 * the usage and exits 0; a bad command line prints why and exits 2, before any work starts.
 */
export function benchArgs<const F extends Record<string, FlagSpec>>(
  u: BenchUsage<F>,
  argv: string[] = process.argv.slice(2),
): BenchFlags<F> {
  let flags: BenchFlags<F> | null;
  try {
    flags = parseBenchArgs(u, argv);
  } catch (err) {
    if (!(err instanceof BenchArgsError)) throw err;
    process.stderr.write(`${u.command}: ${err.message} (--help for usage)\n`);
    process.exit(2);
  }
  if (flags === null) {
    process.stdout.write(benchUsage(u));
    process.exit(0);
  }
  return flags;
}
