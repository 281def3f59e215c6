/**
 * Each public topic is split into P internal uWS topics (`metrics#0` … `metrics#P-1`); a
 * socket joins the partition it was given at open. The tick publishes the same frame to
 * one partition per event-loop turn, so no single turn writes to every client: at 10,000
 * clients one publish of a frame is ~70 ms of socket writes (~7 µs each) that would block
 * the loop; split in 16, each turn is ~4 ms and HTTP requests run in between. Clients see
 * the public topic names only.
 */
export class TopicPartitions {
  private next = 0;

  constructor(readonly count: number) {}

  /** Partition for a new socket (round-robin keeps them even). */
  assign(): number {
    const k = this.next;
    this.next = (this.next + 1) % this.count;
    return k;
  }

  internal(topic: string, partition: number): string {
    return this.count === 1 ? topic : `${topic}#${partition}`;
  }
}
