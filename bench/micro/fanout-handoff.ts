import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { percentile } from '../lib/stats.js';

/**
 * `npm run bench:fanout-handoff`: how the primary hands a tick's frames to the fan-out
 * threads (WS_THREADS > 1), measured both ways with the same frames (a 2,558-byte
 * `metrics` frame, a 6 KB `tx` frame, a small `alerts` one) to 2 threads:
 *
 *   post  postMessage of the [topic, frame] strings to each thread (what fanout-pool.ts does)
 *   sab   the frames encoded once into a SharedArrayBuffer slot, a sequence number stored,
 *         Atomics.notify; each thread wakes on Atomics.waitAsync (never Atomics.wait: that
 *         would stop its event loop) and hands uWS views of the slot
 *
 * For each: the primary's CPU per tick (what the tick pays), and the delay from the hand-
 * over to the thread having the frames (what a client's latency pays).
 *
 *   node dist/bench/micro/fanout-handoff.js [--ticks 2000] [--threads 2]
 */

type Mode = 'post' | 'sab';
const SLOT_BYTES = 64 * 1024;
/** Int32 header of the slot: [seq, byte length]; then the send time as a float64. */
const H_SEQ = 0;
const H_LEN = 1;

function frames(): [string, string][] {
  const pad = (n: number) => 'x'.repeat(n);
  return [
    ['metrics', `{"topic":"metrics","seq":1,"ts":1,"data":{"p":"${pad(2510)}"}}`],
    ['tx', `{"topic":"tx","seq":1,"ts":1,"data":{"p":"${pad(6000)}"}}`],
    ['alerts', '{"topic":"alerts","seq":1,"ts":1,"data":{"items":[]}}'],
  ];
}

const now = () => performance.timeOrigin + performance.now();

/** Atomics.waitAsync (Node 16+; our TypeScript lib, es2022, does not declare it yet). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      a: Int32Array,
      i: number,
      v: number,
    ): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

if (!isMainThread) {
  // A fan-out thread: receive each tick, note the delay, answer with all of them at the end.
  const { mode, sab } = workerData as { mode: Mode; sab: SharedArrayBuffer };
  const delaysUs: number[] = [];
  if (mode === 'post') {
    parentPort!.on('message', (m: { sentAt: number; frames: [string, string][] } | 'done') => {
      if (m === 'done') parentPort!.postMessage(delaysUs);
      else delaysUs.push((now() - m.sentAt) * 1000);
    });
  } else {
    const i32 = new Int32Array(sab);
    const f64 = new Float64Array(sab, 8, 1);
    const bytes = new Uint8Array(sab, 16);
    let seen = 0;
    // A pending waitAsync does not keep a thread alive (a fan-out thread's uWS App does).
    const alive = setInterval(() => {}, 1 << 30);
    const wait = (): void => {
      const r = waitAsync(i32, H_SEQ, seen);
      const then = () => {
        seen = Atomics.load(i32, H_SEQ);
        if (seen === -1) {
          clearInterval(alive);
          parentPort!.postMessage(delaysUs);
          return;
        }
        // What a fan-out thread would publish: views of the slot, no copy, no decode.
        const view = bytes.subarray(0, Atomics.load(i32, H_LEN));
        if (view.length > 0) delaysUs.push((now() - f64[0]!) * 1000);
        wait();
      };
      if (r.async) void r.value.then(then);
      else then();
    };
    wait();
  }
} else {
  const { benchArgs } = await import('../lib/cli-args.js');
  const { ticks, threads } = benchArgs({
    command: 'node dist/bench/micro/fanout-handoff.js',
    about:
      "How the primary hands a tick's frames to the fan-out threads: postMessage against a SharedArrayBuffer slot; the primary's CPU per tick and the delay until a thread has the frames. Writes bench/results/fanout-handoff.json.",
    flags: {
      ticks: { type: 'number', default: '2000', help: 'ticks handed off per mode' },
      threads: { type: 'number', default: '2', help: 'fan-out threads' },
    },
  });
  const { progress, writeResult } = await import('../lib/results.js');

  async function run(mode: Mode) {
    const sab = new SharedArrayBuffer(16 + SLOT_BYTES);
    const i32 = new Int32Array(sab);
    const f64 = new Float64Array(sab, 8, 1);
    const bytes = new Uint8Array(sab, 16);
    const encoder = new TextEncoder();
    const workers = Array.from(
      { length: threads },
      () => new Worker(new URL(import.meta.url), { workerData: { mode, sab } }),
    );
    await new Promise((r) => setTimeout(r, 300));
    const costUs: number[] = [];
    const tickFrames = frames();
    for (let k = 1; k <= ticks; k++) {
      const t0 = performance.now();
      if (mode === 'post') {
        const m = { sentAt: now(), frames: tickFrames };
        for (const w of workers) w.postMessage(m);
      } else {
        let at = 0;
        for (const [, frame] of tickFrames)
          at += encoder.encodeInto(frame, bytes.subarray(at)).written;
        Atomics.store(i32, H_LEN, at);
        f64[0] = now();
        Atomics.store(i32, H_SEQ, k);
        Atomics.notify(i32, H_SEQ);
      }
      costUs.push((performance.now() - t0) * 1000);
      // Ticks are 500 ms apart in the server; 2 ms here keeps threads idle between them.
      await new Promise((r) => setTimeout(r, 2));
    }
    const answers = workers.map(
      (w) =>
        new Promise<number[]>((resolve) => {
          w.once('message', resolve);
          if (mode === 'post') w.postMessage('done');
        }),
    );
    if (mode === 'sab') {
      // Its last wake answers with the delays.
      Atomics.store(i32, H_SEQ, -1);
      Atomics.notify(i32, H_SEQ);
    }
    const delays = await Promise.all(answers);
    await Promise.all(workers.map((w) => w.terminate()));
    const all = delays.flat();
    const r2 = (x: number) => Math.round(x * 10) / 10;
    return {
      mode,
      ticks,
      threads,
      primaryUsPerTick: { p50: r2(percentile(costUs, 50)), p99: r2(percentile(costUs, 99)) },
      deliveryUs: { p50: r2(percentile(all, 50)), p99: r2(percentile(all, 99)) },
      delivered: all.length,
    };
  }

  const results = [];
  for (const mode of ['post', 'sab'] as const) {
    const r = await run(mode);
    progress(
      `${mode}: primary ${r.primaryUsPerTick.p50} µs/tick (p99 ${r.primaryUsPerTick.p99}), delivery p50 ${r.deliveryUs.p50} µs, p99 ${r.deliveryUs.p99} µs, ${r.delivered} of ${ticks * threads}`,
    );
    results.push(r);
  }
  writeResult(
    'fanout-handoff',
    `node dist/bench/micro/fanout-handoff.js --ticks ${ticks} --threads ${threads}`,
    `one tick's frames (2,558 + 6,036 + 53 bytes) handed to ${threads} threads ${ticks} times, 2 ms apart; primary = wall time of the hand-over on the primary; delivery = from the hand-over to the thread holding the frames (performance.timeOrigin + now() on both sides)`,
    { runs: results },
  );
}
