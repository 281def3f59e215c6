import { readFileSync } from 'node:fs';
import t from 'tap';

/** README's option table is generated from the option specs; this keeps them equal. */

t.test('README lists every option with its default, as generated', async (t) => {
  // @ts-expect-error: plain ESM script without types
  const { optionsTable } = (await import('../../scripts/options-table.mjs')) as {
    optionsTable: () => string;
  };
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('<!-- options:start -->');
  const end = readme.indexOf('<!-- options:end -->');
  t.ok(start !== -1 && end > start, 'README has the options markers');
  t.equal(
    readme.slice(start, end).split('\n').slice(1, -1).join('\n'),
    optionsTable(),
    'run `npm run docs:options` to update',
  );
  t.match(readme, 'npm ci && npm start');
  t.match(readme, 'npm test');
});
