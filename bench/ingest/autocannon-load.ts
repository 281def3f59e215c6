import autocannon from 'autocannon';
import { cpuShare, sampleProc } from '../ws-swarm/proc-stats.js';
import type { LoadOptions, LoadResult } from './http-load-client.js';
import { itemJson, refOf } from './request-template.js';

/**
 * The same load as http-load-client.ts driven by autocannon inside this process, as
 * bench/ingest/http-ingest.ts ran it before the lean client (`--client autocannon`): kept
 * so anyone can compare the two clients on the same server. Same items and ref format
 * (request-template.ts); the body is built per request in `setupRequest`. Its CPU is this
 * whole process's over the span, which is idle but for autocannon while it runs.
 */
export async function runAutocannonLoad(o: LoadOptions): Promise<LoadResult> {
  const k = o.itemsPerRequest ?? 1;
  const acked = new Set<string>();
  let n = 0;
  o.onSpanStart?.();
  const p0 = sampleProc(process.pid);
  const r = await autocannon({
    url: o.url,
    connections: o.connections,
    pipelining: 1,
    duration: o.seconds,
    timeout: o.timeoutS ?? 10,
    requests: [
      {
        method: 'POST',
        path: o.path ?? '/api/transactions',
        headers: { 'content-type': 'application/json' },
        setupRequest(req, context) {
          const refs: string[] = [];
          const bodies: string[] = [];
          for (let i = 0; i < k; i++) {
            const ref = refOf(o.refPrefix, n);
            refs.push(ref);
            bodies.push(itemJson(ref, n++));
          }
          (context as { refs?: string[] }).refs = refs;
          return { ...req, body: k === 1 ? bodies[0]! : `[${bodies.join(',')}]` };
        },
        onResponse(status, _body, context) {
          if (status < 200 || status >= 300) return;
          for (const ref of (context as { refs?: string[] }).refs ?? []) acked.add(ref);
        },
      },
    ],
  });
  const cpuCores = cpuShare(p0, sampleProc(process.pid));
  o.onSpanEnd?.();
  return {
    client: 'autocannon',
    seconds: r.duration,
    requests2xx: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    closedByServer: 0,
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
    failures: {},
    cpuCores,
    acknowledged: acked.size,
    ackedRefs: () => acked,
    // autocannon stops with requests in flight and does not say how many (≤ one per connection).
    unanswered: o.connections,
  };
}
