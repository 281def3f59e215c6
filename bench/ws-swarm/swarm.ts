import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { benchArgs } from '../lib/cli-args.js';
import {
  cpuShare,
  type MachineSample,
  machineBusyCores,
  type ProcSample,
  processesCpuMs,
  sampleMachine,
  sampleProc,
} from './proc-stats.js';
import type { SwarmProcessConfig, SwarmReport } from './swarm-process.js';

/**
 * WebSocket client swarm: N connections split over P processes of minimal `net` clients
 * (swarm-process.ts), ramped, then measured for S seconds: delivered messages/s, sequence
 * gaps (lost messages), delivery latency p50/p95/p99/max, bandwidth, failed connections,
 * and — with --pid — the server's CPU (all threads and its primary thread) and RSS from
 * /proc. Over the same span it also reads the swarm's own CPU (its processes' /proc) and
 * the whole machine's busy cores (/proc/stat), because the swarm shares the machine with
 * the server: a report can then state how much CPU each side had.
 *
 *   node dist/bench/ws-swarm/swarm.js --url ws://127.0.0.1:8080/ws?topics=metrics \
 *        --clients 1000 [--processes 1] [--ramp 2000] [--seconds 20] [--pid N]
 * Loopback targets only; stops by itself.
 */

const PROCESS_SCRIPT = fileURLToPath(new URL('./swarm-process.js', import.meta.url));

export interface SwarmOptions {
  url: string;
  /**
   * Several servers (a cluster's nodes): process i connects to urls[i % urls.length]
   * instead of `url`, so give at least as many processes as urls.
   */
  urls?: string[];
  protocol?: 'ws' | 'socketio';
  clients: number;
  processes: number;
  rampPerSecond: number;
  seconds: number;
  pid?: number;
  /** Several server processes (a cluster's nodes): their CPU and RSS are summed. */
  pids?: number[];
  quiet?: boolean;
  /**
   * Runs after the measured span, while every client is still connected (and still
   * receiving): e.g. a settled RSS reading. Its time is not part of the span's figures.
   */
  duringRun?: () => Promise<void>;
}

export interface SwarmResult {
  clients: number;
  connected: number;
  failedConnections: number;
  failureReasons: Record<string, number>;
  closedDuringRun: number;
  seconds: number;
  messagesPerSec: number;
  messages: number;
  gaps: number;
  bytesPerSec: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  server?: {
    /** All threads of the server process (of every one with `pids`), cores. */
    cpuCores: number;
    /** The server's main thread alone (tid = pid; summed over `pids`), cores. */
    mainThreadCpuCores: number;
    rssBytes: number;
    cpuMsPerThousandMessages: number;
  };
  /** The swarm's own processes over the measured span. */
  swarm: { processes: number; cpuCores: number };
  /** Busy CPU of the whole machine over the measured span (all processes). */
  machine: { cores: number; busyCores: number };
}

function mergeFailures(reports: SwarmReport[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of reports)
    for (const [k, n] of Object.entries(r.failures)) out[k] = (out[k] ?? 0) + n;
  return out;
}

function percentile(hist: number[], total: number, q: number): number {
  if (total === 0) return 0;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]!;
    if (seen >= rank) return i / 10;
  }
  return (hist.length - 1) / 10;
}

/** The loopback target a swarm process connects to. */
function target(raw: string): { host: string; port: number; path: string } {
  const url = new URL(raw);
  if (
    !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) &&
    !url.hostname.startsWith('127.')
  ) {
    throw new Error(`the swarm targets loopback only (got ${url.hostname})`);
  }
  return {
    host: url.hostname === 'localhost' ? '127.0.0.1' : url.hostname,
    port: Number(url.port || 80),
    path: url.pathname + url.search,
  };
}

/** One sample summed over several processes (a cluster's nodes), taken back to back. */
function sampleProcs(pids: readonly number[]): ProcSample {
  const all = pids.map(sampleProc);
  const sum = (f: (p: ProcSample) => number) => all.reduce((n, p) => n + f(p), 0);
  return {
    at: sum((p) => p.at) / all.length,
    cpuMs: sum((p) => p.cpuMs),
    mainThreadCpuMs: sum((p) => p.mainThreadCpuMs),
    rssBytes: sum((p) => p.rssBytes),
    rssAnonBytes: sum((p) => p.rssAnonBytes),
  };
}

export async function runSwarm(o: SwarmOptions): Promise<SwarmResult> {
  const targets = (o.urls ?? [o.url]).map(target);
  const serverPids = o.pids ?? (o.pid ? [o.pid] : []);
  const log = (m: string) => {
    if (!o.quiet) process.stderr.write(`${m}\n`);
  };
  const per = Math.ceil(o.clients / o.processes);
  const children = Array.from({ length: o.processes }, (_, i) => {
    const config: SwarmProcessConfig = {
      protocol: o.protocol ?? 'ws',
      ...targets[i % targets.length]!,
      connections: Math.min(per, o.clients - i * per),
      rampPerSecond: Math.ceil(o.rampPerSecond / o.processes),
      seconds: o.seconds,
    };
    return fork(PROCESS_SCRIPT, [], {
      env: { ...process.env, SWARM_CONFIG: JSON.stringify(config) },
    });
  });
  const latest = new Map<number, SwarmReport>();
  let measuring = false;
  const hist: number[] = [];
  let messages = 0;
  let bytes = 0;
  let gaps = 0;
  const finals: Promise<void>[] = [];
  let flushed: (() => void) | undefined;
  let flushesPending = 0;
  /** Every child reports its counts up to now; resolves when all have. */
  const flush = () =>
    new Promise<void>((resolve) => {
      flushesPending = children.length;
      flushed = resolve;
      for (const c of children) c.send({ type: 'flush' });
    });
  children.forEach((child, i) => {
    let resolveFinal!: () => void;
    finals.push(new Promise<void>((r) => (resolveFinal = r)));
    child.on('message', (r: SwarmReport) => {
      if (r.flush && --flushesPending === 0) queueMicrotask(() => flushed?.());
      latest.set(i, r);
      if (measuring) {
        messages += r.messages;
        bytes += r.bytes;
        gaps += r.gaps;
        r.latency.forEach((n, k) => {
          hist[k] = (hist[k] ?? 0) + n;
        });
      }
      if (r.final) resolveFinal();
    });
  });
  const sum = (f: (r: SwarmReport) => number) => [...latest.values()].reduce((n, r) => n + f(r), 0);

  // Ramp: wait until every client is connected (or failed), at most clients/ramp + 30 s.
  const rampDeadline = Date.now() + (o.clients / o.rampPerSecond) * 1000 + 30_000;
  while (sum((r) => r.open + r.failed) < o.clients && Date.now() < rampDeadline) {
    await new Promise((r) => setTimeout(r, 1000));
    log(`  ramp: ${sum((r) => r.open)} open, ${sum((r) => r.failed)} failed of ${o.clients}`);
  }
  await new Promise((r) => setTimeout(r, 1500)); // settle
  await flush(); // counts so far are discarded: the span starts now
  const before = serverPids.length > 0 ? sampleProcs(serverPids) : undefined;
  const swarmPids = children.map((c) => c.pid!).filter((p) => p !== undefined);
  const swarmCpu0 = processesCpuMs(swarmPids);
  const machine0: MachineSample = sampleMachine();
  measuring = true;
  const t0 = performance.now();
  for (let s = 1; s <= o.seconds; s++) {
    await new Promise((r) => setTimeout(r, 1000));
    log(
      `  ${String(s).padStart(3)} s  ${messages.toLocaleString('en-US')} messages, ${gaps} gaps, ${sum((r) => r.open)} open`,
    );
  }
  // Read every counter at the end of the span, before the stop and final reports.
  const after = serverPids.length > 0 ? sampleProcs(serverPids) : undefined;
  const swarmCpu1 = processesCpuMs(swarmPids);
  const machine1 = sampleMachine();
  const spanMs = performance.now() - t0;
  await flush(); // the counts up to the end of the span
  measuring = false;
  if (o.duringRun) await o.duringRun();
  for (const c of children) c.send({ type: 'stop' });
  await Promise.all(finals);
  const elapsed = spanMs / 1000;
  const total = hist.reduce((a, b) => a + (b ?? 0), 0);
  const filled = Array.from(hist, (n) => n ?? 0);
  const result: SwarmResult = {
    clients: o.clients,
    connected: sum((r) => r.open),
    failedConnections: sum((r) => r.failed),
    failureReasons: mergeFailures([...latest.values()]),
    closedDuringRun: sum((r) => r.closed),
    seconds: Math.round(elapsed * 10) / 10,
    messages,
    messagesPerSec: Math.round(messages / elapsed),
    gaps,
    bytesPerSec: Math.round(bytes / elapsed),
    latencyMs: {
      p50: percentile(filled, total, 0.5),
      p95: percentile(filled, total, 0.95),
      p99: percentile(filled, total, 0.99),
      max: (filled.length - 1) / 10,
    },
    swarm: {
      processes: children.length,
      cpuCores: Math.round(((swarmCpu1 - swarmCpu0) / spanMs) * 1000) / 1000,
    },
    machine: {
      cores: machine1.cores,
      busyCores: Math.round(machineBusyCores(machine0, machine1) * 1000) / 1000,
    },
  };
  if (before && after) {
    const cores = cpuShare(before, after);
    result.server = {
      cpuCores: Math.round(cores * 1000) / 1000,
      mainThreadCpuCores:
        Math.round(
          ((after.mainThreadCpuMs - before.mainThreadCpuMs) / (after.at - before.at)) * 1000,
        ) / 1000,
      rssBytes: after.rssBytes,
      cpuMsPerThousandMessages:
        messages > 0
          ? Math.round(((after.cpuMs - before.cpuMs) / messages) * 1000 * 1000) / 1000
          : 0,
    };
  }
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const flags = benchArgs({
    command: 'node dist/bench/ws-swarm/swarm.js',
    about:
      "A swarm of minimal WebSocket clients against a running loopback server: delivered messages/s, gaps, delivery latency, bandwidth, and with --pid the server's CPU and RSS. Prints JSON.",
    flags: {
      url: { type: 'string', default: 'ws://127.0.0.1:8080/ws?topics=metrics', help: 'where' },
      protocol: { type: 'string', default: 'ws', choices: ['ws', 'socketio'], help: 'protocol' },
      clients: { type: 'number', default: '1000', help: 'clients' },
      processes: { type: 'number', help: 'client processes (default: one per 5,000 clients)' },
      ramp: { type: 'number', default: '2000', help: 'connections opened per second' },
      seconds: { type: 'number', default: '20', help: 'measured seconds' },
      pid: { type: 'number', help: "the server's pid, for its CPU and RSS" },
    },
  });
  const clients = flags.clients;
  runSwarm({
    url: flags.url,
    protocol: flags.protocol === 'socketio' ? 'socketio' : 'ws',
    clients,
    processes: flags.processes ?? Math.max(1, Math.ceil(clients / 5000)),
    rampPerSecond: flags.ramp,
    seconds: flags.seconds,
    pid: flags.pid,
  }).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      // A load that never connected is a failed load, not a quiet one.
      if (r.connected === 0) {
        process.stderr.write(
          `swarm: none of ${clients} clients connected (${JSON.stringify(r.failureReasons)})\n`,
        );
        process.exitCode = 1;
      }
    },
    (err: unknown) => {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
