import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { charts, figures, fillFigures, load, ROOT, render } from './benchmarks-render.js';

/**
 * `npm run bench:doc` (also the last step of `npm run bench`): regenerates BENCHMARKS.md,
 * docs/charts/*.svg and the figures quoted in ARCHITECTURE.md from bench/results/*.json.
 */

const docs = load();
charts(docs);
writeFileSync(`${ROOT}BENCHMARKS.md`, `${render(docs)}\n`);
const architecture = `${ROOT}ARCHITECTURE.md`;
if (existsSync(architecture)) {
  writeFileSync(architecture, fillFigures(readFileSync(architecture, 'utf8'), figures(docs)));
}
process.stderr.write(
  `BENCHMARKS.md (and ARCHITECTURE.md's figures) written from ${docs.size} result file(s)\n`,
);
