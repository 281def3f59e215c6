/**
 * The JetStream door's status block (Float64Array over `sab`, ingest thread → primary),
 * read by the snapshot, GET /metrics and GET /readyz:
 *
 *   +-------+--------+------------+-----------+----------+------+-------------+------+------+
 *   | state | since  | pending    | ack pend. | lag at   | held | consumed    | dead | redel|
 *   +-------+--------+------------+-----------+----------+------+-------------+------+------+
 *   state: STREAM_STATE_* below; since: when it entered that state (epoch ms);
 *   pending / ack pending: the consumer's num_pending (not yet delivered) and
 *   num_ack_pending (delivered to any node, not yet acknowledged), as of `lag at`;
 *   held: messages this node holds (delivered, waiting for their COMMIT or dead letter);
 *   consumed / dead / redelivered: messages acknowledged, dead-lettered (also acknowledged),
 *   and received again after an earlier delivery, since start.
 */

export const SS_STATE = 0;
export const SS_SINCE_MS = 1;
export const SS_PENDING = 2;
export const SS_ACK_PENDING = 3;
export const SS_LAG_AT_MS = 4;
export const SS_HELD = 5;
export const SS_CONSUMED = 6;
export const SS_DEAD = 7;
export const SS_REDELIVERED = 8;
export const SS_COUNT = 9;

/** Connecting for the first time, or setting up the stream and consumer. */
export const STREAM_STATE_STARTING = 0;
export const STREAM_STATE_CONSUMING = 1;
/** The NATS server does not answer (the client reconnects with backoff). */
export const STREAM_STATE_UNREACHABLE = 2;
/** The stream or consumer exists with settings we cannot use (checked again periodically). */
export const STREAM_STATE_MISCONFIGURED = 3;

const STATE_NAMES = ['starting', 'consuming', 'unreachable', 'misconfigured'] as const;
export type StreamStateName = (typeof STATE_NAMES)[number];

/** The door's figures in the snapshot (`stream`), null when INGEST_STREAM is off. */
export interface StreamFigures {
  state: StreamStateName;
  /** Since when, epoch ms. */
  stateSince: number;
  /** Messages waiting in the stream for this consumer: pending + ackPending. */
  lag: number;
  pending: number;
  ackPending: number;
  /** When the lag was last read from the server (epoch ms; 0 = never). */
  lagAt: number;
  held: number;
  consumed: number;
  deadLetters: number;
  redelivered: number;
}

export function createStreamStatus(): SharedArrayBuffer {
  return new SharedArrayBuffer(SS_COUNT * 8);
}

export function readStreamStatus(s: Float64Array): StreamFigures {
  return {
    state: STATE_NAMES[s[SS_STATE]!] ?? 'starting',
    stateSince: s[SS_SINCE_MS]!,
    lag: s[SS_PENDING]! + s[SS_ACK_PENDING]!,
    pending: s[SS_PENDING]!,
    ackPending: s[SS_ACK_PENDING]!,
    lagAt: s[SS_LAG_AT_MS]!,
    held: s[SS_HELD]!,
    consumed: s[SS_CONSUMED]!,
    deadLetters: s[SS_DEAD]!,
    redelivered: s[SS_REDELIVERED]!,
  };
}
