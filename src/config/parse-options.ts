import type { z } from 'zod';
import { PulseboardError } from '../errors.js';
import { checkExposure } from '../security/exposure.js';
import {
  flagOf,
  OPTION_NAMES,
  OPTION_SPECS,
  type OptionName,
  type Options,
} from './option-specs.js';

/**
 * Options come from three places, later ones winning: defaults, environment variables,
 * CLI flags (`--sim-tps 100` or `--sim-tps=100`). Everything is parsed and validated here,
 * once, at the edge; the rest of the program only sees a typed, frozen Options.
 */

export interface ParsedArgs {
  options: Options;
  help: boolean;
}

const byFlag = new Map(OPTION_NAMES.map((n) => [flagOf(n), n] as const));

function sourceLabel(name: OptionName, from: 'env' | 'flag' | 'default'): string {
  const spec = OPTION_SPECS[name];
  if (from === 'flag') return `${flagOf(name)}`;
  if (from === 'env') return `${spec.env}`;
  return `${spec.env} default`;
}

export function parseOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  overrides: Partial<Record<OptionName, string>> = {},
): ParsedArgs {
  const raw = new Map<OptionName, { value: string; from: 'env' | 'flag' | 'default' }>();
  for (const name of OPTION_NAMES) {
    const fromEnv = env[OPTION_SPECS[name].env];
    raw.set(
      name,
      fromEnv !== undefined
        ? { value: fromEnv, from: 'env' }
        : { value: OPTION_SPECS[name].default, from: 'default' },
    );
  }
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const name = byFlag.get(flag);
    if (!name) {
      throw new PulseboardError('PB_ERR_OPTIONS_UNKNOWN', `unknown option ${flag} (see --help)`);
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined)
      throw new PulseboardError('PB_ERR_OPTIONS_INVALID', `option ${flag} needs a value`);
    raw.set(name, { value, from: 'flag' });
  }
  for (const [name, value] of Object.entries(overrides) as [OptionName, string][]) {
    raw.set(name, { value, from: 'flag' });
  }

  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const name of OPTION_NAMES) {
    const { value, from } = raw.get(name)!;
    const result = (OPTION_SPECS[name].schema as z.ZodType).safeParse(value);
    if (result.success) out[name] = result.data;
    else {
      const why = result.error.issues.map((i) => i.message).join('; ');
      // A secret is never echoed, not even a rejected one: say how long it was instead.
      const got =
        'secret' in OPTION_SPECS[name] ? `${value.length} characters` : JSON.stringify(value);
      problems.push(`options.${name} (${sourceLabel(name, from)}) ${why} (got ${got})`);
    }
  }
  if (problems.length === 0) crossCheck(out as Options, problems);
  if (problems.length > 0) {
    throw new PulseboardError(
      'PB_ERR_OPTIONS_INVALID',
      `invalid configuration:\n  ${problems.join('\n  ')}`,
    );
  }
  return { options: Object.freeze(out) as Options, help };
}

function crossCheck(o: Options, problems: string[]): void {
  checkExposure(o, problems);
  if (o.allowedOrigins.length > 0 && o.wsAllowedOrigins.length > 0) {
    problems.push(
      'options.wsAllowedOrigins (WS_ALLOWED_ORIGINS) is the deprecated name of ALLOWED_ORIGINS; ' +
        'both are set: move its origins to ALLOWED_ORIGINS and unset it',
    );
  }
  if (o.ingestMaxQueuedBytes !== 'auto' && o.ingestMaxQueuedBytes < o.ingestBodyLimit) {
    problems.push(
      `options.ingestMaxQueuedBytes (INGEST_MAX_QUEUED_BYTES) must be auto or at least INGEST_BODY_LIMIT (${o.ingestBodyLimit}): a body at the limit could never be accepted (got ${o.ingestMaxQueuedBytes})`,
    );
  }
  if (o.wsThreads > 1 && o.wsPort !== 0 && o.wsPort === o.port) {
    problems.push(
      `options.wsPort (WS_PORT) must differ from PORT with WS_THREADS > 1: the fan-out threads share it, the HTTP API may not (got ${o.wsPort})`,
    );
  }
  if (o.sources.length > o.sourcesMax) {
    problems.push(
      `options.sourcesMax (SOURCES_MAX) must be at least the number of SOURCES (${o.sources.length}): the simulator's sources are always tracked (got ${o.sourcesMax})`,
    );
  }
  if (!(o.procMinMs <= o.procMedianMs && o.procMedianMs <= o.procMaxMs)) {
    problems.push(
      `options.procMinMs ≤ procMedianMs ≤ procMaxMs must hold (got ${o.procMinMs}, ${o.procMedianMs}, ${o.procMaxMs})`,
    );
  }
}

/** Warnings for options that still work but will not forever (logged at start). */
export function deprecations(o: Options): string[] {
  return o.wsAllowedOrigins.length > 0
    ? [
        'WS_ALLOWED_ORIGINS is deprecated: it is now ALLOWED_ORIGINS, which covers HTTP POSTs ' +
          'and /ws alike (its value is used as ALLOWED_ORIGINS; rename it)',
      ]
    : [];
}
