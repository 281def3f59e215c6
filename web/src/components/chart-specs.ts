/** The three time charts: what they plot and in which colours (CSS custom properties). */
import { fmtCompact } from '../lib/format.js';
import type { ChartSpec } from './pb-time-chart.js';

const ms = (v: number) => {
  if (v >= 1000) return +(v / 1000).toFixed(2) + ' s';
  return (v < 10 && v !== 0 ? v.toFixed(1) : Math.round(v)) + ' ms';
};

export const CHART_SPECS: ChartSpec[] = [
  {
    id: 'tps',
    title: 'Throughput · tx/s, failures overlaid',
    format: fmtCompact,
    series: [
      { key: 'tps', label: 'TPS', color: '--pb-accent', fill: '--pb-accent-fill', width: 1.6 },
      { key: 'failed', label: 'Failed', color: '--pb-fail', width: 1.4 },
      { key: 'flagged', label: 'Flagged', color: '--pb-flag', dash: [4, 3], width: 1.2 },
    ],
  },
  {
    id: 'volume',
    title: 'Volume · USD per second',
    format: (v) => '$' + fmtCompact(v),
    series: [
      {
        key: 'volumeUsd',
        label: 'Volume',
        color: '--pb-volume',
        fill: '--pb-volume-fill',
        width: 1.6,
      },
    ],
  },
  {
    id: 'latency',
    title: 'Processing time · percentiles',
    format: ms,
    series: [
      { key: 'p50Ms', label: 'p50', color: '--pb-p50', width: 1.4 },
      { key: 'p95Ms', label: 'p95', color: '--pb-p95', width: 1.4 },
      { key: 'p99Ms', label: 'p99', color: '--pb-p99', width: 1.4 },
      { key: 'avgMs', label: 'avg', color: '--pb-avg', dash: [3, 3], width: 1 },
    ],
  },
];
