import t from 'tap';
import { PacedAnswers } from '../src/ingest/paced-answers.js';

/**
 * A group commit's answers are written a bounded slice per loop turn
 * (src/ingest/paced-answers.ts): what broke was one turn writing up to 256 answers, 5–7 ms
 * during which no timer and no socket of the primary ran. Each write here costs ~0.2 ms of
 * real CPU, so 40 of them cannot fit one 1 ms slice.
 */

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // burn: the cost of writing an answer
  }
}

t.test(
  'a large group is written in order over several turns, timers running between',
  async (t) => {
    const written: number[] = [];
    let timerSawWritten = -1;
    const paced = new PacedAnswers<number>((n) => {
      spin(0.2);
      written.push(n);
    }, 1);
    const group = Array.from({ length: 40 }, (_, i) => i);
    paced.add(group);
    const firstTurn = written.length;
    t.ok(firstTurn > 0, `the first slice is written at once (${firstTurn})`);
    t.ok(firstTurn < 40, 'but not the whole group');
    setTimeout(() => {
      timerSawWritten = written.length;
    }, 0);
    paced.add([40, 41]);
    t.equal(written.length, firstTurn, 'a group arriving while a slice is pending waits its turn');
    while (paced.pending > 0) await new Promise((r) => setImmediate(r));
    t.same(written, [...group, 40, 41], 'every answer once, in order');
    t.ok(timerSawWritten > 0 && timerSawWritten < 42, `a timer ran mid-way (${timerSawWritten})`);
  },
);

t.test('writeAll writes what is queued now (the thread failed)', async (t) => {
  const written: number[] = [];
  const paced = new PacedAnswers<number>((n) => {
    spin(0.2);
    written.push(n);
  }, 1);
  paced.add(Array.from({ length: 30 }, (_, i) => i));
  paced.writeAll();
  t.equal(written.length, 30);
  t.equal(paced.pending, 0);
  await new Promise((r) => setImmediate(r));
  t.equal(written.length, 30, 'the pending slice writes nothing twice');
});
