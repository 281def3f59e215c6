import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { freePort } from './helpers/free-port.js';

/**
 * The profiling kit as a new user runs it (issue 14 §3). Regression: `profile:flame` drove
 * its load and then hung for about five minutes, because 0x does not pass the SIGINT it
 * gets on to the server (a terminal signals the whole process group; the script signalled
 * 0x alone). Each profile runs here with a 3 s load and must exit 0 within 30 s of the
 * load's end, leaving its output.
 */

const SCRIPT = fileURLToPath(new URL('../../scripts/profile.mjs', import.meta.url));
const AFTER_LOAD_MS = 30_000;

interface Run {
  code: number | null;
  /** ms from the script's "load done" line to its exit, or null without that line. */
  afterLoadMs: number | null;
  stderr: string;
}

async function profile(mode: string, dir: string, env: Record<string, string> = {}): Promise<Run> {
  // As from a shell. tap instruments every process a test spawns (its processinfo loader,
  // which it puts back into NODE_OPTIONS whatever env we pass): 0x, loaded that way, takes
  // itself for a required module and silently does nothing. env(1) unsets it again.
  const shell = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => k !== 'NODE_OPTIONS' && k !== 'WS_THREADS' && !/^_?TAP/i.test(k),
    ),
  );
  const proc = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, SCRIPT, mode], {
    env: {
      ...shell,
      LOAD_SECONDS: '3',
      LOAD_TPS: '2000',
      PROFILE_PORT: String(await freePort()),
      PROFILE_DIR: dir,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let loadDoneAt: number | null = null;
  proc.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (loadDoneAt === null && stderr.includes('load done')) loadDoneAt = Date.now();
  });
  // Bounded: a hang is killed (the script then takes its profiled server along).
  const kill = setTimeout(() => proc.kill('SIGTERM'), 120_000);
  const code = await new Promise<number | null>((r) => proc.once('exit', r));
  clearTimeout(kill);
  return { code, afterLoadMs: loadDoneAt === null ? null : Date.now() - loadDoneAt, stderr };
}

function checkExit(t: Test, run: Run, what: string): void {
  t.equal(run.code, 0, `${what} exits 0${run.code === 0 ? '' : `:\n${run.stderr.slice(-800)}`}`);
  t.ok(
    run.afterLoadMs !== null && run.afterLoadMs <= AFTER_LOAD_MS,
    `${what} finishes ${run.afterLoadMs} ms after the load (≤ ${AFTER_LOAD_MS} ms)`,
  );
}

t.test('profile:flame finishes after its load, with the flame graph', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-profile-flame-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const run = await profile('flame', dir);
  checkExit(t, run, 'profile flame');
  const pages = existsSync(join(dir, 'flame'))
    ? readdirSync(join(dir, 'flame'))
        .map((d) => join(dir, 'flame', d, 'flamegraph.html'))
        .filter((f) => existsSync(f))
    : [];
  t.equal(pages.length, 1, 'one flamegraph.html');
  const html = pages[0] ? readFileSync(pages[0], 'utf8') : '';
  t.ok(html.includes("new Set(['regexp', 'init'])"), 'native (C++) frames shown by default');
});

t.test('profile:doctor finishes after its load, with the report', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-profile-doctor-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const run = await profile('doctor', dir);
  checkExit(t, run, 'profile doctor');
  const reports = existsSync(join(dir, 'doctor'))
    ? readdirSync(join(dir, 'doctor')).filter((f) => f.endsWith('.clinic-doctor.html'))
    : [];
  t.equal(reports.length, 1, 'one clinic doctor report');
});

t.test(
  'with WS_THREADS=2: flame refuses before any load, workers loads the fan-out port',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pb-profile-threads-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const flame = await profile('flame', dir, { WS_THREADS: '2' });
    t.equal(flame.code, 2, 'flame exits 2');
    t.match(flame.stderr, /WS_THREADS=2 cannot be profiled by 0x/, 'and says why');
    t.equal(flame.afterLoadMs, null, 'no load ran');

    // The swarm must reach the fan-out threads' port (GET /api/ws-endpoint), not get 421
    // from the primary's /ws and profile an idle server.
    const workers = await profile('workers', dir, { WS_THREADS: '2' });
    checkExit(t, workers, 'profile workers');
    const open = [...workers.stderr.matchAll(/([\d,]+) messages, 0 gaps, (\d+) open/g)];
    const last = open.at(-1);
    t.ok(
      last && Number(last[1]!.replace(/,/g, '')) > 0 && last[2] === '1000',
      `the swarm's 1,000 clients got frames (${last?.[0] ?? 'no swarm progress line'})`,
    );
    const summary = readFileSync(join(dir, 'cpu', 'summary.md'), 'utf8');
    t.equal(summary.match(/^## fan-out /gm)?.length, 2, 'both fan-out threads profiled');
  },
);

t.test('a load short of its 1,000 clients fails the profile; READ_TOKEN is sent', async (t) => {
  // Before, a swarm whose clients all failed (421, 401) still gave a "profile" of a server
  // without load. WS_MAX_CONNECTIONS=100 lets only a tenth in.
  const dir = mkdtempSync(join(tmpdir(), 'pb-profile-short-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const short = await profile('workers', dir, { WS_MAX_CONNECTIONS: '100' });
  t.equal(short.code, 1, 'exits 1');
  t.match(short.stderr, /the load failed: only 100 of 1000 clients connected/, 'and says why');

  // A server with READ_TOKEN gets the token on GET /api/ws-endpoint and on every client.
  const run = await profile('workers', dir, { READ_TOKEN: 'x'.repeat(32) });
  checkExit(t, run, 'profile workers with READ_TOKEN');
});
