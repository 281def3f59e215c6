import { parseArgs } from 'node:util';
import { parseOptions } from '../../src/config/parse-options.js';

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
  /** For a number flag: the smallest value it takes (for each number of a list too). */
  min?: number;
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
  /**
   * The script starts the server with any further flags (`--db-batch-size 1000`, …): they
   * are checked against the server's own options here, and handed back as `serverArgs`.
   */
  serverOptions?: boolean;
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
} & {
  /** With `serverOptions`: the flags that are the server's, in order (else empty). */
  serverArgs: string[];
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
  if (u.serverOptions)
    rows.push({
      left: '--<server option> <value>',
      right: 'passed to the server (see its --help)',
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
  const list = [...Object.keys(u.flags), 'help'].map((n) => `--${n}`).join(', ');
  return u.serverOptions
    ? `${list}, and the server's options (node dist/src/main.js --help)`
    : list;
}

/** Splits argv into the script's flags and the rest (each with its value), for the server. */
function splitServerArgs(flags: Record<string, FlagSpec>, argv: string[]): [string[], string[]] {
  const ours: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.startsWith('--') ? a.slice(2).split('=')[0]! : undefined;
    const mine = name === 'help' || (name !== undefined && Object.hasOwn(flags, name));
    const to = mine ? ours : rest;
    to.push(a);
    // Every server option takes a value; of ours, every one but a boolean.
    const takesValue = mine ? name !== 'help' && flags[name!]!.type !== 'boolean' : true;
    if (name !== undefined && !a.includes('=') && takesValue && i + 1 < argv.length)
      to.push(argv[++i]!);
  }
  return [ours, rest];
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
  // Number('') and Number(' ') are 0: an empty value is refused before it can read as one.
  if ((type === 'number' && text.trim() === '') || !numbers.every(Number.isFinite)) {
    throw new BenchArgsError(
      `--${name} takes ${type === 'number' ? 'a number' : 'comma-separated numbers'} (got '${text}')`,
    );
  }
  if (f.min !== undefined && numbers.some((n) => n < f.min!))
    throw new BenchArgsError(`--${name} takes numbers ≥ ${f.min} (got '${text}')`);
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
  const [ours, serverArgs] = u.serverOptions ? splitServerArgs(u.flags, argv) : [argv, []];
  try {
    ({ values } = parseArgs({ args: ours, options, strict: true, allowPositionals: false }));
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
  if (serverArgs.length > 0) {
    try {
      parseOptions(serverArgs, {});
    } catch (err) {
      const why = (err as Error).message.replace(/ \(see --help\)$/, '');
      throw new BenchArgsError(`${why}; known flags: ${known(u)}`);
    }
  }
  const out: Record<string, unknown> = { serverArgs };
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
