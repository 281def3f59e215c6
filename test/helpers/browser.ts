import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type Browser, type ConsoleMessage, chromium, type Page } from 'playwright-core';

/**
 * Headless Chromium for the dashboard tests: the system's Debian `chromium` driven by
 * playwright-core (no browser download, ever). CHROMIUM_PATH overrides the lookup.
 */

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function findChromium(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return fromEnv;
  for (const path of CANDIDATES) if (existsSync(path)) return path;
  for (const name of ['chromium', 'chromium-browser']) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  throw new Error(
    'no Chromium found for the dashboard tests: install it (Debian/Ubuntu: sudo apt-get install -y chromium) ' +
      'or set CHROMIUM_PATH',
  );
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS });
}

export interface PageLog {
  /** console.error messages and uncaught page errors, in order. */
  errors: string[];
}

/** Records every console error and uncaught exception of the page. */
export function recordErrors(page: Page): PageLog {
  const log: PageLog = { errors: [] };
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') log.errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e: Error) => log.errors.push(`pageerror: ${e.message}`));
  return log;
}
