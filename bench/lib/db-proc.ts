import { readdirSync, readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';

/**
 * The local database server's CPU time, for "CPU per committed row" figures: its pid comes
 * from @@pid_file, its utime + stime from /proc/<pid>/stat. On a shared 2-core box
 * wall-clock rows/s swings with whatever else runs; CPU per row does not. Null when the
 * server is not on this machine or its pid file is not readable.
 */

export const LOCAL_DB = { host: '127.0.0.1', port: 3306, user: 'root' } as const;

/** utime + stime of a local process, seconds, or null when it cannot be read. */
export function procCpuSeconds(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

export async function dbServerPid(conn: mysql.Connection): Promise<number | null> {
  try {
    const [r] = await conn.query('SELECT @@pid_file AS f');
    const pid = Number(readFileSync((r as { f: string }[])[0]!.f, 'utf8').trim());
    return procCpuSeconds(pid) === null ? null : pid;
  } catch {
    return null;
  }
}

/** The database server's pid, found with a short-lived connection to the local server. */
export async function localDbPid(): Promise<number | null> {
  const conn = await mysql.createConnection(LOCAL_DB);
  try {
    return await dbServerPid(conn);
  } finally {
    await conn.end();
  }
}

/**
 * The pid of the local process whose command name is `comm` (e.g. nats-server, for the
 * JetStream bench's CPU per transaction), or null when none runs here or there are several.
 */
export function localPidByName(comm: string): number | null {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) found.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return found.length === 1 ? found[0]! : null;
}

/** utime + stime of thread `tid` of local process `pid`, seconds, or null when it is gone. */
export function threadCpuSeconds(pid: number, tid: number): number | null {
  try {
    const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

/**
 * CPU seconds of the server threads serving the connections now open to `database`, by
 * thread id (MariaDB's information_schema.PROCESSLIST.TID). Unlike the whole server's CPU,
 * other clients of a shared server do not show in it: the database's own cost per row of
 * one benchmark, on a box where others use the same server.
 */
export async function databaseThreadsCpu(
  conn: mysql.Connection,
  pid: number,
  database: string,
): Promise<Map<number, number>> {
  const [r] = await conn.query(
    'SELECT TID AS tid FROM information_schema.PROCESSLIST WHERE DB = ?',
    [database],
  );
  const out = new Map<number, number>();
  for (const { tid } of r as { tid: number }[]) {
    const s = threadCpuSeconds(pid, Number(tid));
    if (s !== null) out.set(Number(tid), s);
  }
  return out;
}

/**
 * CPU seconds spent between two databaseThreadsCpu snapshots by the threads in both (a
 * connection opened or closed in between is left out: its thread may have served others).
 */
export function threadsCpuBetween(a: Map<number, number>, b: Map<number, number>): number {
  let s = 0;
  for (const [tid, end] of b) {
    const start = a.get(tid);
    if (start !== undefined) s += end - start;
  }
  return s;
}
