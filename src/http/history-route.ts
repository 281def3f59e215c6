import type { TemplatedApp } from 'uWebSockets.js';
import { createLTTB } from 'downsample';
import { PulseboardError } from '../errors.js';
import type { SnapshotService } from '../metrics/snapshot-service.js';
import type { SecondPoint } from '../metrics/snapshot-types.js';
import { sendError, sendJson, track } from './respond.js';

/**
 * GET /api/history?metric=tps,p99Ms&from=<epoch ms>&to=<epoch ms>&points=N
 * Columnar per-second series from the in-memory hour: {from, to, t: [...], series:
 * {tps: [...], ...}, downsampled}. With `points` below the number of seconds, points are
 * chosen by LTTB (downsample) on the first metric and every series keeps the same x.
 */

export const HISTORY_METRICS = [
  'tps',
  'failed',
  'flagged',
  'volumeUsd',
  'avgMs',
  'p50Ms',
  'p95Ms',
  'p99Ms',
] as const;
type HistoryMetric = (typeof HISTORY_METRICS)[number];
const FIELD: Record<HistoryMetric, keyof SecondPoint> = {
  tps: 'count',
  failed: 'failed',
  flagged: 'flagged',
  volumeUsd: 'volumeUsd',
  avgMs: 'avgMs',
  p50Ms: 'p50Ms',
  p95Ms: 'p95Ms',
  p99Ms: 'p99Ms',
};
const MAX_POINTS = 100_000;
const HOUR_MS = 3_600_000;

function bad(message: string, field: string): PulseboardError {
  return new PulseboardError('PB_ERR_HTTP_BAD_QUERY', message, { field });
}

function parseIntParam(
  raw: string | undefined,
  name: string,
  min: number,
  max: number,
): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) throw bad(`${name} must be a whole number`, name);
  const n = Number(raw);
  if (n < min || n > max) throw bad(`${name} must be between ${min} and ${max}`, name);
  return n;
}

export function registerHistoryRoute(app: TemplatedApp, snapshots: SnapshotService): void {
  app.get('/api/history', (res, req) => {
    const t = track(res);
    try {
      const metricParam = req.getQuery('metric') ?? 'tps';
      const metrics = metricParam.split(',').filter((m) => m !== '');
      const unknown = metrics.filter((m) => !(HISTORY_METRICS as readonly string[]).includes(m));
      if (metrics.length === 0 || unknown.length > 0) {
        throw bad(
          `metric must be a comma-separated list of ${HISTORY_METRICS.join(', ')}`,
          'metric',
        );
      }
      const now = Date.now();
      const to = parseIntParam(req.getQuery('to'), 'to', 0, 8_640_000_000_000) ?? now;
      const from =
        parseIntParam(req.getQuery('from'), 'from', 0, 8_640_000_000_000) ?? to - HOUR_MS;
      if (from > to) throw bad('from must not be after to', 'from');
      const points = parseIntParam(req.getQuery('points'), 'points', 2, MAX_POINTS);

      let rows = snapshots.history(Math.ceil(from / 1000), Math.floor(to / 1000));
      let downsampled = false;
      if (points !== undefined && rows.length > points) {
        const y = FIELD[metrics[0] as HistoryMetric];
        rows = createLTTB<SecondPoint>({ x: 't', y: (p) => p[y] })(rows, points) as SecondPoint[];
        downsampled = true;
      }
      const series: Record<string, number[]> = {};
      for (const m of metrics) series[m] = rows.map((p) => p[FIELD[m as HistoryMetric]]);
      sendJson(t, 200, JSON.stringify({ from, to, t: rows.map((p) => p.t), series, downsampled }));
    } catch (err) {
      sendError(t, err);
    }
  });
}
