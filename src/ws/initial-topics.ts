import { type ErrorCode, PulseboardError } from '../errors.js';
import { MAX_TOPICS_PER_REQUEST, type TopicCatalog } from './topics.js';

/**
 * The `?topics=a,b` of a /ws upgrade, judged before the upgrade so that a socket keeps
 * only what it was granted. A query longer than MAX_TOPICS_QUERY_CHARS or naming more than
 * MAX_TOPICS_PER_REQUEST topics is refused with 400 and nothing is upgraded. Otherwise the
 * socket is opened with the known topics (as many as WS_MAX_SUBSCRIPTIONS allows), and a
 * refusal, if any, is sent to it at open as a control reply and then dropped: nothing of a
 * refused list outlives the upgrade.
 */

/**
 * Longest `topics` value: every topic there is, once (64 × `source/` + a 32-character
 * source name + a comma, 2,560), with room to spare.
 */
export const MAX_TOPICS_QUERY_CHARS = 4096;

export interface InitialTopics {
  /** Known topics to subscribe at open, unique. */
  topics: string[];
  /** The control reply to send at open, or null. */
  error: { code: ErrorCode; message: string } | null;
}

const NONE: InitialTopics = { topics: [], error: null };

/** getQuery() has decoded once already; a stray `%` left over must not throw in a handler. */
function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Plans the subscriptions of a new socket from its `topics` query value (or throws 400). */
export function planInitialTopics(
  query: string,
  catalog: TopicCatalog,
  maxSubscriptions: number,
): InitialTopics {
  if (query === '') return NONE;
  if (query.length > MAX_TOPICS_QUERY_CHARS) {
    throw new PulseboardError(
      'PB_ERR_HTTP_BAD_QUERY',
      `the topics query is longer than ${MAX_TOPICS_QUERY_CHARS} characters`,
      { field: 'topics' },
    );
  }
  const asked = safeDecode(query)
    .split(',')
    .filter((t) => t !== '');
  if (asked.length > MAX_TOPICS_PER_REQUEST) {
    throw new PulseboardError(
      'PB_ERR_HTTP_BAD_QUERY',
      `at most ${MAX_TOPICS_PER_REQUEST} topics per request`,
      { field: 'topics' },
    );
  }
  const unique = [...new Set(asked)];
  if (unique.length > maxSubscriptions) {
    return {
      topics: [],
      error: {
        code: 'PB_ERR_WS_TOO_MANY_SUBSCRIPTIONS',
        message: `at most ${maxSubscriptions} subscriptions per socket (WS_MAX_SUBSCRIPTIONS)`,
      },
    };
  }
  const topics = unique.filter((t) => catalog.isKnown(t));
  if (topics.length === unique.length) return { topics, error: null };
  // The client's topic names are not echoed (error answers never repeat the request).
  return {
    topics,
    error: {
      code: 'PB_ERR_WS_UNKNOWN_TOPIC',
      message: `unknown topic (known: ${catalog.list().join(', ')})`,
    },
  };
}
