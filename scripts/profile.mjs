#!/usr/bin/env node
// Profiles the server under a standard load and leaves the output in profiles/:
//   node scripts/profile.mjs doctor    clinic doctor (event loop, GC, handles) → profiles/doctor/
//   node scripts/profile.mjs flame     0x flame graph of the primary thread    → profiles/flame/
//   node scripts/profile.mjs workers   --cpu-prof of every thread (the shard and writer
//                                      threads too, which clinic and 0x do not see)
//                                      → profiles/cpu/*.cpuprofile + profiles/cpu/summary.md
// Standard load: simulator at LOAD_TPS (default 10,000 tx/s, persistence off unless
// PERSISTENCE is set), 1,000 WebSocket clients on `metrics`, for LOAD_SECONDS (default 20).
// clinic needs NO_INSIGHT=1 and --open=false without a terminal, or it exits silently.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2];
const port = Number(process.env.PROFILE_PORT ?? 8390);
const tps = process.env.LOAD_TPS ?? '10000';
const seconds = process.env.LOAD_SECONDS ?? '20';
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
    ['doctor', '--open=false', '--dest', 'profiles/doctor', '--', process.execPath, ...serverArgs],
  ],
  flame: () => [
    bin('0x'),
    ['--output-dir', 'profiles/flame/{pid}', '--', process.execPath, ...serverArgs],
  ],
  workers: () => [
    process.execPath,
    ['--cpu-prof', '--cpu-prof-dir', 'profiles/cpu', ...serverArgs],
  ],
};
if (!commands[mode]) {
  console.error('usage: node scripts/profile.mjs doctor|flame|workers');
  process.exit(2);
}
if (mode === 'workers') rmSync(join(root, 'profiles/cpu'), { recursive: true, force: true });
mkdirSync(join(root, 'profiles'), { recursive: true });

const [cmd, args] = commands[mode]();
console.error(`profile ${mode}: ${tps} tx/s, 1,000 clients, ${seconds} s`);
const child = spawn(cmd, args, {
  cwd: root,
  env: { ...process.env, NO_INSIGHT: '1' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise((resolve, reject) => {
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d.toString();
    if (buf.includes('"url"')) resolve();
  });
  child.once('exit', (code) => reject(new Error(`profiled process exited early (${code})`)));
});
console.error('  server up; running the swarm');
const swarm = spawn(
  process.execPath,
  [
    'dist/bench/ws-swarm/swarm.js',
    '--url',
    `ws://127.0.0.1:${port}/ws?topics=metrics`,
    '--clients',
    '1000',
    '--seconds',
    seconds,
  ],
  { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
);
await new Promise((r) => swarm.once('exit', r));
console.error('  load done; stopping the server and writing the profile (this can take a minute)');
child.kill('SIGINT');
await new Promise((r) => child.once('exit', r));

if (mode === 'workers') {
  const dir = join(root, 'profiles/cpu');
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
      `## ${f}`,
      '',
      `Busy ${busy.toFixed(1)} % of the run; share of busy time:`,
      '',
      '| self % | function |',
      '| --- | --- |',
    );
    for (const [k, v] of top) lines.push(`| ${((v / total) * 100).toFixed(1)} | \`${k}\` |`);
    lines.push('');
  }
  writeFileSync(join(dir, 'summary.md'), lines.join('\n'));
  console.error(`  wrote profiles/cpu/summary.md`);
}
console.error(`profile ${mode}: done (see profiles/)`);
