import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../../test/helpers/browser.js';
import { progress, sleep, writeResult } from '../lib/results.js';
import { startServer } from '../lib/server-process.js';

/**
 * `node dist/bench/dashboard/render.js`: the dashboard's per-update render time in
 * headless Chromium (Debian's chromium through playwright-core), measured by the page
 * itself with performance.now() (window.__pulseboard.renderStats()), with 300 and with
 * 3,600 per-second points in every chart, on the 1 h window, over live updates; and the
 * gzipped size of the built bundle.
 *
 *   node dist/bench/dashboard/render.js [--seconds 15]
 */

/** The page's debug hook (web/src/components/pb-app.ts), seen from Node without DOM types. */
interface PageDebug {
  renderStats(): Stats;
  resetRenderStats(): void;
  seedSynthetic(n: number): number;
  setWindow(w: string): void;
}

interface Stats {
  count: number;
  p50: number;
  p95: number;
  max: number;
}

function gzipBytes(dir: string): number {
  let total = 0;
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    // What a browser downloads: every compressed asset except source maps.
    if (f.endsWith('.gz') && !f.endsWith('.map.gz')) total += statSync(`${dir}/${f}`).size;
  }
  return total;
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--seconds');
  const seconds = i === -1 ? 15 : Number(process.argv[i + 1]);
  const server = await startServer([
    '--sim-tps',
    '1000',
    '--persistence',
    'off',
    '--unusual-pair-rate',
    '0.05',
  ]);
  const browser = await launchBrowser();
  const runs: Record<string, Stats> = {};
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(server.url);
    await page.waitForFunction(
      () => (globalThis as { __pulseboard?: unknown }).__pulseboard !== undefined,
      undefined,
      { timeout: 15_000 },
    );
    for (const points of [300, 3600]) {
      progress(`dashboard render: ${points} points per series, ${seconds} s of live updates`);
      await page.evaluate((n) => {
        const d = (globalThis as unknown as { __pulseboard: PageDebug }).__pulseboard;
        d.setWindow('1h');
        d.seedSynthetic(n);
        d.resetRenderStats();
      }, points);
      await sleep(seconds * 1000);
      runs[points] = await page.evaluate(() =>
        (globalThis as unknown as { __pulseboard: PageDebug }).__pulseboard.renderStats(),
      );
      progress(
        `  ${runs[points]!.count} updates: p50 ${runs[points]!.p50} ms, p95 ${runs[points]!.p95} ms, max ${runs[points]!.max} ms`,
      );
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  const webDir = fileURLToPath(new URL('../../web', import.meta.url));
  writeResult(
    'dashboard',
    `node dist/bench/dashboard/render.js --seconds ${seconds}`,
    `headless Chromium 1440×900, 1 h window, live updates every 500 ms at 1,000 tx/s, per-update render time measured in the page`,
    {
      p95Ms: runs[3600]?.p95,
      p50Ms: runs[3600]?.p50,
      maxMs: runs[3600]?.max,
      updates: runs[3600]?.count,
      p95Ms300: runs[300]?.p95,
      runs,
      bundleGzipBytes: gzipBytes(webDir),
    },
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
