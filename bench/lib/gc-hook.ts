import { writeSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

/**
 * Bench-only preload: `node --expose-gc --import dist/bench/lib/gc-hook.js <script>`. It
 * makes the process answer a line `gc <token>` on its stdin by forcing a full GC of its
 * main-thread heap and writing one JSON line on stdout:
 *
 *   {"benchGc":<token>,"heapUsedBytes":…,"rssBytes":…}
 *
 * The benchmarks use it to read the post-GC heap (the soak's leak check) and to sample RSS
 * in a settled state (memory per connection), for Pulseboard and for the peers alike. It
 * lives in bench/ and is loaded only on the command line the benchmarks build
 * (bench/lib/server-process.ts, bench/peers/run-peers.ts): the server's own code has no
 * such path. Worker threads inherit execArgv and load it too; it does nothing there.
 */

interface Gc {
  gc?: () => void;
}

if (isMainThread) {
  const gc = (globalThis as Gc).gc;
  let buffered = '';
  process.stdin.on('data', (d: Buffer) => {
    buffered += d.toString();
    let nl = buffered.indexOf('\n');
    while (nl !== -1) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
      const m = /^gc (\d+)$/.exec(line);
      if (!m) continue;
      gc?.();
      const mem = process.memoryUsage();
      // One short synchronous write (< PIPE_BUF): it cannot interleave with a log line.
      writeSync(
        1,
        `${JSON.stringify({ benchGc: Number(m[1]), forced: gc !== undefined, heapUsedBytes: mem.heapUsed, rssBytes: mem.rss })}\n`,
      );
    }
  });
  // Listening must not keep a process alive that would otherwise exit.
  (process.stdin as { unref?: () => void }).unref?.();
}
