import { med, ms, n, type ResultDoc, source, sp, verdict } from './format.js';

/**
 * The cluster's part of BENCHMARKS.md and ARCHITECTURE.md's figures, from
 * bench/results/cluster.json (`npm run bench:cluster`, bench/cluster/run.ts): its two
 * bars (DESIGN §7, one row per clause), its section, and the figures §4 quotes.
 */

export const CLUSTER_BARS = {
  merge: 'merge latency p99 < one tick + 50 ms',
  bytes: 'backplane bytes per tick independent of the transaction rate',
} as const;

/**
 * "Independent of the rate", as measured: the mean bytes per tick of the partial (the
 * windows) and of the feed's transaction sample, at every rate, within ±5 % of their mean
 * at the lowest rate (a partial carries two or three seconds depending on the tick's phase,
 * so means of equal content still differ by a few %). The feed's alerts are every flagged
 * transaction (ALERTS_PER_TICK at most), not a sample: they are shown next to it, with
 * their count per message, not folded into the verdict.
 */
const SAME_SIZE = 0.05;

const runsOf = (d: ResultDoc | undefined): any[] =>
  [...((d?.result?.runs as any[]) ?? [])].sort((a, b) => a.clusterTps - b.clusterTps);

type BytesField =
  | 'partialBytesPerTick'
  | 'feedBytesPerTick'
  | 'feedSampleBytesPerTick'
  | 'feedAlertBytesPerTick';

/** The largest relative difference of a per-tick mean from its value at the lowest rate. */
function bytesGrowth(runs: any[], field: BytesField = 'partialBytesPerTick'): number | null {
  if (runs.length < 2 || runs.some((r) => r[field] === undefined)) return null;
  const base = runs[0][field].mean;
  return Math.max(...runs.map((r) => Math.abs(r[field].mean - base) / base));
}

export function clusterBars(docs: Map<string, ResultDoc>, missing: string[]): string[] {
  const d = docs.get('cluster');
  const runs = runsOf(d);
  if (!d || runs.length === 0) return missing;
  const worst = Math.max(...runs.map((r) => r.mergeLatencyMs.p99));
  const growth = bytesGrowth(runs);
  const sampleGrowth = bytesGrowth(runs, 'feedSampleBytesPerTick');
  const at = (r: any) => `${n(r.clusterTps)} tx/s`;
  const means = (field: BytesField) =>
    runs.map((r) => `${n(r[field].mean)} B at ${at(r)}`).join(', ');
  const pct = (g: number | null) => (g === null ? '—' : `${n(g * 100, 1)} %`);
  return [
    `| cluster | ${CLUSTER_BARS.merge} | ${runs.map((r) => `${ms(r.mergeLatencyMs.p99)} at ${at(r)}`).join(', ')} (bar ${ms(runs[0].mergeLatencyMs.bar)}) | ${verdict(worst < runs[0].mergeLatencyMs.bar)} | ${source(d, 'npm run bench:cluster')} |`,
    `| cluster | ${CLUSTER_BARS.bytes} | per node and tick, mean: partial (the windows) ${means('partialBytesPerTick')} (largest difference from the lowest rate ${pct(growth)}); the feed's transaction sample ${means('feedSampleBytesPerTick')} (${pct(sampleGrowth)}); independent: within ±${SAME_SIZE * 100} %. Besides, the feed's alerts (every flagged transaction, not a sample; ALERTS_PER_TICK at most): ${runs.map((r) => `${n(r.feedAlertBytesPerTick?.mean)} B (${n(r.feedAnatomy?.alerts, 1)} alerts) at ${at(r)}`).join(', ')} | ${verdict(growth === null || sampleGrowth === null ? null : Math.max(growth, sampleGrowth) <= SAME_SIZE)} | same run |`,
  ];
}

/** The missed bars' lines of "Where a bar is missed": what the same runs measured. */
export function clusterMissed(docs: Map<string, ResultDoc>): string[] {
  const runs = runsOf(docs.get('cluster'));
  const growth = bytesGrowth(runs);
  const out: string[] = [];
  const worst = runs.find((r) => r.mergeLatencyMs.p99 >= r.mergeLatencyMs.bar);
  if (worst)
    out.push(
      `- **Cluster merge latency (p99 ${ms(worst.mergeLatencyMs.p99)} at ${n(worst.clusterTps)} tx/s).** Over that span the cluster delivered ${worst.deliveredTps ? `${n(worst.deliveredTps.perSecond)} tx/s` : '—'}${worst.machineBusyCores === undefined ? '' : ` and the machine (every process on it) was ${n(worst.machineBusyCores, 2)} of ${n(docs.get('cluster')?.machine.cores)} cores busy`}; p50 ${ms(worst.mergeLatencyMs.p50)}, ${n(worst.mergeLatencyMs.samples)} samples.`,
    );
  const sampleGrowth = bytesGrowth(runs, 'feedSampleBytesPerTick');
  if (sampleGrowth !== null && sampleGrowth > SAME_SIZE)
    out.push(
      `- **Cluster feed message per tick (${runs.map((r) => `${n(r.feedBytesPerTick.mean)} B at ${n(r.clusterTps)} tx/s`).join(', ')}).**${
        runs.every((r) => r.feedAnatomy)
          ? ` Per feed message, items (transactions + alerts) and bytes per item: ${runs.map((r) => `${n(r.feedAnatomy.items, 1)} + ${n(r.feedAnatomy.alerts, 1)}, ${n(r.feedAnatomy.bytesPerItem)} B at ${n(r.clusterTps)} tx/s`).join('; ')}.`
          : ''
      }`,
    );
  if (growth !== null && growth > SAME_SIZE)
    out.push(
      `- **Cluster partial bytes per tick (${runs.map((r) => `${n(r.partialBytesPerTick.mean)} B at ${n(r.clusterTps)} tx/s`).join(', ')}).** Non-zero words per row (counters / currency volumes / latency buckets / source words): ${runs
        .filter((r) => r.partialAnatomy)
        .map((r) => {
          const w = r.partialAnatomy.wordsPerRow;
          return `${n(w.counters, 1)} / ${n(w.volumes, 1)} / ${n(w.histogram, 1)} / ${n(w.sources, 1)} at ${n(r.clusterTps)} tx/s`;
        })
        .join(
          '; ',
        )}, with ${runs.map((r) => n(r.partialAnatomy?.sourceSlots, 1)).join(', ')} sources named and ${runs.map((r) => n(r.partialAnatomy?.rows, 1)).join(', ')} seconds per partial.`,
    );
  return out;
}

function mergeTable(runs: any[]): string[] {
  return [
    '| cluster rate asked | delivered (closed seconds, mean) | `tps` field of its frames: mean (min–max; share within ±2 %) | merge latency p50 | p99 (bar) | partial per tick (mean, max) | feed message per tick |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...runs.map(
      (r) =>
        `| ${n(r.clusterTps)} tx/s | ${r.deliveredTps ? `${n(r.deliveredTps.perSecond)} tx/s (${n(r.deliveredTps.offPercent, 1)} %, ${n(r.deliveredTps.seconds)} s)` : '—'} | ${n(r.observedTps)} tx/s${r.tpsField ? ` (${n(r.tpsField.min)}–${n(r.tpsField.max)}; ${n(r.tpsField.within2Percent * 100)} %)` : ''} | ${ms(r.mergeLatencyMs.p50)} | ${ms(r.mergeLatencyMs.p99)} (< ${ms(r.mergeLatencyMs.bar)}: ${verdict(r.mergeLatencyMs.p99 < r.mergeLatencyMs.bar)}) | ${n(r.partialBytesPerTick.mean)} B, ${n(r.partialBytesPerTick.max)} B | ${n(r.feedBytesPerTick.mean)} B |`,
    ),
  ];
}

function anatomyTable(runs: any[]): string[] {
  const withAnatomy = runs.filter((r) => r.partialAnatomy);
  if (withAnatomy.length === 0) return [];
  return [
    '',
    'What a partial is made of, read back from the partials of the span (means). Rows have a fixed width on the wire, whatever their content (8 B a word: the shared words and three per named source); the word columns count the non-zero ones, which is what the traffic touches:',
    '',
    '| cluster rate | bytes | header (JSON) | seconds (rows) | counter words per row | currency-volume words | latency-bucket words | source words | sources named |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...withAnatomy.map((r) => {
      const a = r.partialAnatomy;
      const w = a.wordsPerRow;
      return `| ${n(r.clusterTps)} tx/s | ${n(a.bytes)} B | ${n(a.headerBytes)} B | ${n(a.rows, 1)} | ${n(w.counters, 1)} | ${n(w.volumes, 1)} | ${n(w.histogram, 1)} | ${n(w.sources, 1)} | ${n(a.sourceSlots, 1)} |`;
    }),
  ];
}

function passesTable(
  title: string,
  rows: any[],
  columns: [string, (s: any) => string][],
): string[] {
  if (!rows?.length) return [];
  return [
    '',
    title,
    '',
    `| nodes | ${columns.map(([h]) => h).join(' | ')} |`,
    `| --- | ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map((s) => `| ${n(s.nodes)} | ${columns.map(([, f]) => f(s)).join(' | ')} |`),
  ];
}

export function clusterSection(docs: Map<string, ResultDoc>): string[] {
  const d = docs.get('cluster');
  if (!d) return [];
  const clients = d.result.clients;
  const persisted = d.result.persisted;
  return [
    '## Cluster (nodes on NATS JetStream)',
    '',
    source(d, ''),
    '',
    ...mergeTable(runsOf(d)),
    '',
    'Merge latency: from the last node publishing a second as closed to the `metrics` frame that announces it reaching a client of each node. Delivered: the transactions of the seconds announced as closed during the span, per second, on a client of node 0.',
    ...anatomyTable(runsOf(d)),
    ...passesTable(
      clients
        ? `${n(clients.clients)} WebSocket clients on \`metrics\` over one node and over three, ${n(clients.tps)} tx/s in total, passes interleaved (median, min–max; report only, no bar):`
        : '',
      clients?.byNodes,
      [
        ['delivery p99', (s) => sp(s.p99Ms, 1, ' ms')],
        ['server CPU per delivered message (all nodes)', (s) => sp(s.cpuUsPerMessage, 2, ' µs')],
        ['messages/s', (s) => sp(s.messagesPerSec)],
        ['sequence gaps', (s) => sp(s.gaps)],
        ['machine busy cores', (s) => sp(s.machineBusyCores, 2)],
      ],
    ),
    ...passesTable(
      persisted
        ? `Committed rows/s in the one MariaDB, one node against three, ${n(persisted.askedTps)} tx/s asked in total, passes interleaved (median, min–max; report only, no bar):`
        : '',
      persisted?.byNodes,
      [['committed rows/s', (s) => sp(s.committedPerSec, 0, ' rows/s')]],
    ),
    '',
  ];
}

/** Figures ARCHITECTURE.md §4 quotes, keyed `cluster-…`. */
export function clusterFigures(docs: Map<string, ResultDoc>): Record<string, string> {
  const d = docs.get('cluster');
  const out: Record<string, string> = {};
  for (const r of runsOf(d)) {
    const k = `cluster-${r.clusterTps}`;
    out[`${k}-merge-p99`] = ms(r.mergeLatencyMs.p99);
    out[`${k}-partial-bytes`] = `${n(r.partialBytesPerTick.mean)} B`;
    out[`${k}-delivered`] = r.deliveredTps ? `${n(r.deliveredTps.perSecond)} tx/s` : '—';
  }
  const growth = bytesGrowth(runsOf(d));
  out['cluster-partial-growth'] = growth === null ? '—' : `${n(growth * 100, 1)} %`;
  const sampleGrowth = bytesGrowth(runsOf(d), 'feedSampleBytesPerTick');
  out['cluster-feed-sample-growth'] = sampleGrowth === null ? '—' : `${n(sampleGrowth * 100, 1)} %`;
  const top = runsOf(d).at(-1);
  if (top) {
    out['cluster-top-rate'] = `${n(top.clusterTps)} tx/s`;
    out['cluster-top-alerts'] = n(top.feedAnatomy?.alerts, 1);
    out['cluster-top-alert-bytes'] = `${n(top.feedAlertBytesPerTick?.mean)} B`;
    // The partials stream keeps an hour: two partials a second per node at the mean size.
    out['cluster-stream-mb'] = `${n((top.partialBytesPerTick.mean * 7_200) / 1e6, 0)} MB`;
  }
  for (const s of d?.result?.clients?.byNodes ?? []) {
    out[`cluster-clients-${s.nodes}-p99`] = ms(med(s.p99Ms));
    out[`cluster-clients-${s.nodes}-cpu`] = `${n(med(s.cpuUsPerMessage), 2)} µs`;
  }
  for (const s of d?.result?.persisted?.byNodes ?? [])
    out[`cluster-persisted-${s.nodes}`] = `${n(med(s.committedPerSec))} rows/s`;
  return out;
}
