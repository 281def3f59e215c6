import { startServer, type TestServer } from './server.js';

/**
 * The WS_THREADS values every WebSocket test runs with: the primary serving /ws (1), and
 * two fan-out threads sharing WS_PORT (2), so that seq, limits, tokens, the Origin check
 * and the counters are checked both ways.
 */
export const WS_THREAD_COUNTS = [1, 2] as const;

export function wsThreadsArgs(threads: number): string[] {
  return threads === 1 ? [] : ['--ws-threads', String(threads)];
}

/** startServer with WS_THREADS=`threads` (test/helpers/server.ts). */
export function startServerWith(
  threads: number,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<TestServer> {
  return startServer([...wsThreadsArgs(threads), ...args], env);
}
