#!/usr/bin/env node
// Builds the dashboard: web/ → dist/web.
//
//   dist/web/index.html              references the hashed assets below (served no-cache)
//   dist/web/assets/app-<hash>.js    one ESM bundle (Lit + uPlot + components), minified
//   dist/web/assets/styles-<hash>.css
//   dist/web/assets/favicon-<hash>.svg
//   every file also as .br and .gz next to it, so the server never compresses at runtime
//
// Content-hashed names let the server send `immutable` caching: a new build is a new URL.
// The web code is type-checked first (esbuild only strips types). The build fails when the
// gzipped total of what a first visit downloads exceeds the budget in DESIGN §7.
//
// Flags: --no-typecheck (skip tsc, for quick iterations); --no-minify (readable profiles).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const webDir = join(root, 'web');
const outDir = join(root, 'dist', 'web');
const assetsDir = join(outDir, 'assets');
/** Gzipped bytes of everything a first visit downloads (DESIGN §7: < 150 KB). */
const BUDGET = 150 * 1000;

const started = Date.now();

if (!process.argv.includes('--no-typecheck')) {
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', join(webDir, 'tsconfig.json'), '--noEmit'], {
      cwd: root,
      stdio: 'inherit',
    });
  } catch {
    fail('type errors in web/ (see above)');
  }
}

// Old hashed files would otherwise accumulate and be served forever.
rmSync(outDir, { recursive: true, force: true });
mkdirSync(assetsDir, { recursive: true });

/** `import css from 'x.css?inline'` → the file's text (for styles inside shadow roots). */
const inlineText = {
  name: 'inline-text',
  setup(b) {
    b.onResolve({ filter: /\?inline$/ }, async (args) => {
      const r = await b.resolve(args.path.slice(0, -'?inline'.length), {
        resolveDir: args.resolveDir,
        kind: args.kind,
      });
      if (r.errors.length > 0) return { errors: r.errors };
      return { path: r.path, namespace: 'inline-text' };
    });
    b.onLoad({ filter: /.*/, namespace: 'inline-text' }, async (args) => ({
      contents: await readFile(args.path, 'utf8'),
      loader: 'text',
    }));
  },
};

let result;
try {
  result = await build({
    absWorkingDir: root,
    entryPoints: { app: 'web/src/main.ts', styles: 'web/src/styles.css' },
    outdir: assetsDir,
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    minify: !process.argv.includes('--no-minify'),
    sourcemap: 'linked',
    // Browsers with native custom elements, ES2022 and CSS color-mix().
    target: ['es2022', 'chrome111', 'edge111', 'firefox113', 'safari16.4'],
    metafile: true,
    plugins: [inlineText],
    logLevel: 'warning',
  });
} catch {
  fail('esbuild failed (see above)');
}

const outputOf = (entry) => {
  const [file] = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint === entry);
  return '/assets/' + basename(file);
};

const favicon = readFileSync(join(webDir, 'favicon.svg'));
const faviconName = `favicon-${createHash('sha256').update(favicon).digest('hex').slice(0, 8).toUpperCase()}.svg`;
writeFileSync(join(assetsDir, faviconName), favicon);

const html = readFileSync(join(webDir, 'index.html'), 'utf8')
  .replace('%JS%', outputOf('web/src/main.ts'))
  .replace('%CSS%', outputOf('web/src/styles.css'))
  .replace('%FAVICON%', '/assets/' + faviconName);
if (html.includes('%')) fail('index.html still has an unreplaced %PLACEHOLDER%');
writeFileSync(join(outDir, 'index.html'), html);

// Precompress at maximum effort: it happens once per build, not per request.
const rows = [];
for (const path of listFiles(outDir)) {
  const body = readFileSync(path);
  const gz = gzipSync(body, { level: 9 });
  const br = brotliCompressSync(body, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      [constants.BROTLI_PARAM_MODE]:
        extname(path) === '.svg' || extname(path) === '.map'
          ? constants.BROTLI_MODE_GENERIC
          : constants.BROTLI_MODE_TEXT,
    },
  });
  writeFileSync(path + '.gz', gz);
  writeFileSync(path + '.br', br);
  rows.push({ file: relative(outDir, path), raw: body.length, gz: gz.length, br: br.length });
}

// Source maps are fetched only by open devtools, so they are outside the page budget.
const page = rows.filter((r) => !r.file.endsWith('.map'));
const total = page.reduce((s, r) => ({ raw: s.raw + r.raw, gz: s.gz + r.gz, br: s.br + r.br }), {
  raw: 0,
  gz: 0,
  br: 0,
});
const kb = (n) => (n / 1000).toFixed(1).padStart(7) + ' KB';
const lines = [
  `${'file'.padEnd(40)} ${'raw'.padStart(10)} ${'gzip'.padStart(10)} ${'brotli'.padStart(10)}`,
];
for (const r of rows) lines.push(`${r.file.padEnd(40)} ${kb(r.raw)} ${kb(r.gz)} ${kb(r.br)}`);
lines.push(
  `${'page total (without .map)'.padEnd(40)} ${kb(total.raw)} ${kb(total.gz)} ${kb(total.br)}`,
);
console.error(lines.join('\n'));

if (total.gz > BUDGET) {
  fail(`gzipped page total ${kb(total.gz).trim()} exceeds the ${BUDGET / 1000} KB budget`);
}
console.error(`build-web: done in ${Date.now() - started} ms (budget ${BUDGET / 1000} KB gzipped)`);

function listFiles(dir) {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

function fail(message) {
  console.error(`build-web: ${message}`);
  process.exit(1);
}
