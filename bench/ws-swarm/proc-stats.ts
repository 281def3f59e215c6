import { readFileSync } from 'node:fs';

/** CPU time and RSS of a process from /proc (Linux), for the server under test. */

const CLOCK_TICKS = 100; // USER_HZ on Linux

export interface ProcSample {
  at: number;
  cpuMs: number;
  rssBytes: number;
}

export function sampleProc(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return {
    at: performance.now(),
    cpuMs: ((utime + stime) * 1000) / CLOCK_TICKS,
    rssBytes: rssKb * 1024,
  };
}

/** CPU use between two samples, as a share of one core (1.0 = one core busy). */
export function cpuShare(a: ProcSample, b: ProcSample): number {
  return (b.cpuMs - a.cpuMs) / (b.at - a.at);
}
