/** The scenario panel's custom input: a rate, or stages written as tps×seconds. */
import type { LoadTestRequest } from '../types.js';

/** "500" → {tps: 500}; "100x10, 1000x30" → stages. Returns an error message on bad input. */
export function parseCustom(spec: string): LoadTestRequest | string {
  if (/^\d+$/.test(spec)) {
    const tps = Number(spec);
    return tps > 0 ? { tps } : 'TPS must be above 0.';
  }
  const stages: { tps: number; seconds: number }[] = [];
  for (const part of spec.split(/[,;]/)) {
    const m = /^\s*(\d+)\s*[x×*@]\s*(\d+)\s*s?\s*$/i.exec(part);
    if (!m) return `Cannot read "${part.trim()}": write tps×seconds, e.g. 100x10.`;
    stages.push({ tps: Number(m[1]), seconds: Number(m[2]) });
  }
  if (stages.length === 0) return 'Enter a TPS or stages.';
  return { stages };
}
