import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { figures, fillFigures, load, render } from '../bench/report/benchmarks-render.js';

/**
 * The documents agree with their sources: BENCHMARKS.md is what the results render to,
 * every figure ARCHITECTURE.md quotes is the one the results give, and the diagrams it
 * embeds are the files in docs/diagrams.
 */

const root = new URL('../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');

t.test('BENCHMARKS.md is generated from bench/results', async (t) => {
  t.equal(read('BENCHMARKS.md'), `${render(load())}\n`, 'run `npm run bench:doc` to regenerate');
});

t.test('ARCHITECTURE.md quotes the figures the results give', async (t) => {
  const text = read('ARCHITECTURE.md');
  t.ok((text.match(/<!--fig:/g) ?? []).length >= 10, 'quotes measured figures');
  t.equal(
    text,
    fillFigures(text, figures(load())),
    'run `npm run bench:doc` to refresh the figures',
  );
});

t.test('ARCHITECTURE.md embeds every diagram as it is in docs/diagrams', async (t) => {
  const text = read('ARCHITECTURE.md');
  const files = readdirSync(new URL('docs/diagrams/', root)).filter((f) => f.endsWith('.mmd'));
  t.ok(files.length >= 3);
  for (const f of files)
    t.ok(text.includes(read(`docs/diagrams/${f}`)), `${f} is embedded unchanged`);
});
