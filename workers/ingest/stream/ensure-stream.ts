import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamManager,
  type NatsError,
  nanos,
  RetentionPolicy,
  StorageType,
} from 'nats';
import {
  CREATED_STREAM_MAX_AGE_MS,
  type StreamDoorConfig,
} from '../../../src/ingest/stream/stream-config.js';

/**
 * Creates the stream, the dead-letter stream and the durable consumer if missing, and
 * checks them if present. A setting we cannot work with (a push consumer, another ack
 * policy, a filter on another subject, a stream that does not capture the subject) is a
 * StreamSetupError naming the setting: we never silently consume something else.
 * max_ack_pending and ack_wait of an existing consumer are brought to the options (every
 * node sharing the consumer runs with the same options).
 */

export class StreamSetupError extends Error {
  readonly code = 'PB_ERR_STREAM_CONFIG';
}

const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;

function apiCode(err: unknown): number | undefined {
  return (err as NatsError).api_error?.err_code;
}

/** Does a stream subject (possibly with * or > wildcards) capture `subject`? */
export function subjectCaptures(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

async function ensureOneStream(
  jsm: JetStreamManager,
  name: string,
  subject: string,
): Promise<'created' | 'present'> {
  try {
    const info = await jsm.streams.info(name);
    const subjects = info.config.subjects ?? [];
    if (!subjects.some((p) => subjectCaptures(p, subject))) {
      throw new StreamSetupError(
        `stream ${name} exists but does not capture subject ${subject} (its subjects: ${subjects.join(', ') || 'none'}); add the subject or set another stream name`,
      );
    }
    return 'present';
  } catch (err) {
    if (apiCode(err) !== STREAM_NOT_FOUND) throw err;
  }
  await jsm.streams.add({
    name,
    subjects: [subject],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(CREATED_STREAM_MAX_AGE_MS),
    num_replicas: 1,
  });
  return 'created';
}

export async function ensureStreamAndConsumer(
  jsm: JetStreamManager,
  c: StreamDoorConfig,
): Promise<string[]> {
  const done: string[] = [];
  done.push(`stream ${c.stream}: ${await ensureOneStream(jsm, c.stream, c.target.subject)}`);
  // Dead letters need a stream too (a core publish nobody stores would lose them); any stream
  // already capturing the dead subject will do.
  const deadOwner = await jsm.streams.find(c.deadSubject).catch(() => undefined);
  if (deadOwner === undefined) {
    done.push(`stream ${c.deadStream}: ${await ensureOneStream(jsm, c.deadStream, c.deadSubject)}`);
  } else if (deadOwner === c.stream) {
    throw new StreamSetupError(
      `the dead-letter subject ${c.deadSubject} is captured by the ingest stream ${c.stream} itself: dead letters would be consumed again; choose another INGEST_STREAM_DEAD_SUBJECT`,
    );
  }
  const wanted = {
    max_ack_pending: c.maxAckPending,
    ack_wait: nanos(c.ackWaitMs),
  };
  try {
    const info = await jsm.consumers.info(c.stream, c.consumer);
    const cfg = info.config;
    const wrong: string[] = [];
    if (cfg.deliver_subject)
      wrong.push(`it is a push consumer (deliver_subject ${cfg.deliver_subject})`);
    if (cfg.ack_policy !== AckPolicy.Explicit)
      wrong.push(`ack_policy is ${cfg.ack_policy}, not explicit`);
    if (cfg.filter_subject && cfg.filter_subject !== c.target.subject)
      wrong.push(`filter_subject is ${cfg.filter_subject}, not ${c.target.subject}`);
    if (cfg.max_deliver !== undefined && cfg.max_deliver > 0)
      wrong.push(
        `max_deliver is ${cfg.max_deliver}: the server would drop a message after that many deliveries (a node dying repeatedly) instead of keeping it`,
      );
    if (wrong.length > 0) {
      throw new StreamSetupError(
        `consumer ${c.consumer} on stream ${c.stream} exists with settings Pulseboard cannot use: ${wrong.join('; ')}; delete it or set another INGEST_STREAM_CONSUMER`,
      );
    }
    if (cfg.max_ack_pending !== wanted.max_ack_pending || cfg.ack_wait !== wanted.ack_wait) {
      await jsm.consumers.update(c.stream, c.consumer, wanted);
      done.push(`consumer ${c.consumer}: present, max_ack_pending and ack_wait updated`);
    } else done.push(`consumer ${c.consumer}: present`);
    return done;
  } catch (err) {
    if (apiCode(err) !== CONSUMER_NOT_FOUND) throw err;
  }
  await jsm.consumers.add(c.stream, {
    durable_name: c.consumer,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: c.target.subject,
    max_deliver: -1,
    ...wanted,
  });
  done.push(`consumer ${c.consumer}: created`);
  return done;
}
