import type { JsMsg, NatsConnection } from 'nats';
import { replyOf } from './ack-subject.js';

/**
 * The door's acknowledgements, written as one protocol command per turn. A group commit
 * settles up to 5,000 messages at once; `m.ack()` each is a publish of its own (a protocol
 * line built and UTF-8 encoded per message, ~1.9 µs, 8 % of the ingest thread's busy time at
 * one transaction per message). Here the group's `PUB <ack subject> 4 +ACK` lines are joined
 * and handed to the client's protocol handler once, at the end of the synchronous run that
 * settled them; the client buffers and writes them like any publish (and across a reconnect
 * the same way). The wire is the same as `m.ack()`'s: the server sees the same acks.
 *
 * The protocol handler is nats.js's (2.29, pinned) and not in its public type, so it is
 * looked up when used, and a client without it fails the door loudly at start (`check`).
 * A message whose ack subject cannot be read is acknowledged by `m.ack()` instead.
 */

interface Protocol {
  sendCommand(cmd: string): void;
}

const ACK_LINE_END = ' 4\r\n+ACK\r\n';

function protocolOf(nc: NatsConnection): Protocol | undefined {
  const p = (nc as unknown as { protocol?: Partial<Protocol> }).protocol;
  return typeof p?.sendCommand === 'function' ? (p as Protocol) : undefined;
}

export class AckBatch {
  private lines = '';
  private queued = false;

  constructor(private readonly nc: NatsConnection) {}

  /** Throws unless this client lets acks be batched (checked once, at the door's start). */
  static check(nc: NatsConnection): void {
    if (protocolOf(nc) === undefined)
      throw new Error(
        'the nats client has no protocol.sendCommand (nats.js other than 2.29?): acks cannot be batched; see workers/ingest/stream/ack-batch.ts',
      );
  }

  ack(m: JsMsg): void {
    const reply = replyOf(m);
    if (reply === undefined) {
      m.ack();
      return;
    }
    this.lines += `PUB ${reply}${ACK_LINE_END}`;
    if (!this.queued) {
      this.queued = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.queued = false;
    const lines = this.lines;
    this.lines = '';
    if (lines !== '') protocolOf(this.nc)!.sendCommand(lines);
  }
}
