#!/usr/bin/env node
// The top frames of one thread's .cpuprofile (node --cpu-prof), by self and by inclusive time:
//   node scripts/cpuprofile-top.mjs <file.cpuprofile> [requests] [rows]
// With `requests` (e.g. the bench's `acknowledged`: warm-up and measured run), every figure
// is also given in µs per request. Only the samples between the first and the last one in
// the ingest route are counted, so the server's start and stop are left out (a profile
// without ingest, e.g. of GET /api/metrics, is counted whole, and the output says so). Times are the
// profiler's, i.e. wall clock while the thread ran JS or native code (on a busy machine they
// include time the thread waited for a core); /proc's CPU time is the other measure
// (profiles/README.md, "The primary's event-loop delay at 256 connections").
import { readFileSync } from 'node:fs';

const [file, requests, rows = '25'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/cpuprofile-top.mjs <file.cpuprofile> [requests] [rows]');
  process.exit(2);
}
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (n) => {
  const f = n.callFrame;
  const where = f.url === '' ? '' : ` ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
  return `${f.functionName || '(anonymous)'}${where}`;
};
const inRoute = (id) => {
  for (let at = id; at !== undefined; at = parent.get(at))
    if (byId.get(at).callFrame.url.endsWith('/ingest-route.js')) return true;
  return false;
};
// Sample i lasts until sample i + 1 (timeDeltas[i + 1]).
let t = p.startTime;
const times = p.timeDeltas.map((d) => (t += d));
let first = -1;
let last = -1;
for (let i = 0; i < p.samples.length; i++) {
  if (!inRoute(p.samples[i])) continue;
  if (first === -1) first = i;
  last = i;
}
const whole = first === -1;
if (whole) {
  first = 0;
  last = p.samples.length - 1;
}
const self = new Map();
const inclusive = new Map();
let busy = 0;
let idle = 0;
for (let i = first; i < last; i++) {
  const dt = times[i + 1] - times[i];
  const node = byId.get(p.samples[i]);
  if (node.callFrame.functionName === '(idle)') {
    idle += dt;
    continue;
  }
  busy += dt;
  self.set(name(node), (self.get(name(node)) ?? 0) + dt);
  const seen = new Set();
  for (let at = node.id; at !== undefined; at = parent.get(at)) {
    const k = name(byId.get(at));
    if (seen.has(k)) continue; // recursion counts once
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
  }
}
const n = Number(requests);
const per = (us) => (n > 0 ? `${(us / n).toFixed(2).padStart(7)} µs/req` : '');
const span = (times[last] - times[first]) / 1e6;
if (whole) console.log('no sample in the ingest route: the whole profile, start-up included');
console.log(
  `${span.toFixed(1)} s of load: busy ${(busy / 1e3).toFixed(0)} ms, idle ${(idle / 1e3).toFixed(0)} ms${n > 0 ? `; busy ${(busy / n).toFixed(2)} µs per request` : ''}`,
);
for (const [title, m] of [
  ['self', self],
  ['inclusive', inclusive],
]) {
  console.log(`\n${title}:`);
  for (const [k, us] of [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(rows)))
    console.log(
      `${(us / 1e3).toFixed(0).padStart(6)} ms ${((us / busy) * 100).toFixed(1).padStart(5)} %${per(us)}  ${k}`,
    );
}
