import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './lib/cli-args.js';
import { progress, writeResult } from './lib/results.js';

/**
 * `npm run bench`: the standard suite, one step after another (they share the machine, so
 * never in parallel), each step a script that can be rerun alone. Steps that print JSON
 * on stdout are saved here; the others write bench/results/ themselves. Then BENCHMARKS.md
 * is regenerated from the results. A full run records its steps' durations in
 * bench/results/suite.json (the page quotes the total).
 *
 *   npm run bench [-- --only fanout,peers]
 */

const DIST = fileURLToPath(new URL('./', import.meta.url));

interface Step {
  name: string;
  script: string;
  args: string[];
  /** Save stdout's JSON as bench/results/<name>.json with these conditions. */
  capture?: string;
}

// Durations and sizes are named once here and used both as the step's flags and in the
// conditions its result file carries, so the two cannot disagree.
const OFF = { seconds: 15, warmup: 5 };
const SWEEP = { seconds: 10, sizes: '100,1000,5000' };

const STEPS: Step[] = [
  { name: 'micro', script: 'micro/hot-paths.js', args: [] },
  {
    name: 'pipeline-off',
    script: 'pipeline/throughput.js',
    args: ['--seconds', String(OFF.seconds), '--warmup', String(OFF.warmup), '--json'],
    capture: `simulator at max, persistence off, shards = cores − 1, ${OFF.seconds} s after ${OFF.warmup} s warm-up`,
  },
  {
    // Writes bench/results/persisted.json itself: two interleaved pairs of the persisted
    // pipeline and the bare LOAD DATA ceiling.
    name: 'persisted',
    script: 'pipeline/persisted.js',
    args: [
      '--seconds',
      '60',
      '--warmup',
      '5',
      '--repeats',
      '2',
      '--ceiling-seconds',
      '15',
      '--json',
    ],
  },
  {
    name: 'db-sweep',
    script: 'db/batch-sweep.js',
    args: ['--seconds', String(SWEEP.seconds), '--sizes', SWEEP.sizes],
    capture: `full persisted pipeline at max, one fresh database per batch size (${SWEEP.sizes.replaceAll(',', ', ')}), ${SWEEP.seconds} s each after 3 s warm-up`,
  },
  {
    name: 'ingest',
    script: 'ingest/http-ingest.js',
    args: [
      '--connections',
      '8,64,256',
      '--seconds',
      '20',
      '--headline-repeats',
      '3',
      '--batch-sizes',
      '100,1000',
      '--batch-connections',
      '8',
    ],
  },
  {
    // Writes bench/results/stream.json itself; needs NATS on 127.0.0.1:4222 (scripts/ensure-nats.sh).
    name: 'stream',
    script: 'ingest/stream-ingest.js',
    args: ['--messages', '300000', '--items', '1,100', '--repeats', '1'],
  },
  { name: 'ramp', script: 'pipeline/ramp.js', args: ['--stage-seconds', '8'] },
  {
    name: 'fanout',
    script: 'ws-swarm/fanout.js',
    args: [
      '--clients',
      '100,1000,10000,20000',
      '--ws-threads',
      '1,2',
      '--tps',
      '10000',
      '--seconds',
      '15',
      '--idle-clients',
      '10000',
    ],
  },
  { name: 'fanout-handoff', script: 'micro/fanout-handoff.js', args: ['--ticks', '2000'] },
  {
    name: 'peers',
    script: 'peers/run-peers.js',
    args: [
      '--clients',
      '10000',
      '--floor-clients',
      '1000',
      '--repeats',
      '3',
      '--seconds',
      '15',
      '--http-seconds',
      '10',
      '--tps',
      '10000',
    ],
  },
  {
    name: 'memory',
    script: 'memory/steady-state.js',
    args: ['--tps', '50', '--clients', '200', '--seconds', '20'],
  },
  { name: 'dashboard', script: 'dashboard/render.js', args: [] },
  { name: 'alert-rules', script: 'alerts/rule-evaluation.js', args: ['--rules', '1000'] },
  {
    name: 'alert-latency',
    script: 'alerts/latency.js',
    args: ['--rounds', '10', '--for-ms', '2000', '--tick-ms', '500'],
  },
];

function runStep(step: Step): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${DIST}${step.script}`, ...step.args], {
      stdio: ['ignore', step.capture ? 'pipe' : 'inherit', 'inherit'],
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('exit', (code) => {
      if (step.capture) {
        try {
          const result = JSON.parse(out) as unknown;
          writeResult(
            step.name,
            `node dist/bench/${step.script} ${step.args.join(' ')}`,
            step.capture,
            result,
          );
        } catch {
          reject(new Error(`${step.name}: no JSON on stdout (exit ${code})`));
          return;
        }
      }
      if (code === 0 || step.capture) resolve();
      else reject(new Error(`${step.name} exited with ${code}`));
    });
  });
}

const onlyFlag = benchArgs({
  command: 'node dist/bench/run-all.js',
  about: `Every benchmark in turn, each writing its bench/results/*.json: ${STEPS.map((s) => s.name).join(', ')}.`,
  flags: { only: { type: 'string', help: 'comma-separated step names to run' } },
}).only;
const only = onlyFlag === undefined ? null : onlyFlag.split(',');
const started = Date.now();
const failed: string[] = [];
const durations: { name: string; seconds: number; ok: boolean }[] = [];
for (const [i, step] of STEPS.entries()) {
  if (only && !only.includes(step.name)) continue;
  progress(
    `\n[${i + 1}/${STEPS.length}] ${step.name}  (${Math.round((Date.now() - started) / 1000)} s elapsed)`,
  );
  const t0 = Date.now();
  let ok = true;
  try {
    await runStep(step);
  } catch (err) {
    ok = false;
    failed.push(step.name);
    progress(`  ✗ ${(err as Error).message}`);
  }
  durations.push({ name: step.name, seconds: Math.round((Date.now() - t0) / 1000), ok });
}
const totalSeconds = Math.round((Date.now() - started) / 1000);
progress(
  `\nbench: done in ${totalSeconds} s${failed.length ? `; failed: ${failed.join(', ')}` : ''}`,
);
// The suite's own duration, for the page's "how long": only for a full run.
if (!only) {
  writeResult('suite', 'node dist/bench/run-all.js', 'every step, one after another', {
    totalSeconds,
    steps: durations,
  });
}
await import('./report/benchmarks-doc.js');
process.exit(failed.length > 0 ? 1 : 0);
