import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { progress, writeResult } from './lib/results.js';

/**
 * `npm run bench`: the standard suite, one step after another (they share the machine, so
 * never in parallel), each step a script that can be rerun alone. Steps that print JSON
 * on stdout are saved here; the others write bench/results/ themselves. Then BENCHMARKS.md
 * is regenerated from the results. About 8 minutes on the 2-core development machine.
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

const STEPS: Step[] = [
  { name: 'micro', script: 'micro/hot-paths.js', args: [] },
  {
    name: 'pipeline-off',
    script: 'pipeline/throughput.js',
    args: ['--seconds', '15', '--warmup', '5', '--json'],
    capture: 'simulator at max, persistence off, shards = cores − 1, 15 s after 5 s warm-up',
  },
  {
    name: 'persisted',
    script: 'pipeline/persisted.js',
    args: ['--seconds', '60', '--warmup', '5', '--json'],
    capture:
      'simulator at max with persistence on (MariaDB 10.11 on the same machine), 60 s after 5 s warm-up; rows checked against completions',
  },
  {
    name: 'db-sweep',
    script: 'db/batch-sweep.js',
    args: ['--seconds', '10', '--sizes', '100,1000,5000'],
    capture: 'full persisted pipeline at max, one fresh database per batch size, 10 s each',
  },
  ...[1, 100, 1000].map((batch) => ({
    name: `ingest-${batch}`,
    script: 'ingest/http-ingest.js',
    args: ['--seconds', '10', '--batch', String(batch)],
    capture: `POST /api/transactions, ${batch} item(s) per request, 8 concurrent clients, 10 s, persistence on`,
  })),
  { name: 'ramp', script: 'pipeline/ramp.js', args: ['--stage-seconds', '8'] },
  {
    name: 'fanout',
    script: 'ws-swarm/fanout.js',
    args: [
      '--clients',
      '100,1000,10000',
      '--tps',
      '10000',
      '--seconds',
      '15',
      '--idle-clients',
      '10000',
    ],
  },
  {
    name: 'peers',
    script: 'peers/run-peers.js',
    args: ['--clients', '10000', '--seconds', '15', '--http-seconds', '10'],
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

const only = process.argv.includes('--only')
  ? process.argv[process.argv.indexOf('--only') + 1]!.split(',')
  : null;
const started = Date.now();
const failed: string[] = [];
for (const [i, step] of STEPS.entries()) {
  if (only && !only.includes(step.name)) continue;
  progress(
    `\n[${i + 1}/${STEPS.length}] ${step.name}  (${Math.round((Date.now() - started) / 1000)} s elapsed)`,
  );
  try {
    await runStep(step);
  } catch (err) {
    failed.push(step.name);
    progress(`  ✗ ${(err as Error).message}`);
  }
}
progress(
  `\nbench: done in ${Math.round((Date.now() - started) / 1000)} s${failed.length ? `; failed: ${failed.join(', ')}` : ''}`,
);
await import('./report/benchmarks-doc.js');
process.exit(failed.length > 0 ? 1 : 0);
