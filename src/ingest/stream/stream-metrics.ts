import { Counter, Gauge, type Registry } from 'prom-client';
import type { StreamFigures } from './stream-status.js';

/**
 * The JetStream door in GET /metrics, read at scrape time: `pulseboard_stream_lag` is what
 * an alert on "stream ingest falls behind" watches; `pulseboard_stream_up 0` says the NATS
 * server is unreachable or the stream misconfigured. Registered only when INGEST_STREAM is set.
 */
export function registerStreamMetrics(registry: Registry, read: () => StreamFigures | null): void {
  const figures: [string, string, (f: StreamFigures) => number][] = [
    [
      'pulseboard_stream_up',
      '1 while the JetStream door consumes, 0 while it is starting, the server is unreachable or the stream misconfigured.',
      (f) => (f.state === 'consuming' ? 1 : 0),
    ],
    [
      'pulseboard_stream_lag',
      "Messages of the ingest stream not yet acknowledged: the consumer's num_pending + num_ack_pending.",
      (f) => f.lag,
    ],
    [
      'pulseboard_stream_pending',
      'Messages of the ingest stream not yet delivered to any node (num_pending).',
      (f) => f.pending,
    ],
    [
      'pulseboard_stream_ack_pending',
      'Messages delivered to some node and not yet acknowledged (num_ack_pending).',
      (f) => f.ackPending,
    ],
    [
      'pulseboard_stream_held',
      'Messages this node holds, waiting for their COMMIT (bounded by INGEST_STREAM_MAX_ACK_PENDING).',
      (f) => f.held,
    ],
  ];
  for (const [name, help, value] of figures) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const f = read();
        if (f) this.set(value(f));
      },
    });
  }
  const totals: [string, string, (f: StreamFigures) => number][] = [
    [
      'pulseboard_stream_messages_total',
      'Stream messages acknowledged after their COMMIT.',
      (f) => f.consumed,
    ],
    [
      'pulseboard_stream_dead_letters_total',
      'Poison stream messages published to the dead-letter subject (then acknowledged).',
      (f) => f.deadLetters,
    ],
    [
      'pulseboard_stream_redelivered_total',
      'Stream messages received again after an earlier delivery (answered as duplicates).',
      (f) => f.redelivered,
    ],
  ];
  for (const [name, help, value] of totals) {
    let last = 0;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const f = read();
        const v = f ? value(f) : last;
        if (v > last) this.inc(v - last);
        last = v;
      },
    });
  }
}
