import { Worker } from 'node:worker_threads';
import t from 'tap';
import { TOKEN_BUCKET_ENTRIES, TokenBuckets } from '../src/security/token-buckets.js';

/**
 * The token buckets (src/security/token-buckets.ts: INGEST_RATE_LIMIT, and the wrong-token
 * buckets every thread shares): the arithmetic, a fixed table that a flood of addresses
 * cannot make forget a drained bucket, and one bucket across real threads taking at once.
 */

const GUESSER = '203.0.113.9';

t.test('a bucket: burst at once, then the rate; wait() takes nothing', async (t) => {
  const b = new TokenBuckets(1, 3, 0); // 1 a second, 3 at once
  const now = 1_000_000;
  t.equal(b.wait(GUESSER, now), 0, 'an unknown address may go');
  for (let i = 0; i < 3; i++) t.equal(b.take(GUESSER, now), 0, `take ${i + 1} of the burst`);
  t.equal(b.take(GUESSER, now), 1, 'then wait a second');
  t.equal(b.wait(GUESSER, now + 500), 1, 'half a token is not one');
  t.equal(b.wait(GUESSER, now + 1000), 0, 'a second later one is back');
  t.equal(b.wait(GUESSER, now + 1000), 0, 'wait() did not take it');
  t.equal(b.take(GUESSER, now + 1000), 0);
  t.equal(b.take(GUESSER, now + 1000), 1);
  t.equal(b.take('203.0.113.10', now), 0, 'another address has its own bucket');
  t.equal(new TokenBuckets(0, 1, 0).take(GUESSER), 0, 'rate 0: unlimited');
  const slow = new TokenBuckets(0.1, 1, 0);
  slow.take(GUESSER, now);
  t.equal(slow.take(GUESSER, now), 10, 'Retry-After rounds up to whole seconds');
});

t.test('a flood of addresses cannot make the table forget a drained bucket', async (t) => {
  const b = new TokenBuckets(3 / 60, 3, 0);
  const bytes = b.sab.byteLength;
  const now = 5_000_000;
  for (let i = 0; i < 3; i++) b.take(GUESSER, now);
  t.ok(b.wait(GUESSER, now) > 0, 'the guesser is throttled');
  // Three times the table's entries, each address one guess (so none is idle).
  for (let i = 0; i < 3 * TOKEN_BUCKET_ENTRIES; i++) {
    b.take(`2001:db8::${i.toString(16)}:${(i >> 16).toString(16)}`, now + 1);
  }
  t.ok(b.wait(GUESSER, now + 2) > 0, 'still throttled after the flood');
  t.equal(b.sab.byteLength, bytes, 'the table did not grow');
});

t.test('threads taking from one bucket at once never take more than it holds', async (t) => {
  const BURST = 1_000_000; // about a second of takes: the threads overlap for most of it
  const main = new TokenBuckets(1 / 3600, BURST, 2); // then 1 an hour
  const go = new Int32Array(new SharedArrayBuffer(4));
  const url = new URL('../src/security/token-buckets.js', import.meta.url).href;
  const code = `
    import { parentPort, workerData } from 'node:worker_threads';
    import { TokenBuckets } from '${url}';
    const b = new TokenBuckets(1 / 3600, ${BURST}, workerData.holder, workerData.sab);
    parentPort.postMessage('ready');
    Atomics.wait(workerData.go, 0, 0); // both start together
    let granted = 0;
    while (b.take('${GUESSER}') === 0) granted++;
    parentPort.postMessage(granted);`;
  const workers = [0, 1].map(
    (holder) =>
      new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), {
        workerData: { holder, sab: main.sab, go },
      }),
  );
  const next = (w: Worker) =>
    new Promise<unknown>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
  await Promise.all(workers.map(next));
  const done = workers.map(next);
  Atomics.store(go, 0, 1);
  Atomics.notify(go, 0);
  const granted = (await Promise.all(done)) as number[];
  t.ok(
    granted.every((n) => n > 0),
    `both threads took some (${granted.join(' + ')})`,
  );
  t.equal(granted[0]! + granted[1]!, BURST, 'together exactly the burst, not one more');
  t.ok(main.wait(GUESSER) > 0, 'and the primary sees it drained');
});
