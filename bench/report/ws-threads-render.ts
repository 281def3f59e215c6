import { n, type ResultDoc, source, sp, toSpread, verdict } from './format.js';

/**
 * The fan-out threads' part of BENCHMARKS.md, from bench/results/peers.json: the peers run
 * (bench/peers/run-peers.ts --ws-threads 1,2) serves the broadcast from Pulseboard at each
 * WS_THREADS next to the bare uWS publisher in every repeat, so the bar's ratio is paired
 * per repeat like the fan-out bar's. Results from before that flag have no WS_THREADS=2
 * pass: the row then reads "not measured".
 */

export const WS_THREADS_BAR =
  '`WS_THREADS=2`: no gaps, 10k-client p99 ≤ 1.25× a bare uWS publisher in the same run';
const THREADS = 2;
const CLIENTS = 10_000;
const MAX_RATIO = 1.25;

/** Summary key of Pulseboard at WS_THREADS=k (run-peers.ts passKey). */
const keyOf = (k: number) => (k === 1 ? 'pulseboard' : `pulseboard-ws${k}`);

/** The peers table's name for a summary key: Pulseboard's passes say their WS_THREADS. */
export function peersLabel(peers: any, key: string): string {
  const k = /^pulseboard-ws(\d+)$/.exec(key)?.[1];
  if (k !== undefined) return `pulseboard (WS_THREADS=${k})`;
  return key === 'pulseboard' && Array.isArray(peers?.wsThreads)
    ? 'pulseboard (WS_THREADS=1)'
    : key;
}

/** WS_THREADS=2's summary and its ratios to the bare publisher, at the run's main client count. */
function measured(peers: any) {
  const c = peers?.clients as number | undefined;
  const s = c === undefined ? undefined : peers?.summary?.[c];
  const ours = s?.[keyOf(THREADS)];
  const vs = peers?.ratios?.wsThreadsVsUws?.[THREADS];
  const p99 = toSpread(vs?.p99);
  if (!ours || !s?.uws || !p99) return null;
  return { c: c!, ours, uws: s.uws, vs, p99 };
}

export function wsThreadsBar(docs: Map<string, ResultDoc>, missing: string): string {
  const d = docs.get('peers');
  const m = measured(d?.result);
  if (!m) return missing;
  const ok =
    m.c === CLIENTS &&
    m.ours.gapsTotal === 0 &&
    m.ours.connectedMin === m.c &&
    m.p99.median <= MAX_RATIO;
  const text = `p99 ${sp(m.ours.p99Ms, 0, ' ms')} vs bare uWS ${sp(m.uws.p99Ms, 0, ' ms')}: ${sp(m.p99, 2, '×')}; gaps ${n(m.ours.gapsTotal)}; connected ${n(m.ours.connectedMin)} of ${n(m.c)} in every run; CPU per delivered message ${sp(m.vs.cpuPerMessage, 2, '×')} the bare publisher's; pipeline ${n(d!.result.pipelineTps)} tx/s`;
  return `| fan-out threads | ${WS_THREADS_BAR} | ${text} | ${verdict(ok)} | ${source(d, 'npm run bench:peers')} |`;
}

/** The peers section's line: Pulseboard at each WS_THREADS ÷ the bare publisher, per repeat. */
export function wsThreadsFloorText(peers: any): string | null {
  const byK = peers?.ratios?.wsThreadsVsUws as Record<string, any> | undefined;
  if (!byK) return null;
  const parts = Object.entries(byK).map(
    ([k, f]) =>
      `WS_THREADS=${k}: p99 ${sp(f.p99, 2, '×')}, CPU per message ${sp(f.cpuPerMessage, 2, '×')} (above no-client CPU ${sp(f.marginalCpuPerMessage, 2, '×')}), main-thread CPU per message ${sp(f.mainThreadCpuPerMessage, 2, '×')}, gaps ${n(f.gapsTotal)}`,
  );
  return `Pulseboard by WS_THREADS ÷ the bare uWS publisher, per repeat at ${n(peers.clients)} clients: ${parts.join('; ')}.`;
}

/** "Where a bar is missed": what the WS_THREADS=2 runs measured on each side. */
export function wsThreadsMissed(docs: Map<string, ResultDoc>): string[] {
  const m = measured(docs.get('peers')?.result);
  if (!m || (m.p99.median <= MAX_RATIO && m.ours.gapsTotal === 0)) return [];
  const side = (x: any) =>
    `server ${sp(x.cpuCores, 2)} cores (main thread ${sp(x.mainThreadCpuCores, 2)}), swarm ${sp(x.swarmCpuCores, 2)} cores, machine ${sp(x.machineBusyCores, 2)} cores busy`;
  return [
    `- **Fan-out threads, ${n(m.c)} clients (WS_THREADS=2: p99 ${sp(m.ours.p99Ms, 0, ' ms')}, ${sp(m.p99, 2, '×')} the bare uWS publisher's ${sp(m.uws.p99Ms, 0, ' ms')}; gaps ${n(m.ours.gapsTotal)}).** During its spans: ${side(m.ours)}; during the bare publisher's: ${side(m.uws)}. Its CPU per delivered message was ${sp(m.vs.cpuPerMessage, 2, '×')} the bare publisher's (above no-client CPU ${sp(m.vs.marginalCpuPerMessage, 2, '×')}).`,
  ];
}
