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

export class TopicCatalog {
  private readonly known: Set<string>;

  constructor(readonly sourceNames: readonly string[]) {
    this.known = new Set<string>([...FIXED_TOPICS, ...sourceNames.map(sourceTopic)]);
  }

  isKnown(topic: string): boolean {
    return this.known.has(topic);
  }

  list(): string[] {
    return [...this.known];
  }
}
