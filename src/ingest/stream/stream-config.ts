import type { Options } from '../../config/option-specs.js';
import { parseStreamUrl, type StreamTarget } from './stream-url.js';

/**
 * What the ingest thread needs to run the JetStream door (from the INGEST_STREAM* options),
 * and the settings it creates the stream and consumer with. Documented in README
 * ("From a NATS JetStream stream"): keep the two in step.
 */

export interface StreamDoorConfig {
  target: StreamTarget;
  stream: string;
  consumer: string;
  deadSubject: string;
  deadStream: string;
  maxAckPending: number;
  ackWaitMs: number;
  /** Float64 status block (stream-status.ts). */
  statusSab: SharedArrayBuffer;
}

/** A stream created by the door keeps messages this long (limits retention, discard old). */
export const CREATED_STREAM_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
/** Messages asked for per pull: one group commit's worth (workers/ingest GROUP_MAX). */
export const PULL_BATCH = 5000;
/** How often the door reads the consumer's lag from the server. */
export const LAG_REFRESH_MS = 1000;

export function streamDoorConfig(
  options: Options,
  statusSab: SharedArrayBuffer,
): StreamDoorConfig | undefined {
  if (options.ingestStream === '') return undefined;
  const target = parseStreamUrl(options.ingestStream);
  // The option schema already refused anything else.
  if (typeof target === 'string') throw new TypeError(`INGEST_STREAM ${target}`);
  return {
    target,
    stream: options.ingestStreamName,
    consumer: options.ingestStreamConsumer,
    deadSubject: options.ingestStreamDeadSubject || `${target.subject}.dead`,
    deadStream: `${options.ingestStreamName}_DEAD`,
    maxAckPending: options.ingestStreamMaxAckPending,
    ackWaitMs: options.ingestStreamAckWaitS * 1000,
    statusSab,
  };
}
