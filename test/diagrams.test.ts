import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import t from 'tap';
import { launchBrowser } from './helpers/browser.js';

/** Every diagram in docs/diagrams renders with the mermaid package in headless Chromium. */

const DIR = new URL('../../docs/diagrams/', import.meta.url);
const MERMAID = createRequire(import.meta.url).resolve('mermaid/dist/mermaid.min.js');

t.test('mermaid diagrams parse and render', async (t) => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.mmd'));
  t.ok(files.length >= 3, `found ${files.join(', ')}`);
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  await page.setContent('<!doctype html><html><body></body></html>');
  await page.addScriptTag({ path: MERMAID });
  await page.evaluate(() =>
    (globalThis as any).mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' }),
  );
  for (const f of files) {
    const source = readFileSync(new URL(f, DIR), 'utf8');
    const result = await page.evaluate(async (text) => {
      const mermaid = (globalThis as any).mermaid;
      try {
        await mermaid.parse(text);
        const { svg } = await mermaid.render(`d${Math.random().toString(36).slice(2)}`, text);
        return { ok: true, length: svg.length, error: '' };
      } catch (err) {
        return { ok: false, length: 0, error: String((err as Error).message ?? err) };
      }
    }, source);
    t.ok(result.ok, `${f} renders${result.ok ? '' : `: ${result.error}`}`);
    t.ok(result.length > 1000, `${f}: an SVG of ${result.length} characters`);
  }
});
