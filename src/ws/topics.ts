import { OVERFLOW_SOURCE } from '../shared/source-name.js';

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

/** What the catalog asks the source registry (source-registry.ts; the dashboard bundles this file). */
export interface TrackedSources {
  find(name: string): number;
  names(): readonly string[];
}

/**
 * Known topics: the fixed ones and `source/<name>` of every tracked source (the registry
 * grows while the server runs, so this is asked each time, never cached) and `source/other`.
 */
export class TopicCatalog {
  constructor(private readonly sources: TrackedSources) {}

  isKnown(topic: string): boolean {
    if ((FIXED_TOPICS as readonly string[]).includes(topic)) return true;
    if (!topic.startsWith(SOURCE_TOPIC_PREFIX)) return false;
    return this.sources.find(topic.slice(SOURCE_TOPIC_PREFIX.length)) !== -1;
  }

  list(): string[] {
    return [
      ...FIXED_TOPICS,
      ...this.sources.names().map(sourceTopic),
      sourceTopic(OVERFLOW_SOURCE),
    ];
  }
}
