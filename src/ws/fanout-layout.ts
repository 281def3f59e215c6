/**
 * The shared memory of the WebSocket fan-out: one SharedArrayBuffer that every thread
 * serving /ws (the primary with WS_THREADS=1, else each fan-out thread) counts into, so
 * that limits and figures hold for the process, not per thread. Int32 slots:
 *
 *   [0]              LOCK          0 = free, else the holder's id + 1 (connection-slots.ts)
 *   [1]              OPEN_TOTAL    connections reserved or open, all threads (WS_MAX_CONNECTIONS)
 *   [2 …)            per thread t: STAT_FIELDS counters      (written by thread t only)
 *   […)              per thread t: one subscriber count per topic column (fanout-counters.ts)
 *   […)              address table: `capacity` entries of [hashA, hashB, open[0 … K-1]]
 *
 * Topic columns are fixed at startup although sources appear while the server runs: one
 * per fixed topic, one per registry slot (SOURCES_MAX of them, taken or not) and one for
 * `source/other`, so a topic's column comes from its registry slot (topics.ts `column`)
 * and the buffer is never resized. That is threads × (3 + SOURCES_MAX + 1) Int32s: at the
 * maxima, K = 16 and SOURCES_MAX = 256, 16 × 260 × 4 B = 16,640 B, a price paid once.
 *
 * Everything a thread holds is in its own column (its open count, its share of each
 * address and topic), so when a fan-out thread dies the primary can take exactly its
 * share out (connection-slots.ts `releaseThread`) before the replacement starts.
 */

export const MAX_FANOUT_THREADS = 16;

export const LOCK = 0;
export const OPEN_TOTAL = 1;
const HEADER = 2;

/** Per-thread counters, in this order in each thread's column. */
export const STAT_FIELDS = [
  'open',
  'accepted',
  'rejectedFrames',
  'authRejected',
  'authThrottled',
  'hostRejected',
  'originRejected',
  'connectionsRefused',
  'addressLimited',
  'slowConsumersDropped',
] as const;
export type StatField = (typeof STAT_FIELDS)[number];
export const STAT: Readonly<Record<StatField, number>> = Object.fromEntries(
  STAT_FIELDS.map((f, i) => [f, i]),
) as Record<StatField, number>;

export interface FanoutLayoutInit {
  threads: number;
  /** Topic columns per thread: topicColumns(SOURCES_MAX) (topics.ts). */
  topics: number;
  /** WS_MAX_CONNECTIONS: the address table holds at most that many addresses. */
  maxConnections: number;
}

export class FanoutLayout {
  readonly statsBase: number;
  readonly topicsBase: number;
  readonly tableBase: number;
  /** Entries in the address table (a power of two, at least twice the connection cap). */
  readonly capacity: number;
  readonly entryInts: number;
  readonly totalInts: number;

  constructor(readonly init: FanoutLayoutInit) {
    const { threads, topics, maxConnections } = init;
    this.statsBase = HEADER;
    this.topicsBase = this.statsBase + threads * STAT_FIELDS.length;
    this.tableBase = this.topicsBase + threads * topics;
    // Load factor ≤ 1/2 keeps linear probing short.
    this.capacity = 2 ** Math.ceil(Math.log2(Math.max(16, maxConnections * 2)));
    this.entryInts = 2 + threads;
    this.totalInts = this.tableBase + this.capacity * this.entryInts;
  }

  stat(thread: number, field: StatField): number {
    return this.statsBase + thread * STAT_FIELDS.length + STAT[field];
  }

  topic(thread: number, topicIndex: number): number {
    return this.topicsBase + thread * this.init.topics + topicIndex;
  }

  entry(slot: number): number {
    return this.tableBase + slot * this.entryInts;
  }
}

/** The shared view a fan-out thread (or the primary) opens over the buffer. */
export interface FanoutShared {
  readonly layout: FanoutLayout;
  readonly i32: Int32Array;
}

export function createFanoutShared(init: FanoutLayoutInit): FanoutShared {
  const layout = new FanoutLayout(init);
  return { layout, i32: new Int32Array(new SharedArrayBuffer(layout.totalInts * 4)) };
}

export function openFanoutShared(init: FanoutLayoutInit, sab: SharedArrayBuffer): FanoutShared {
  return { layout: new FanoutLayout(init), i32: new Int32Array(sab) };
}
