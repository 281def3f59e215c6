import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { GC_NODE_ARGS, type GcSample } from './server-process.js';

/**
 * A peer server for a side-by-side run (bench/peers/peer-server.ts, the hand-written ingest
 * endpoint): a node script started with the bench's forced-GC hook (gc-hook.ts), which
 * prints `listening <port>` when ready. The same GC hook as Pulseboard's, so memory is
 * read the same way on both sides.
 */

export interface ChildServer {
  proc: ChildProcess;
  pid: number;
  port: number;
  /** Full GC, then heapUsed and RSS (null if the process does not answer). */
  gc(): Promise<GcSample | null>;
  stop(): Promise<void>;
}

const GC_TIMEOUT_MS = 10_000;

export async function startChildServer(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<ChildServer> {
  const proc = spawn(process.execPath, [...GC_NODE_ARGS, script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const answers = new Map<number, GcSample>();
  let buffered = '';
  let resolvePort!: (port: number) => void;
  const listening = new Promise<number>((resolve, reject) => {
    resolvePort = resolve;
    proc.once('exit', (code) => reject(new Error(`${script} ${args[0]} exited with ${code}`)));
  });
  proc.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    let nl = buffered.indexOf('\n');
    while (nl !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
      const m = /^listening (\d+)/.exec(line);
      if (m) resolvePort(Number(m[1]));
      else if (line.startsWith('{"benchGc"')) {
        const j = JSON.parse(line) as GcSample & { benchGc: number };
        answers.set(j.benchGc, { heapUsedBytes: j.heapUsedBytes, rssBytes: j.rssBytes });
      }
    }
  });
  const port = await listening;
  let token = 0;
  return {
    proc,
    pid: proc.pid!,
    port,
    async gc() {
      if (proc.exitCode !== null) return null;
      const t = ++token;
      proc.stdin!.write(`gc ${t}\n`);
      const deadline = Date.now() + GC_TIMEOUT_MS;
      while (Date.now() < deadline) {
        const hit = answers.get(t);
        if (hit) return hit;
        await new Promise((r) => setTimeout(r, 20));
      }
      return null;
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
