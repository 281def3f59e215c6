import { startServer as startProcess, type TestServer } from '../../bench/lib/server-process.js';

export type { TestServer };

/**
 * The real server for tests. Tests that do not ask for persistence get none: a server
 * started with the default `auto` would write into whatever database answers on
 * 127.0.0.1:3306.
 */
export function startServer(
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<TestServer> {
  const withPersistence =
    args.includes('--persistence') || env.PERSISTENCE !== undefined
      ? args
      : [...args, '--persistence', 'off'];
  return startProcess(withPersistence, env);
}
