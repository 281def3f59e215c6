import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { benchArgs } from '../lib/cli-args.js';
import { cpuShare, type ProcSample, sampleProc } from '../ws-swarm/proc-stats.js';
import type { HttpLoadConfig, LoadMessage, SpanEnd } from './http-load-messages.js';
import { refOf } from './request-template.js';

/**
 * A lean HTTP/1.1 load client for POST /api/transactions, the one bench/ingest/http-ingest.ts
 * drives both Pulseboard and the hand-written peer with (and, with no items per request, for
 * a GET, as bench/peers reads GET /api/metrics): N keep-alive connections over raw
 * `net` in a child process (http-load-process.ts), one request in flight per connection,
 * every request new items with unique refs, then a drain of the requests still in flight so
 * every row the run wrote was either acknowledged or is counted as lost.
 *
 * Why not autocannon: on this 2-core box autocannon costs the bench's process ~30 µs of CPU
 * per request (its per-request `setupRequest`, the request rebuilt as a string, an
 * http-parser-js parse of every response), so at 256 connections it alone caps what the
 * machine can show at ~26k req/s whatever the server does — the WebSocket bench replaced
 * its heavy client with a raw-TCP swarm (bench/ws-swarm) for the same reason.
 *
 * Measured CPU of the client process per answered request, from /proc over a 10 s span at
 * 256 connections against Pulseboard (PERSISTENCE=required, SIM_TPS=0, MariaDB on the same
 * box, 2 cores shared with other work, AMD EPYC, Node 20.20; 2026-11-29, two runs each):
 *   this client  7.4–7.5 µs per request (0.12 cores at ~16k req/s)
 *   autocannon   36–38 µs per request (0.37–0.57 cores, in the bench's process)
 * Against the hand-written peer (~2.5–3.6k req/s, one response per wake-up) 29 µs vs 57 µs.
 * `http-ingest.js --client autocannon` reproduces the other side; each run's figure is in
 * its result's `loadGeneratorCpuUsPerRequest`.
 *
 *   node dist/bench/ingest/http-load-client.js --url http://127.0.0.1:8080 \
 *        [--connections 256] [--seconds 10] [--items 1] [--path /api/transactions]
 * Loopback targets only.
 */

const PROCESS_SCRIPT = fileURLToPath(new URL('./http-load-process.js', import.meta.url));
const DEFAULT_PATH = '/api/transactions';
const DEFAULT_TIMEOUT_S = 10;

export type LoadClient = 'raw' | 'autocannon';

export interface LoadOptions {
  /** http://127.0.0.1:<port> (loopback only). */
  url: string;
  path?: string;
  connections: number;
  seconds: number;
  /** Items per POST (default 1); 0 sends a bodiless GET of `path` instead. */
  itemsPerRequest?: number;
  /** Every ref of the run starts with it: unique per run against one database. */
  refPrefix: string;
  /** A request unanswered this long is a timeout (default 10 s). */
  timeoutS?: number;
  /** Called as the measured span starts and ends (e.g. to read the server's CPU). */
  onSpanStart?: () => void;
  onSpanEnd?: () => void;
}

/** The span's figures as the client process reports them (http-load-messages.ts), and more. */
export interface LoadResult extends Omit<SpanEnd, 'type'> {
  client: LoadClient;
  /** The load generator's CPU over the span, cores (1 = one core busy), from /proc. */
  cpuCores: number;
  /** Refs answered 2xx over the whole run (also after the span), each once. */
  acknowledged: number;
  ackedRefs(): Iterable<string>;
  /** Requests neither answered nor counted in the span: in flight when the run stopped. */
  unanswered: number;
}

/** The load generator's CPU per answered request over the span, µs. */
export function cpuUsPerRequest(r: LoadResult): number {
  const answered = r.requests2xx + r.non2xx;
  return answered === 0 ? 0 : Math.round(((r.cpuCores * r.seconds * 1e6) / answered) * 100) / 100;
}

export function runHttpLoad(o: LoadOptions): Promise<LoadResult> {
  const url = new URL(o.url);
  if (url.hostname !== 'localhost' && !url.hostname.startsWith('127.'))
    throw new Error(`the load client targets loopback only (got ${url.hostname})`);
  const config: HttpLoadConfig = {
    host: url.hostname === 'localhost' ? '127.0.0.1' : url.hostname,
    port: Number(url.port || 80),
    path: o.path ?? DEFAULT_PATH,
    connections: o.connections,
    seconds: o.seconds,
    itemsPerRequest: o.itemsPerRequest ?? 1,
    refPrefix: o.refPrefix,
    timeoutMs: (o.timeoutS ?? DEFAULT_TIMEOUT_S) * 1000,
  };
  const child = fork(PROCESS_SCRIPT, [], {
    env: { ...process.env, HTTP_LOAD_CONFIG: JSON.stringify(config) },
  });
  return new Promise<LoadResult>((resolve, reject) => {
    let start: ProcSample | undefined;
    let cpuCores = 0;
    let span: SpanEnd | undefined;
    let settled = false;
    child.on('message', (m: LoadMessage) => {
      if (m.type === 'span-start') {
        start = sampleProc(child.pid!);
        o.onSpanStart?.();
      } else if (m.type === 'span-end') {
        if (start) cpuCores = cpuShare(start, sampleProc(child.pid!));
        o.onSpanEnd?.();
        span = m;
      } else if (span) {
        settled = true;
        const ranges = m.acked;
        const { type: _, ...figures } = span;
        resolve({
          client: 'raw',
          ...figures,
          cpuCores,
          acknowledged: ranges.reduce((n, [a, b]) => n + b - a, 0),
          *ackedRefs() {
            for (const [a, b] of ranges) for (let n = a; n < b; n++) yield refOf(o.refPrefix, n);
          },
          unanswered: m.unanswered,
        });
      }
    });
    // 'done' arrives before the exit; an exit without it is a crash.
    child.once('exit', (code, signal) => {
      if (!settled) reject(new Error(`load client exited (${code ?? signal}) before it was done`));
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const flags = benchArgs({
    command: 'node dist/bench/ingest/http-load-client.js',
    about:
      "The bench's lean HTTP/1.1 load client on its own: POST /api/transactions (or GET any path) over keep-alive connections, one request in flight on each, and print its figures as JSON.",
    flags: {
      url: { type: 'string', default: 'http://127.0.0.1:8080', help: 'the server' },
      connections: { type: 'number', default: '256', help: 'keep-alive connections' },
      seconds: { type: 'number', default: '10', help: 'measured seconds' },
      items: {
        type: 'number',
        default: '1',
        help: 'transactions per POST; 0 sends a bodiless GET of --path instead',
      },
      path: { type: 'string', default: DEFAULT_PATH, help: 'the path requested' },
    },
  });
  runHttpLoad({
    url: flags.url,
    connections: flags.connections,
    seconds: flags.seconds,
    itemsPerRequest: flags.items,
    path: flags.path,
    refPrefix: `load-${Date.now().toString(36)}-`,
  }).then(
    (r) => {
      const { ackedRefs: _, ...figures } = r;
      process.stdout.write(
        `${JSON.stringify({ ...figures, cpuUsPerRequest: cpuUsPerRequest(r) }, null, 2)}\n`,
      );
    },
    (err: unknown) => {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
