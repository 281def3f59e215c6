#!/usr/bin/env node
// Profiles the server under a standard load and leaves the output in profiles/:
//   node scripts/profile.mjs doctor    clinic doctor (event loop, GC, handles) → profiles/doctor/
//   node scripts/profile.mjs flame     0x flame graph of the primary thread    → profiles/flame/
//   node scripts/profile.mjs workers   --cpu-prof of every thread (the shard and writer
//                                      threads too, which clinic and 0x do not see)
//                                      → profiles/cpu/*.cpuprofile, one flame graph page per
//                                        thread (*.html) + profiles/cpu/summary.md
// Standard load: simulator at LOAD_TPS (default 10,000 tx/s, persistence off unless
// PERSISTENCE is set), 1,000 WebSocket clients on `metrics`, for LOAD_SECONDS (default 20).
// PROFILE_DIR moves the output (default profiles/ in the repository). Every client must
// connect (with READ_TOKEN set, the load sends it), or the profile fails: a profile of a
// server without its load would mislead.
// clinic needs NO_INSIGHT=1 and --open=false without a terminal, or it exits silently.
//
// Stopping the profiled server: 0x (v6) does not pass a SIGINT on to the process it
// profiles. It counts on the terminal sending Ctrl+C's SIGINT to the whole foreground
// process group, server included; signalled alone, it only waits, and after a few minutes
// force-closes the server. So the profiler runs in its own process group here and gets the
// SIGINT a terminal would send: the whole group (0x's preload then exits the server at once,
// which flushes V8's tick log). clinic does pass its SIGINT on (and a second one would kill
// the server before its sampler's data is written), so clinic alone is signalled.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2];
const port = Number(process.env.PROFILE_PORT ?? 8390);
const tps = process.env.LOAD_TPS ?? '10000';
const seconds = process.env.LOAD_SECONDS ?? '20';
const out = resolve(root, process.env.PROFILE_DIR ?? 'profiles');
/** After the load: how long the profiler may take to stop the server and write its output. */
const STOP_TIMEOUT_MS = Number(process.env.PROFILE_STOP_TIMEOUT_MS ?? 90_000);
const serverArgs = [
  'dist/src/main.js',
  '--port',
  String(port),
  '--sim-tps',
  tps,
  '--persistence',
  process.env.PERSISTENCE ?? 'off',
  '--log-pretty',
  'false',
];
const bin = (name) => join(root, 'node_modules/.bin', name);

const commands = {
  doctor: () => [
    bin('clinic'),
    [
      'doctor',
      '--open=false',
      '--dest',
      join(out, 'doctor'),
      '--',
      process.execPath,
      ...serverArgs,
    ],
  ],
  flame: () => [
    bin('0x'),
    ['--output-dir', join(out, 'flame/{pid}'), '--', process.execPath, ...serverArgs],
  ],
  workers: () => [
    process.execPath,
    ['--cpu-prof', '--cpu-prof-dir', join(out, 'cpu'), ...serverArgs],
  ],
};
/** Who gets the SIGINT that ends the profile (see the top of this file). */
const signalGroup = mode === 'flame';
/** WebSocket clients of the standard load, all of which must connect. */
const CLIENTS = 1000;
if (!commands[mode]) {
  console.error('usage: node scripts/profile.mjs doctor|flame|workers');
  process.exit(2);
}
// 0x's preload ends the server with process.exit, which aborts a process whose fan-out
// threads hold live uWS Apps (exit 134, no flame graph): refuse before any load runs.
const wsThreads = process.env.WS_THREADS ?? '1';
if (mode === 'flame' && wsThreads !== '1') {
  console.error(
    `profile flame: WS_THREADS=${wsThreads} cannot be profiled by 0x (its exit aborts a process whose fan-out threads hold live uWS Apps); run it with WS_THREADS=1, or use \`npm run profile:workers\`, which profiles every thread`,
  );
  process.exit(2);
}
if (mode === 'workers') rmSync(join(out, 'cpu'), { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const [cmd, args] = commands[mode]();
console.error(
  `profile ${mode}: ${tps} tx/s, ${CLIENTS.toLocaleString('en-US')} clients, ${seconds} s`,
);
const child = spawn(cmd, args, {
  cwd: root,
  env: { ...process.env, NO_INSIGHT: '1' },
  stdio: ['ignore', 'pipe', 'inherit'],
  // Its own process group, as a terminal would give it: signalled as a whole below.
  detached: true,
});
const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
// This script interrupted (Ctrl+C, a test's timeout): take the profiled server along.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
    process.exit(130);
  });
}
await new Promise((resolve, reject) => {
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d.toString();
    if (buf.includes('"url"')) resolve();
  });
  child.once('exit', (code) => reject(new Error(`profiled process exited early (${code})`)));
});
// With WS_THREADS > 1 the fan-out threads serve /ws on a port of their own: ask the
// server, as the dashboard does. A server with READ_TOKEN wants the token on that request
// and on every client (the swarm's clients send it as ?token=).
const token = process.env.READ_TOKEN ?? '';
let wsPort = port;
try {
  const res = await fetch(`http://127.0.0.1:${port}/api/ws-endpoint`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  if (!res.ok) throw new Error(`answered ${res.status}`);
  wsPort = (await res.json()).port ?? port;
} catch (err) {
  console.error(`profile ${mode}: GET /api/ws-endpoint failed (${err.message}); stopping`);
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {}
  process.exit(1);
}
console.error(`  server up; running the swarm on /ws at port ${wsPort}`);
const swarm = spawn(
  process.execPath,
  [
    'dist/bench/ws-swarm/swarm.js',
    '--url',
    `ws://127.0.0.1:${wsPort}/ws?topics=metrics${token ? `&token=${encodeURIComponent(token)}` : ''}`,
    '--clients',
    String(CLIENTS),
    '--seconds',
    seconds,
  ],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
);
let swarmOut = '';
swarm.stdout.on('data', (d) => {
  swarmOut += d.toString();
});
const swarmCode = await new Promise((r) => swarm.once('exit', r));
/** Why the load was not the standard one (then the profile fails), or ''. */
const loadFault = (() => {
  if (swarmCode !== 0) return `the swarm exited ${swarmCode}`;
  try {
    const r = JSON.parse(swarmOut);
    if (r.connected < CLIENTS)
      return `only ${r.connected} of ${CLIENTS} clients connected (${JSON.stringify(r.failureReasons)})`;
    return '';
  } catch {
    return 'the swarm printed no result';
  }
})();
console.error('  load done; stopping the server and writing the profile');
const stopAt = Date.now();
if (signalGroup) process.kill(-child.pid, 'SIGINT');
else child.kill('SIGINT');
const timer = setTimeout(() => {
  console.error(
    `profile ${mode}: the profiler did not finish within ${STOP_TIMEOUT_MS / 1000} s of the load's end; killed`,
  );
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {}
  process.exit(1);
}, STOP_TIMEOUT_MS);
const { code, signal } = await exited;
clearTimeout(timer);
console.error(
  `  profiler exited ${signal ?? code} ${((Date.now() - stopAt) / 1000).toFixed(1)} s after the load`,
);
if (code !== 0) {
  console.error(`profile ${mode}: the profiler failed (${signal ?? code})`);
  process.exit(1);
}
if (loadFault) {
  console.error(
    `profile ${mode}: the load failed: ${loadFault}; this profile is not of the standard load`,
  );
  process.exit(1);
}
if (mode === 'flame') showNativeFrames();

if (mode === 'workers') {
  const dir = join(out, 'cpu');
  const lines = [
    '# CPU profiles of every thread',
    '',
    `Load: ${tps} tx/s, 1,000 WebSocket clients, ${seconds} s. Top functions by self time per thread.`,
    '',
  ];
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith('.cpuprofile'))
    .sort()) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    const self = new Map();
    const dt = (p.endTime - p.startTime) / Math.max(1, p.samples.length);
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    for (const id of p.samples) {
      const n = byId.get(id);
      const key = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
      self.set(key, (self.get(key) ?? 0) + dt);
    }
    const idle = self.get('(idle) :0') ?? 0;
    self.delete('(idle) :0');
    const total = [...self.values()].reduce((a, b) => a + b, 0);
    const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
    const busy = (total / (total + idle)) * 100;
    lines.push(
      `## ${threadRole(p)} (${f})`,
      '',
      `Busy ${busy.toFixed(1)} % of the run; share of busy time:`,
      '',
      '| self % | function |',
      '| --- | --- |',
    );
    for (const [k, v] of top) lines.push(`| ${((v / total) * 100).toFixed(1)} | \`${k}\` |`);
    lines.push('');
  }
  lines.push(
    '## Flame graphs',
    '',
    'One interactive page per thread (0x renders each `.cpuprofile`; open it in any browser, offline):',
    '',
  );
  for (const { page, role } of await flameGraphPages(dir))
    lines.push(`- ${role}: [${page}](${page})`);
  lines.push('');
  writeFileSync(join(dir, 'summary.md'), lines.join('\n'));
  console.error(`  wrote ${join(dir, 'summary.md')}`);
}

/** Which thread a `.cpuprofile` is of, from the scripts it ran (the file names only number them). */
function threadRole(profile) {
  const urls = profile.nodes.map((n) => n.callFrame.url);
  const has = (part) => urls.some((u) => u.includes(part));
  if (has('/workers/shard/')) return 'shard';
  if (has('/workers/writer/')) return 'writer';
  if (has('/workers/ingest/')) return 'ingest';
  if (has('/workers/fanout/')) return 'fan-out';
  if (has('/workers/piscina/') || has('piscina')) return 'read (piscina)';
  if (has('/src/main.js')) return 'primary';
  return 'thread';
}

/**
 * Each thread's `.cpuprofile` as an interactive flame graph page next to it, rendered by
 * 0x (already our flame-graph tool, so the pages look and work like the primary's).
 */
async function flameGraphPages(dir) {
  const pages = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) {
    const name = f.replace(/\.cpuprofile$/, '');
    const role = threadRole(JSON.parse(readFileSync(join(dir, f), 'utf8')));
    const r = spawn(
      bin('0x'),
      [
        '--visualize-cpu-profile',
        join(dir, f),
        '--output-html',
        join(dir, `${name}.html`),
        '--title',
        `${role} thread (${tps} tx/s, ${CLIENTS.toLocaleString('en-US')} clients)`,
      ],
      { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const rc = await new Promise((r2) => r.once('exit', r2));
    if (rc !== 0 || !existsSync(join(dir, `${name}.html`))) {
      console.error(`profile workers: no flame graph for ${f} (0x exited ${rc})`);
      process.exitCode = 1;
      continue;
    }
    pages.push({ page: `${name}.html`, role });
  }
  return pages;
}

/**
 * 0x hides V8's and native (C++) frames by default. On the primary that hides most of the
 * cost: uWS writes every socket of a publish in C++ under one JS call. Start the page with
 * them shown (the "cpp" and "native" buttons toggle them back off).
 */
function showNativeFrames() {
  // 0x names the folder after the profiled server's pid: the newest one is this run's.
  const page = readdirSync(join(out, 'flame'))
    .map((d) => join(out, 'flame', d, 'flamegraph.html'))
    .filter((f) => existsSync(f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!page) {
    console.error(`profile flame: no flamegraph.html under ${join(out, 'flame')}`);
    process.exit(1);
  }
  const html = readFileSync(page, 'utf8');
  const hidden = "new Set(['cpp', 'regexp', 'v8', 'native', 'init'])";
  if (!html.includes(hidden)) {
    console.error('  (0x changed its page: native frames stay hidden; press "cpp" and "native")');
    return;
  }
  writeFileSync(page, html.replace(hidden, "new Set(['regexp', 'init'])"));
  console.error(`  wrote ${page} (native frames shown)`);
}
console.error(`profile ${mode}: done (see ${out})`);
