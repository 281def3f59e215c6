/**
 * Every server frame is `{"topic", "seq", "ts", "data"}`: `seq` counts up by one per topic
 * (a jump tells a client it missed messages), `ts` is the send time (clients measure
 * latency). The data is serialised once per tick and topic, whatever the client count.
 */
export class TopicSequencer {
  private readonly seqs = new Map<string, number>();

  /** Builds the frame for `topic` from already-serialised JSON data, taking the next seq. */
  frame(topic: string, dataJson: string, ts = Date.now()): string {
    const seq = (this.seqs.get(topic) ?? 0) + 1;
    this.seqs.set(topic, seq);
    return envelope(topic, seq, ts, dataJson);
  }

  current(topic: string): number {
    return this.seqs.get(topic) ?? 0;
  }
}

export function envelope(topic: string, seq: number, ts: number, dataJson: string): string {
  return `{"topic":${JSON.stringify(topic)},"seq":${seq},"ts":${ts},"data":${dataJson}}`;
}
