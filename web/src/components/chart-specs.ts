/**
 * The three time charts: what they plot and in which colours (CSS custom properties).
 * Each series costs canvas path work on every redraw, so charts carry only what the issue
 * asks for (TPS with failures; volume; p50/p95/p99); flagged counts and the average live
 * in the KPI cards. No dashed strokes: dashing a 1,000-point path is slower in Skia. Every
 * line is one CSS pixel wide (pb-time-chart.ts says why).
 */
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
      { key: 'tps', label: 'TPS', color: '--pb-accent', fill: '--pb-accent-fill' },
      { key: 'failed', label: 'Failed', color: '--pb-fail' },
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
      },
    ],
  },
  {
    id: 'latency',
    title: 'Processing time · percentiles',
    format: ms,
    series: [
      { key: 'p50Ms', label: 'p50', color: '--pb-p50' },
      { key: 'p95Ms', label: 'p95', color: '--pb-p95' },
      { key: 'p99Ms', label: 'p99', color: '--pb-p99' },
    ],
  },
];
