import t from 'tap';
import { PendingRequests } from '../src/ingest/pending-requests.js';

/**
 * The primary's table of requests waiting for the ingest thread
 * (src/ingest/pending-requests.ts), which replaced a Map keyed by an ever-growing id: slots
 * are reused, so what must hold is that a reused slot never answers the request that had it
 * before (an aborted request's late answer), and that the first part's flags are given once.
 */

t.test('a late answer for a freed slot does not reach the request that reuses it', async (t) => {
  const p = new PendingRequests<string>();
  const first = p.add('first', 1);
  t.equal(p.delete(first), 1, 'aborted before its first part: its flags come back');
  const second = p.add('second', 3);
  t.not(second, first, 'the reused slot has a new id');
  t.equal(second & 0xfffff, first & 0xfffff, 'the same slot was reused');
  t.equal(p.get(first), undefined, 'the old id finds nothing');
  t.equal(p.get(second), 'second');
  t.equal(p.takeOpening(second), 3, 'first part: the body flags');
  t.equal(p.takeOpening(second), 0, 'later parts: none');
  t.equal(p.delete(first), -1, 'freeing the old id again does nothing');
  t.equal(p.get(second), 'second', 'and leaves the new request waiting');
  t.equal(p.delete(second), 0, 'sent: 0');
  t.equal(p.size, 0);
});

t.test('ids are positive and never 0, whatever the slot and generation', async (t) => {
  const p = new PendingRequests<number>();
  t.equal(p.get(0), undefined, 'id 0 (the answer given while the thread is down) is never waiting');
  t.equal(p.takeOpening(0), -1);
  let min = Number.POSITIVE_INFINITY;
  let lost = 0;
  // One slot reused past its generation's wrap (2,047).
  for (let i = 0; i < 5000; i++) {
    const id = p.add(i, 1);
    min = Math.min(min, id);
    if (p.get(id) !== i) lost++;
    p.delete(id);
  }
  t.ok(min > 0, `smallest id ${min}`);
  t.equal(lost, 0, 'each request found by its id');
});

t.test('grows past its first 256 slots and drains every waiting request', async (t) => {
  const p = new PendingRequests<number>();
  const ids: number[] = [];
  for (let i = 0; i < 1000; i++) ids.push(p.add(i, 1));
  t.equal(new Set(ids).size, 1000, 'distinct ids');
  for (let i = 0; i < 1000; i += 2) p.delete(ids[i]!);
  t.equal(p.size, 500);
  t.equal(p.get(ids[999]!), 999, 'found after growing');
  const drained = p.drain().sort((a, b) => a - b);
  t.same(
    drained,
    Array.from({ length: 500 }, (_, i) => 2 * i + 1),
    'drain gives exactly the waiting ones',
  );
  t.equal(p.size, 0);
  t.equal(p.get(ids[1]!), undefined, 'and frees them');
});
