import type { TemplatedApp } from 'uWebSockets.js';
import type { DbConfig } from '../db/db-config.js';
import { PulseboardError } from '../errors.js';
import { type ReadPool, readRetryAfter } from '../history/read-pool.js';
import type { SnapshotService } from '../metrics/snapshot-service.js';
import { HISTORY_METRICS } from '../metrics/snapshot-types.js';
import { SOURCE_NAME, SOURCE_NAME_RULE } from '../shared/source-name.js';
import type { SourceRegistry } from '../shared/source-registry.js';
import { sendError, sendJson, track } from './respond.js';

/**
 * GET /api/history?metric=tps,p99Ms&from=<epoch ms>&to=<epoch ms>&points=N[&source=<name>]
 * Columnar series: {from, to, t: [...], series: {tps: [...], ...}, downsampled, stepS}.
 * With `source` (a tracked source, or `other`), the series of that source alone; a row
 * holds tps, failed and volumeUsd per source (HISTORY_SOURCE_METRICS), not the rest.
 * The last hour comes from the in-memory per-second windows, anything older from the
 * per-second rollup table (in bins of stepS seconds when the range is long; sums become
 * per-second rates). With `points` below the number of points, LTTB picks them on the first
 * metric and every series keeps the same x. All of it runs on a piscina read thread
 * (workers/piscina/read-worker.ts): the primary parses the query and writes the answer.
 * Rollup reads take one of the reads' database connections (503 PB_ERR_READ_BUSY when none
 * is free in time) and stop at READ_TIMEOUT_MS (503 PB_ERR_DB_TIMEOUT).
 */

const MAX_POINTS = 100_000;
const HOUR_MS = 3_600_000;
const HOUR_S = 3600;
/** The history metrics a window row holds per source (window-row.ts). */
export const HISTORY_SOURCE_METRICS = ['tps', 'failed', 'volumeUsd'];
const MAX_MS = 8_640_000_000_000;

export interface HistoryReads {
  pool: ReadPool;
  /** null when persistence is off: only the in-memory hour is served. */
  db: DbConfig | null;
  /** Tracked sources (source-registry.ts), read at each request: the list grows. */
  sources: SourceRegistry;
  /** Longest range read from the rollup table, seconds (HISTORY_MAX_RANGE_H). */
  maxRangeS: number;
}

function bad(message: string, field: string): PulseboardError {
  return new PulseboardError('PB_ERR_HTTP_BAD_QUERY', message, { field });
}

function parseIntParam(raw: string | undefined, name: string, min: number, max: number) {
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d{1,16}$/.test(raw)) throw bad(`${name} must be a whole number`, name);
  const n = Number(raw);
  if (n < min || n > max) throw bad(`${name} must be between ${min} and ${max}`, name);
  return n;
}

/** The slot of `source=` (null without one); refuses an untracked name or a metric not held per source. */
function parseSource(
  raw: string | undefined,
  metrics: string[],
  sources: SourceRegistry,
): number | null {
  if (raw === undefined || raw === '') return null;
  const slot = SOURCE_NAME.test(raw) ? sources.find(raw) : -1;
  if (slot === -1)
    throw bad(`source must be a tracked source (${SOURCE_NAME_RULE}): see topSources`, 'source');
  const other = metrics.filter((m) => !HISTORY_SOURCE_METRICS.includes(m));
  if (other.length > 0)
    throw bad(
      `with source, metric may be ${HISTORY_SOURCE_METRICS.join(', ')} (what is held per source)`,
      'metric',
    );
  return slot;
}

export function registerHistoryRoute(
  app: TemplatedApp,
  snapshots: SnapshotService,
  reads: HistoryReads,
): void {
  app.get('/api/history', async (res, req) => {
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
      const sourceSlot = parseSource(req.getQuery('source'), metrics, reads.sources);
      const now = Date.now();
      const to = parseIntParam(req.getQuery('to'), 'to', 0, MAX_MS) ?? now;
      const from = parseIntParam(req.getQuery('from'), 'from', 0, MAX_MS) ?? to - HOUR_MS;
      if (from > to) throw bad('from must not be after to', 'from');
      const points = parseIntParam(req.getQuery('points'), 'points', 2, MAX_POINTS);

      // The cluster's seconds in cluster mode (src/cluster/cluster-view.ts), else this node's.
      const acc = snapshots.historyRing();
      const memFirst = acc.closedThrough - HOUR_S + 1;
      const fromS = Math.ceil(from / 1000);
      if (reads.db !== null && fromS < memFirst) {
        const span = Math.min(memFirst, Math.floor(to / 1000) + 1) - fromS;
        if (span > reads.maxRangeS) {
          throw bad(
            `from…to reaches ${Math.ceil(span / 3600)} h into the rollup table; at most ${reads.maxRangeS / 3600} h (HISTORY_MAX_RANGE_H)`,
            'from',
          );
        }
      }
      const json = await reads.pool.run({
        kind: 'history',
        db: reads.db,
        sourceNames: [...reads.sources.names()],
        sourceSlot,
        closed: acc.closed.buffer as SharedArrayBuffer,
        memFirst,
        closedThrough: acc.closedThrough,
        fromMs: from,
        toMs: to,
        metrics,
        points: points ?? null,
      });
      sendJson(t, 200, json);
    } catch (err) {
      sendError(t, err, readRetryAfter(err));
    }
  });
}
