import { z } from 'zod';
import { PulseboardError } from '../errors.js';

/**
 * The body of POST /api/load-test: exactly one of
 *   {"tps": n | "max", "duration"?: s}
 *   {"stages": [{"tps": n | "max", "seconds": s}, …]}
 *   {"scenario": "steady" | "ramp" | "demo" | "max"}
 * plus optional "rampUpSeconds", "sources", "failureRate" and "flagRate". A bad body is
 * refused with PB_ERR_SCENARIO_INVALID naming the field.
 */

export const MAX_SCENARIO_TPS = 10_000_000;
const MAX_SECONDS = 7 * 24 * 3600;

const tps = z.union(
  [
    z
      .number({ error: 'must be a number or "max"' })
      .int({ error: 'must be a whole number or "max"' })
      .min(0, { error: `must be between 0 and ${MAX_SCENARIO_TPS}` })
      .max(MAX_SCENARIO_TPS, { error: `must be between 0 and ${MAX_SCENARIO_TPS}` }),
    z.literal('max'),
  ],
  { error: `must be a whole number between 0 and ${MAX_SCENARIO_TPS} or "max"` },
);

const seconds = z
  .number({ error: 'must be a number of seconds' })
  .positive({ error: 'must be more than 0' })
  .max(MAX_SECONDS, { error: `must be at most ${MAX_SECONDS}` });

export const NAMED_SCENARIOS = ['steady', 'ramp', 'demo', 'max'] as const;

const body = z
  .object(
    {
      tps: tps.optional(),
      duration: seconds.optional(),
      stages: z
        .array(
          z.object({ tps, seconds }, { error: 'must be an object {"tps", "seconds"}' }).strict(),
          {
            error: 'must be an array of stages',
          },
        )
        .min(1, { error: 'needs at least one stage' })
        .max(100, { error: 'at most 100 stages' })
        .optional(),
      scenario: z
        .enum(NAMED_SCENARIOS, { error: `must be one of ${NAMED_SCENARIOS.join(', ')}` })
        .optional(),
      rampUpSeconds: z
        .number({ error: 'must be a number of seconds' })
        .min(0, { error: 'must be between 0 and 3600' })
        .max(3600, { error: 'must be between 0 and 3600' })
        .optional(),
      sources: z
        .array(z.string({ error: 'must be a source name' }), {
          error: 'must be an array of source names',
        })
        .min(1, { error: 'needs at least one source' })
        .optional(),
      failureRate: z
        .number({ error: 'must be a number' })
        .min(0, { error: 'must be between 0 and 1' })
        .max(1, { error: 'must be between 0 and 1' })
        .optional(),
      flagRate: z
        .number({ error: 'must be a number' })
        .min(0, { error: 'must be between 0 and 1' })
        .max(1, { error: 'must be between 0 and 1' })
        .optional(),
    },
    { error: 'body must be a JSON object' },
  )
  .strict();

export type ScenarioBody = z.output<typeof body>;

export function parseScenarioBody(raw: unknown, knownSources: readonly string[]): ScenarioBody {
  const result = body.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path
      .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
      .join('');
    // Unknown keys are the client's text: named by what is allowed, never echoed.
    const message =
      issue.code === 'unrecognized_keys'
        ? field === ''
          ? `unknown field (known: ${Object.keys(body.shape).join(', ')})`
          : `${field} has an unknown field`
        : `${field || 'body'} ${issue.message}`;
    throw new PulseboardError('PB_ERR_SCENARIO_INVALID', message, { field: field || null });
  }
  const b = result.data;
  const forms = [b.tps !== undefined, b.stages !== undefined, b.scenario !== undefined].filter(
    Boolean,
  ).length;
  if (forms !== 1) {
    throw new PulseboardError(
      'PB_ERR_SCENARIO_INVALID',
      'give exactly one of "tps", "stages" or "scenario"',
      {
        field: forms === 0 ? 'tps' : 'stages',
      },
    );
  }
  if (b.duration !== undefined && b.tps === undefined) {
    throw new PulseboardError('PB_ERR_SCENARIO_INVALID', '"duration" goes with "tps"', {
      field: 'duration',
    });
  }
  if (b.sources) {
    const unknown = b.sources.filter((s) => !knownSources.includes(s));
    if (unknown.length > 0) {
      throw new PulseboardError(
        'PB_ERR_SCENARIO_INVALID',
        `sources: unknown source (configured: ${knownSources.join(', ')})`,
        {
          field: 'sources',
        },
      );
    }
  }
  return b;
}
