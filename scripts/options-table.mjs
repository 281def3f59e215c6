#!/usr/bin/env node
// Prints the README's option table from the one place options are defined
// (src/config/option-specs.ts, compiled to dist/). test/readme.test.ts checks that README.md
// contains exactly this table, so the two cannot drift: after changing an option, run
// `npm run docs:options` (rewrites the table between the README's options markers).
const { OPTION_NAMES, OPTION_SPECS, flagOf } = await import('../dist/src/config/option-specs.js');

export function optionsTable() {
  const rows = ['| Env | Flag | Default | Meaning |', '| --- | --- | --- | --- |'];
  for (const name of OPTION_NAMES) {
    const spec = OPTION_SPECS[name];
    let dflt = spec.default === '' ? '(empty)' : `\`${spec.default}\``;
    if (name === 'shards') dflt = 'cores − 1 (at least 1)';
    rows.push(
      `| \`${spec.env}\` | \`${flagOf(name)}\` | ${dflt} | ${spec.doc.replaceAll('|', '\\|')} |`,
    );
  }
  return rows.join('\n');
}

const START = '<!-- options:start -->';
const END = '<!-- options:end -->';

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--write')) {
    const { readFileSync, writeFileSync } = await import('node:fs');
    const readme = readFileSync('README.md', 'utf8');
    const a = readme.indexOf(START);
    const b = readme.indexOf(END);
    if (a === -1 || b === -1) throw new Error(`README.md lacks the ${START} / ${END} markers`);
    writeFileSync(
      'README.md',
      `${readme.slice(0, a + START.length)}\n${optionsTable()}\n${readme.slice(b)}`,
    );
  } else console.log(optionsTable());
}
