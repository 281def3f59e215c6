#!/usr/bin/env node
// Builds the server (tsc → dist/) and the dashboard (web/ → dist/web, see build-web.mjs).
// `--if-stale` (used by `npm start`) skips the work when dist/ is newer than every source,
// so a production install without dev dependencies can still start from a built tree.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.build-stamp');
const inputs = [
  'src',
  'workers',
  'web',
  'bench',
  'test',
  'scripts',
  'tsconfig.json',
  'package.json',
];

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry === 'dist' || entry === 'results') continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

if (process.argv.includes('--if-stale') && existsSync(stamp)) {
  const built = statSync(stamp).mtimeMs;
  if (inputs.every((p) => newestMtime(join(root, p)) <= built)) process.exit(0);
}

const started = Date.now();
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
try {
  run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
  if (existsSync(join(root, 'scripts/build-web.mjs'))) {
    run(process.execPath, [join(root, 'scripts/build-web.mjs')]);
  }
} catch {
  console.error('build failed (see above)');
  process.exit(1);
}
writeFileSync(stamp, new Date().toISOString());
console.error(`build: done in ${Date.now() - started} ms`);
