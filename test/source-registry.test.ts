import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { OVERFLOW_SOURCE } from '../src/shared/source-name.js';
import { SourceRegistry } from '../src/shared/source-registry.js';
import { OVERFLOW_SLOT } from '../src/shared/window-row.js';

const REGISTRAR = fileURLToPath(new URL('./fixtures/source-registrar.js', import.meta.url));

/**
 * The source registry (src/shared/source-registry.ts) is shared by every thread: names are
 * registered by whichever thread meets them first. Two real threads race to register the
 * same names in opposite orders; every name must end with exactly one slot, the same in
 * every thread, and no more than the capacity.
 */

function race(sab: SharedArrayBuffer, lists: string[][]): Promise<number[][]> {
  const gate = new SharedArrayBuffer(8);
  const g = new Int32Array(gate);
  const workers = lists.map((names) => new Worker(REGISTRAR, { workerData: { sab, gate, names } }));
  const results = workers.map(
    (w) =>
      new Promise<number[]>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      }),
  );
  // Handshake, not a sleep: open the gate once both threads wait at it.
  return (async () => {
    while (Atomics.load(g, 1) < lists.length) await new Promise((r) => setTimeout(r, 1));
    Atomics.store(g, 0, 1);
    Atomics.notify(g, 0);
    const out = await Promise.all(results);
    await Promise.all(workers.map((w) => w.terminate()));
    return out;
  })();
}

t.test('two threads racing register each name once, and agree on its slot', async (t) => {
  const registry = SourceRegistry.create(200, ['ach', 'wire']);
  const names = Array.from({ length: 300 }, (_, i) => `p-${i}`);
  const [a, b] = await race(registry.sab, [names, [...names].reverse()]);
  const slotA = new Map(names.map((n, i) => [n, a![i]!]));
  const slotB = new Map([...names].reverse().map((n, i) => [n, b![i]!]));
  const disagree = names.filter((n) => slotA.get(n) !== slotB.get(n));
  t.same(disagree, [], 'both threads got the same slot for every name');
  const named = names.filter((n) => slotA.get(n) !== OVERFLOW_SLOT);
  t.equal(named.length, 198, 'capacity 200: 198 names after ach and wire, the rest overflow');
  t.equal(new Set(named.map((n) => slotA.get(n))).size, 198, 'no slot given twice');
  t.equal(registry.count, 200);
  // This thread sees what the others published, with the same slots.
  t.same(registry.names().slice(0, 2), ['ach', 'wire'], 'SOURCES keep slots 0 and 1');
  t.same(
    named.filter((n) => registry.find(n) !== slotA.get(n)),
    [],
    'the primary reads the same slots',
  );
  t.equal(registry.slotOf('p-299-late'), OVERFLOW_SLOT, 'full: new names overflow');
  t.equal(registry.find(OVERFLOW_SOURCE), OVERFLOW_SLOT, '"other" is the overflow slot');
  t.equal(registry.nameOf(OVERFLOW_SLOT), OVERFLOW_SOURCE);
});

t.test('the lock of a thread that died holding it can be freed', async (t) => {
  const registry = SourceRegistry.create(8, ['ach']);
  const lock = new Int32Array(registry.sab, 0, 4);
  Atomics.store(lock, 1, 42 + 1); // as thread 42 would hold it
  registry.releaseIfHeldBy(7);
  t.equal(Atomics.load(lock, 1), 43, 'another thread id does not free it');
  registry.releaseIfHeldBy(42);
  t.equal(Atomics.load(lock, 1), 0, 'freed');
  t.equal(registry.slotOf('wire'), 1, 'and registration works again');
});
