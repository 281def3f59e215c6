import { startServer as startProcess, type TestServer } from '../../bench/lib/server-process.js';

export type { TestServer };

/**
 * The real server for tests. Tests that do not ask for persistence get none: a server
 * started with the default `auto` would write into whatever database answers on
 * 127.0.0.1:3306. Tests that do not ask for alert rules get none either (the default
 * rules file would add rule frames to the `alerts` topic of tests that do not expect them;
 * test/alert-rules-*.test.ts start the default file on purpose).
 */
export function startServer(
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<TestServer> {
  const withPersistence =
    args.includes('--persistence') || env.PERSISTENCE !== undefined
      ? args
      : [...args, '--persistence', 'off'];
  const withRules =
    args.includes('--rules-file') || env.RULES_FILE !== undefined
      ? withPersistence
      : [...withPersistence, '--rules-file', ''];
  return startProcess(withRules, env);
}
