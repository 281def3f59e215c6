import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseMysqlUrl } from '../../src/db/db-config.js';
import { migrate } from '../../src/db/migrate.js';
import { launchBrowser } from '../../test/helpers/browser.js';
import { createTestDatabase } from '../../test/helpers/database.js';
import { benchArgs } from '../lib/cli-args.js';
import { progress, sleep, writeResult } from '../lib/results.js';
import { startServer } from '../lib/server-process.js';
import { writeHourOfRollups } from './hour-of-rollups.js';
import { formatSummary, summariseTrace } from './trace-summary.js';

/**
 * `node dist/bench/dashboard/render.js`: the dashboard's per-update render time in
 * headless Chromium (Debian's chromium through playwright-core), measured by the page
 * itself with performance.now() from the update's animation frame callback until the frame
 * has rendered (window.__pulseboard.renderStats(): script, style, layout, paint and the
 * commit that rasterises the charts' canvases; scriptStats() is the script part), on real data: a fresh
 * database holding the last hour of per-second rollups (hour-of-rollups.ts), the server
 * started on it (its restart reload fills the 1 h window, the page loads that hour from
 * /api/history) with the simulator at 1,000 tx/s and persistence on, so live updates
 * append to 3,600 points per series. Measured on the 1 h window (3,600 points drawn) and
 * the 5 m window (300 drawn); and the gzipped size of the built bundle.
 *
 *   node dist/bench/dashboard/render.js [--seconds 15] [--trace]
 *
 * `--trace` then records a Chromium performance trace (with the V8 CPU profiler) of the
 * page over another `seconds` on the 1 h window and prints its summary (trace-summary.ts)
 * instead of writing the result. For readable names, build the page unminified first:
 * `node scripts/build-web.mjs --no-minify`.
 */

/** The page's debug hook (web/src/components/pb-app.ts), seen from Node without DOM types. */
interface PageDebug {
  renderStats(): Stats;
  scriptStats(): Stats;
  resetRenderStats(): void;
  setWindow(w: string): void;
  state(): { points: number; chartPoints: number[] };
}

interface Stats {
  count: number;
  p50: number;
  p95: number;
  max: number;
}

const TPS = 1000;
const WINDOWS = ['1h', '5m'] as const;

function gzipBytes(dir: string): number {
  let total = 0;
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    // What a browser downloads: every compressed asset except source maps.
    if (f.endsWith('.gz') && !f.endsWith('.map.gz')) total += statSync(`${dir}/${f}`).size;
  }
  return total;
}

const flags = benchArgs({
  command: 'node dist/bench/dashboard/render.js',
  about:
    "The dashboard's per-update render time in headless Chromium, on an hour of real per-second rollups with live updates (the 1 h and 5 m windows), and the gzipped size of the built bundle. Writes bench/results/dashboard.json.",
  flags: {
    seconds: { type: 'number', default: '15', help: 'measured seconds' },
    trace: { type: 'boolean', help: 'also record a Chromium performance trace' },
  },
});

async function main(): Promise<void> {
  const { seconds, trace } = flags;
  const db = await createTestDatabase('pb_bench_dash');
  // Until the server runs, a failure must still remove the database (later: `finally`).
  const server = await (async () => {
    const cfg = parseMysqlUrl(db.url);
    await migrate(cfg);
    const t0 = performance.now();
    const items = await writeHourOfRollups(cfg, TPS);
    progress(
      `wrote an hour of rollups (${items.toLocaleString('en-US')} transactions) in ${Math.round(performance.now() - t0)} ms`,
    );
    return startServer([
      '--sim-tps',
      String(TPS),
      '--mysql-url',
      db.url,
      '--persistence',
      'required',
      '--unusual-pair-rate',
      '0.05',
    ]);
  })().catch(async (err: unknown) => {
    await db.drop();
    throw err;
  });
  const browser = await launchBrowser();
  const runs: Record<string, Stats & { points: number; script: Stats }> = {};
  let traceText: string | undefined;
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(server.url);
    await page.waitForFunction(
      () => (globalThis as { __pulseboard?: unknown }).__pulseboard !== undefined,
      undefined,
      { timeout: 15_000 },
    );
    // The page's first load asks /api/history for the hour the server reloaded.
    await page.waitForFunction(
      () =>
        ((globalThis as unknown as { __pulseboard: PageDebug }).__pulseboard.state().points ?? 0) >=
        3590,
      undefined,
      { timeout: 30_000 },
    );
    for (const w of WINDOWS) {
      await page.evaluate((win) => {
        const d = (globalThis as unknown as { __pulseboard: PageDebug }).__pulseboard;
        d.setWindow(win);
      }, w);
      await sleep(1000);
      await page.evaluate(() =>
        (globalThis as unknown as { __pulseboard: PageDebug }).__pulseboard.resetRenderStats(),
      );
      progress(`dashboard render: ${w} window, ${seconds} s of live updates`);
      await sleep(seconds * 1000);
      const [stats, script, state] = await page.evaluate(() => {
        const d = (globalThis as unknown as { __pulseboard: PageDebug }).__pulseboard;
        return [d.renderStats(), d.scriptStats(), d.state()] as const;
      });
      runs[w] = { ...stats, points: state.points, script };
      progress(
        `  ${stats.count} updates over ${state.points} points per series: p50 ${stats.p50} ms, p95 ${stats.p95} ms, max ${stats.max} ms (script alone: p50 ${script.p50} ms, p95 ${script.p95} ms)`,
      );
    }
    if (trace) {
      await page.evaluate(() =>
        (globalThis as unknown as { __pulseboard: PageDebug }).__pulseboard.setWindow('1h'),
      );
      await browser.startTracing(page, {
        categories: [
          'devtools.timeline',
          'toplevel',
          'v8.execute',
          'disabled-by-default-v8.cpu_profiler',
          'disabled-by-default-devtools.timeline',
        ],
      });
      await sleep(seconds * 1000);
      traceText = (await browser.stopTracing()).toString('utf8');
    }
  } finally {
    await browser.close();
    await server.stop();
    await db.drop();
  }
  if (traceText) {
    const file = `${tmpdir()}/pulseboard-dashboard-trace.json`;
    writeFileSync(file, traceText);
    const assets = fileURLToPath(new URL('../../web/assets/', import.meta.url));
    const app = readdirSync(assets).find((f) => /^app-.*\.js$/.test(f));
    const bundle = app ? readFileSync(`${assets}${app}`, 'utf8') : undefined;
    process.stdout.write(`trace: ${file}\n${formatSummary(summariseTrace(traceText, bundle))}\n`);
    // A traced run is for finding the cost, not for the record (and is often run on the
    // unminified build): the result file stays as the last untraced run left it.
    return;
  }
  const webDir = fileURLToPath(new URL('../../web', import.meta.url));
  const h = runs['1h'];
  writeResult(
    'dashboard',
    `node dist/bench/dashboard/render.js --seconds ${seconds}`,
    `headless Chromium 1440×900; real data: a fresh MariaDB database holding the last hour of per-second rollups written with the server's own RollupAccumulator upserts (rollup_seconds + rollup_latency, ~${TPS.toLocaleString('en-US')} tx/s), the server started on it (its restart reload fills the 1 h window; the page loads that hour from /api/history) with the simulator at ${TPS.toLocaleString('en-US')} tx/s and persistence on; live updates every 500 ms; per-update render time measured in the page from the update's animation frame callback until the frame has rendered (script, style, layout, paint, commit), on the 1 h window (${h?.points ?? '?'} points per series) and the 5 m window`,
    {
      p95Ms: h?.p95,
      p50Ms: h?.p50,
      maxMs: h?.max,
      updates: h?.count,
      points: h?.points,
      p95Ms5m: runs['5m']?.p95,
      scriptP50Ms: h?.script.p50,
      scriptP95Ms: h?.script.p95,
      runs,
      bundleGzipBytes: gzipBytes(webDir),
    },
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
