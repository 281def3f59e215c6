import { readFileSync } from 'node:fs';

/**
 * CPU time and RSS of a process from /proc (Linux): the server under test, its primary
 * thread alone, the swarm's own processes, and the whole machine — so a report can say
 * how busy each side was rather than guess.
 */

const CLOCK_TICKS = 100; // USER_HZ on Linux

export interface ProcSample {
  at: number;
  /** utime + stime of every thread of the process, ms. */
  cpuMs: number;
  /** utime + stime of the main thread (tid = pid) alone, ms: the JS event loop. */
  mainThreadCpuMs: number;
  rssBytes: number;
  /** Anonymous resident memory (heap, stacks, malloc): RSS without mapped files (code). */
  rssAnonBytes: number;
}

/** utime + stime in ms from a /proc/…/stat line. */
function statCpuMs(path: string): number {
  const stat = readFileSync(path, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

export function sampleProc(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const anonKb = Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return {
    at: performance.now(),
    cpuMs: statCpuMs(`/proc/${pid}/stat`),
    mainThreadCpuMs: statCpuMs(`/proc/${pid}/task/${pid}/stat`),
    rssBytes: rssKb * 1024,
    rssAnonBytes: anonKb * 1024,
  };
}

/** CPU use between two samples, as a share of one core (1.0 = one core busy). */
export function cpuShare(a: ProcSample, b: ProcSample): number {
  return (b.cpuMs - a.cpuMs) / (b.at - a.at);
}

/** CPU time of several processes (e.g. the swarm's), ms; a process that has exited counts 0. */
export function processesCpuMs(pids: readonly number[]): number {
  let ms = 0;
  for (const pid of pids) {
    try {
      ms += statCpuMs(`/proc/${pid}/stat`);
    } catch {
      // exited
    }
  }
  return ms;
}

export interface MachineSample {
  at: number;
  /** CPU time spent not idle (all but idle and iowait), all cores, ms. */
  busyMs: number;
  cores: number;
}

/** The whole machine's busy CPU time from the first line of /proc/stat. */
export function sampleMachine(): MachineSample {
  const text = readFileSync('/proc/stat', 'utf8');
  const total = text.split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const busy = total.slice(0, 8).reduce((a, b) => a + b, 0) - total[3]! - total[4]!;
  const cores = text.split('\n').filter((l) => /^cpu\d/.test(l)).length;
  return { at: performance.now(), busyMs: (busy * 1000) / CLOCK_TICKS, cores };
}

/** Busy cores of the whole machine between two samples (2.0 = both cores of a 2-core box). */
export function machineBusyCores(a: MachineSample, b: MachineSample): number {
  return (b.busyMs - a.busyMs) / (b.at - a.at);
}

export interface GcSettleResult {
  /** How long it took, ms. */
  ms: number;
  /** Whether the anonymous RSS held still (see below) before the time cap. */
  still: boolean;
}

/**
 * Lets a process settle before a memory baseline: a forced full GC every second when `gc`
 * is given, for at least `minMs`, then until its anonymous RSS has held still (the last
 * STILL_READINGS readings within STILL_BYTES) or `maxMs` has passed. A fresh Node process's
 * RSS steps down by several MB some seconds after its first forced collections (pages
 * released later); a baseline read before that would make connections look free.
 */
const STILL_READINGS = 5;
const STILL_BYTES = 512 * 1024;
export async function gcSettle(
  pid: number,
  minMs: number,
  gc?: () => Promise<unknown>,
  maxMs = 3 * minMs,
): Promise<GcSettleResult> {
  const t0 = performance.now();
  const recent: number[] = [];
  for (;;) {
    if (gc) await gc();
    await new Promise((r) => setTimeout(r, 1000));
    recent.push(sampleProc(pid).rssAnonBytes);
    if (recent.length > STILL_READINGS) recent.shift();
    const elapsed = performance.now() - t0;
    const still =
      recent.length === STILL_READINGS && Math.max(...recent) - Math.min(...recent) <= STILL_BYTES;
    if ((elapsed >= minMs && still) || elapsed >= maxMs) return { ms: Math.round(elapsed), still };
  }
}

export interface SettledRss {
  /** Median of the RSS readings, bytes. */
  medianBytes: number;
  /** Median of the anonymous-RSS readings (RssAnon: no file-backed code pages), bytes. */
  medianAnonBytes: number;
  /** Max − min of the anonymous-RSS readings, bytes: how still the process was. */
  anonSpreadBytes: number;
  samples: number;
  /** Whether a full GC was forced before each reading. */
  gcForced: boolean;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

/**
 * Memory in a settled state: `samples` readings `intervalMs` apart, each right after a
 * forced full GC when `gc` is given (bench/lib/gc-hook.ts), and their median. A single
 * reading lands anywhere in the heap's growth between two collections, MBs apart; the
 * median of post-GC readings does not. RssAnon is read besides RSS because file-backed
 * pages (code first run when clients connect) are not memory a connection holds.
 */
export async function settledRss(
  pid: number,
  gc?: () => Promise<unknown>,
  samples = 5,
  intervalMs = 500,
): Promise<SettledRss> {
  const rss: number[] = [];
  const anon: number[] = [];
  let gcForced = gc !== undefined;
  for (let i = 0; i < samples; i++) {
    if (gc && (await gc()) === null) gcForced = false;
    await new Promise((r) => setTimeout(r, intervalMs));
    const p = sampleProc(pid);
    rss.push(p.rssBytes);
    anon.push(p.rssAnonBytes);
  }
  return {
    medianBytes: median(rss),
    medianAnonBytes: median(anon),
    anonSpreadBytes: Math.max(...anon) - Math.min(...anon),
    samples,
    gcForced,
  };
}
