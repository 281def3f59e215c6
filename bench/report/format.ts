import type { Spread } from '../lib/stats.js';

/**
 * How the report prints a figure: numbers, durations, verdicts, spreads over repeats, and
 * the source line (command, conditions, machine) that goes next to each — shared by every
 * section of BENCHMARKS.md (benchmarks-render.ts, cluster-render.ts).
 */

export interface ResultDoc {
  name: string;
  command: string;
  conditions: string;
  at: string;
  machine: { cpu: string; cores: number; memoryGiB: number; node: string };
  result: any;
}

export const n = (v: number | null | undefined, digits = 0) =>
  v === null || v === undefined || Number.isNaN(v)
    ? '—'
    : v.toLocaleString('en-US', { maximumFractionDigits: digits });
export const ms = (v: number | null | undefined) =>
  v === undefined || v === null ? '—' : `${n(v, 1)} ms`;
export const verdict = (ok: boolean | null) =>
  ok === null ? 'not measured' : ok ? '**met**' : '**missed**';
/** A figure over repeats; a plain number (a result file from a single run) is one value. */
export type SpreadLike = Spread | number | null | undefined;
export function toSpread(x: SpreadLike): Spread | null {
  if (typeof x === 'number') return { median: x, min: x, max: x, values: [x] };
  return x && typeof x.median === 'number' ? x : null;
}
/** The median of a spread, or null. */
export const med = (x: SpreadLike): number | null => toSpread(x)?.median ?? null;
/** "median (min–max)", or the value alone for a single run, with a unit suffix. */
export function sp(x: SpreadLike, digits = 0, unit = ''): string {
  const s = toSpread(x);
  if (!s) return '—';
  const v = `${n(s.median, digits)}${unit}`;
  return s.values.length > 1 ? `${v} (${n(s.min, digits)}–${n(s.max, digits)})` : v;
}
export function source(d: ResultDoc | undefined, fallback: string): string {
  if (!d) return `not run yet: \`${fallback}\``;
  return `\`${d.command}\` — ${d.conditions}; ${d.machine.cores} cores (${d.machine.cpu}), Node ${d.machine.node}, ${d.at.slice(0, 16).replace('T', ' ')} UTC`;
}
