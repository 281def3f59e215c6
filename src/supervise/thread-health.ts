import type { FaultRole } from '../shared/fault-switch.js';

/**
 * Which worker threads are down right now, for GET /readyz (503 naming them while any is)
 * and for the snapshot's restart counters. Written by the supervisors on the primary thread
 * only, so plain fields suffice.
 */

export type ThreadRole = FaultRole;

export interface DownThread {
  readonly thread: string;
  readonly role: ThreadRole;
  readonly reason: string;
  readonly since: number;
}

export type NotReady = {
  code: 'PB_ERR_THREAD_DOWN';
  message: string;
  threads: string[];
};

export class ThreadHealth {
  private readonly down = new Map<string, DownThread>();
  /** Restarts (and piscina replacements) per role since start. */
  readonly restarts: Record<ThreadRole, number> = {
    shard: 0,
    writer: 0,
    ingest: 0,
    read: 0,
    fanout: 0,
  };

  markDown(thread: string, role: ThreadRole, reason: string): void {
    if (!this.down.has(thread)) this.down.set(thread, { thread, role, reason, since: Date.now() });
  }

  /** The thread runs again; `restarted` counts it as a restart. */
  markUp(thread: string, restarted = true): void {
    const d = this.down.get(thread);
    if (!d) return;
    this.down.delete(thread);
    if (restarted) this.restarts[d.role]++;
  }

  /** Names of the threads of these roles that are down. */
  downOf(roles: readonly ThreadRole[]): string[] {
    return [...this.down.values()].filter((d) => roles.includes(d.role)).map((d) => d.thread);
  }

  /** null when every thread runs; else what /readyz answers with. */
  notReady(): NotReady | null {
    if (this.down.size === 0) return null;
    const list = [...this.down.values()];
    const first = list[0]!;
    const names = list.map((d) => d.thread);
    return {
      code: 'PB_ERR_THREAD_DOWN',
      message: `${names.join(', ')} thread${names.length > 1 ? 's' : ''} down, restarting (${first.thread}: ${firstLine(first.reason)})`,
      threads: names,
    };
  }
}

export function firstLine(s: string): string {
  const nl = s.indexOf('\n');
  return nl === -1 ? s : s.slice(0, nl);
}
