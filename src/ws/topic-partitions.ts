/**
 * Each public topic is split into P internal uWS topics (`metrics#0` … `metrics#P-1`); a
 * socket joins the partition it was given at open. A tick publishes the same frame to a few
 * partitions per event-loop turn (partitioned-publisher.ts), so no single turn writes to
 * every client: at 10,000 clients one publish of a frame is ~70 ms of socket writes (~7 µs
 * each) that would block the loop. Clients see the public topic names only.
 *
 * The open sockets of each partition are counted, so the publisher can hand out a tick in
 * turns of about WS_PUBLISH_SOCKETS_PER_TURN sockets whatever the client count (many small
 * partitions grouped, empty ones skipped): the turn, not the partition, is what bounds the
 * loop delay.
 */
export class TopicPartitions {
  private next = 0;
  /** Open sockets per partition. */
  private readonly sockets: Uint32Array;

  constructor(readonly count: number) {
    this.sockets = new Uint32Array(count);
  }

  /** Partition for a new socket (round-robin keeps them even). */
  assign(): number {
    const k = this.next;
    this.next = (this.next + 1) % this.count;
    return k;
  }

  /** A socket of partition `k` opened. */
  opened(k: number): void {
    this.sockets[k]!++;
  }

  /** A socket of partition `k` closed. */
  closed(k: number): void {
    this.sockets[k]!--;
  }

  /** Open sockets in partition `k`. */
  socketsIn(k: number): number {
    return this.sockets[k]!;
  }

  internal(topic: string, partition: number): string {
    return this.count === 1 ? topic : `${topic}#${partition}`;
  }
}
