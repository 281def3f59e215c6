import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/**
 * Starts the real server (dist/src/main.js) as a child process on port 0 unless told
 * otherwise, waits for its `listening` log line and reads the port from it. Log lines are
 * kept so callers can assert on them. Used by the tests (test/helpers/server.ts) and the
 * benchmarks alike.
 */

const START_TIMEOUT_MS = 45_000;
const GC_TIMEOUT_MS = 10_000;
const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
/** Bench-only preload answering `gc <n>` on stdin (see gc-hook.ts). */
export const GC_HOOK = fileURLToPath(new URL('./gc-hook.js', import.meta.url));
/** Node flags that give a child process the bench's forced-GC hook. */
export const GC_NODE_ARGS = ['--expose-gc', '--import', GC_HOOK];

export interface GcSample {
  heapUsedBytes: number;
  rssBytes: number;
}

export interface ServerProcessOptions {
  /** Flags for node itself, before the script (e.g. GC_NODE_ARGS). */
  nodeArgs?: string[];
}

export interface TestServer {
  url: string;
  wsUrl: string;
  port: number;
  /** Where /ws is: `port`, or WS_PORT with WS_THREADS > 1. */
  wsPort: number;
  proc: ChildProcess;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  /** Sends SIGTERM and waits for exit; resolves to the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /**
   * Forces a full GC of the primary's heap and returns heapUsed right after it, with the
   * RSS. Only when started with `nodeArgs: GC_NODE_ARGS` (bench-only); otherwise null.
   */
  gc(): Promise<GcSample | null>;
}

export async function startServer(
  args: string[] = [],
  env: Record<string, string> = {},
  o: ServerProcessOptions = {},
): Promise<TestServer> {
  const withPort = args.includes('--port') ? args : ['--port', '0', ...args];
  const nodeArgs = o.nodeArgs ?? [];
  const proc = spawn(
    process.execPath,
    [...nodeArgs, MAIN, '--log-pretty', 'false', '--stats-interval-s', '0', ...withPort],
    {
      // stdin is a pipe the server watches (PB_EXIT_WITH_PARENT): if this process dies
      // without stopping it — a test killed by its timeout — the server exits, not lingers.
      env: { ...process.env, PB_EXIT_WITH_PARENT: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  let wsPort: number | undefined;
  const listening = new Promise<number>((resolve, reject) => {
    let buffered = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl = buffered.indexOf('\n');
      while (nl !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf('\n');
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (typeof entry.port === 'number' && typeof entry.url === 'string') {
            // WS_THREADS > 1: /ws is on the fan-out threads' port.
            if (typeof entry.wsPort === 'number') wsPort = entry.wsPort;
            resolve(entry.port);
          }
        } catch {
          // not a JSON line: ignore
        }
      }
    });
    proc.once('exit', (code) =>
      reject(new Error(`server exited with ${code} before listening:\n${stderr}`)),
    );
  });
  const timeout = new Promise<never>((_, reject) => {
    // Generous: on a loaded 2-core machine a start with migrations takes seconds.
    const t = setTimeout(
      () =>
        reject(new Error(`server did not start within ${START_TIMEOUT_MS / 1000} s:\n${stderr}`)),
      START_TIMEOUT_MS,
    );
    t.unref();
  });
  let port: number;
  try {
    port = await Promise.race([listening, timeout]);
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  let gcToken = 0;
  return {
    url,
    wsUrl: `ws://127.0.0.1:${wsPort ?? port}/ws`,
    port,
    wsPort: wsPort ?? port,
    proc,
    logs,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      const exited = once(proc, 'exit');
      proc.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
    async gc() {
      if (!nodeArgs.includes(GC_HOOK) || proc.exitCode !== null) return null;
      const token = ++gcToken;
      proc.stdin!.write(`gc ${token}\n`);
      const deadline = Date.now() + GC_TIMEOUT_MS;
      while (Date.now() < deadline) {
        const hit = logs.find((l) => l.benchGc === token);
        if (hit)
          return { heapUsedBytes: Number(hit.heapUsedBytes), rssBytes: Number(hit.rssBytes) };
        await new Promise((r) => setTimeout(r, 20));
      }
      return null;
    },
  };
}
