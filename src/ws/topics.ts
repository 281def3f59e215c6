import { OVERFLOW_SOURCE } from '../shared/source-name.js';
import { OVERFLOW_SLOT } from '../shared/window-row.js';

/**
 * The topics a client can subscribe to. `control` is not a topic one subscribes to: it is
 * the name replies to control frames carry.
 */

export const FIXED_TOPICS = ['metrics', 'tx', 'alerts'] as const;
export const SOURCE_TOPIC_PREFIX = 'source/';
export const CONTROL_TOPIC = 'control';
/** More than this many topics in one control frame or URL is refused. */
export const MAX_TOPICS_PER_REQUEST = 64;

export function sourceTopic(source: string): string {
  return SOURCE_TOPIC_PREFIX + source;
}

/** What the catalog asks the source registry (source-registry.ts). */
export interface TrackedSources {
  /** Named slots (SOURCES_MAX), fixed when the registry is created. */
  readonly capacity: number;
  find(name: string): number;
  names(): readonly string[];
}

/** Topic columns for a registry of `sourcesMax` named slots: fixed, one per slot, `other`. */
export function topicColumns(sourcesMax: number): number {
  return FIXED_TOPICS.length + sourcesMax + 1;
}

/**
 * Known topics: the fixed ones and `source/<name>` of every tracked source (the registry
 * grows while the server runs, so this is asked each time, never cached) and `source/other`.
 *
 * Each known topic also has a column, its place in the shared subscriber counts
 * (fanout-layout.ts), the same on every thread for the life of the process:
 *
 *   0 … 2                    FIXED_TOPICS (metrics, tx, alerts)
 *   3 … 3 + SOURCES_MAX − 1  source/<name> of registry slot 0 … SOURCES_MAX − 1
 *   3 + SOURCES_MAX          source/other (the overflow slot)
 *
 * Derived from the registry's slot, never from a list taken at startup: a source that a
 * producer first sends while the server runs has had its column all along, and the
 * registry is append-only (a slot never changes name), so every thread maps a name to the
 * same column whenever it asks.
 */
export class TopicCatalog {
  /** topicColumns(capacity): how many columns the shared counters need per thread. */
  readonly columns: number;
  private readonly capacity: number;

  constructor(private readonly sources: TrackedSources) {
    this.capacity = sources.capacity;
    this.columns = topicColumns(this.capacity);
  }

  isKnown(topic: string): boolean {
    return this.column(topic) !== -1;
  }

  /** The column of a known topic, or −1 if it is not known (yet). */
  column(topic: string): number {
    const fixed = (FIXED_TOPICS as readonly string[]).indexOf(topic);
    if (fixed !== -1) return fixed;
    if (!topic.startsWith(SOURCE_TOPIC_PREFIX)) return -1;
    const slot = this.sources.find(topic.slice(SOURCE_TOPIC_PREFIX.length));
    if (slot === -1) return -1;
    return FIXED_TOPICS.length + (slot === OVERFLOW_SLOT ? this.capacity : slot);
  }

  list(): string[] {
    return [
      ...FIXED_TOPICS,
      ...this.sources.names().map(sourceTopic),
      sourceTopic(OVERFLOW_SOURCE),
    ];
  }
}
