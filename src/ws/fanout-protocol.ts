import type { Options } from '../config/option-specs.js';
import type { FaultSpec } from '../shared/fault-switch.js';
import type { FanoutLayoutInit } from './fanout-layout.js';
import type { Frames } from './partitioned-publisher.js';

/**
 * Messages between the primary and a fan-out thread (workers/fanout/fanout-worker.ts).
 * Per tick the primary posts one `frames` message to every thread: the tick's frames,
 * serialised once on the primary (strings: a structured clone of a few KB per thread and
 * tick, measured in ARCHITECTURE.md §3.12 against a SharedArrayBuffer slot).
 */

export interface FanoutInit {
  /** This thread's column in the shared counters, 0 … threads-1. */
  thread: number;
  layout: FanoutLayoutInit;
  sharedSab: SharedArrayBuffer;
  /**
   * The source registry's buffer (source-registry.ts): sources appear while the server
   * runs, and a thread must know them to accept `source/<name>` and find its column. The
   * thread only reads it (find, never slotOf), so it never holds the registry's lock.
   */
  sourcesSab: SharedArrayBuffer;
  /** The wrong-token buckets of every thread (src/security/token-buckets.ts). */
  authSab: SharedArrayBuffer;
  /** The resolved options (tokens, limits, Host and Origin policy, partitions). */
  options: Options;
  /** WS_PORT, already chosen by the primary (shared with SO_REUSEPORT). */
  port: number;
  /** PORT, where the dashboard's page is: its Origin is this server's own. */
  pagePort: number;
  fault?: FaultSpec;
}

export type ToFanout = { type: 'frames'; frames: Frames } | { type: 'stop' };

export type FromFanout =
  | { type: 'ready' }
  | { type: 'error'; code: string; message: string }
  /** The App is closed: the thread may end now without taking the process with it. */
  | { type: 'stopped' };
