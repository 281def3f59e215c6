import { randomUUID } from 'node:crypto';
import { type KV, type KvEntry, type QueuedIterator, StorageType } from 'nats';
import { PulseboardError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { ScenarioBody } from '../scenario/scenario-body.js';
import type { ClusterNode } from './cluster-node.js';

/**
 * Scenario control for the whole cluster: POST /api/load-test, /api/load-test/stop and
 * /api/reset on any node write one record into a JetStream key-value bucket, and every node
 * (the writer too) applies what it sees there. One key, so the last command wins everywhere:
 *
 *   <name>_control / scenario = {id, op: load-test | stop | reset, body?, at, from}
 *
 * A node that starts, or comes back after a NATS outage, reads the record once more: a
 * scenario still running is joined where it stands (`at` says since when), and a record it
 * already applied (same id) or an old reset changes nothing.
 */

const KEY = 'scenario';
const APPLY_TIMEOUT_MS = 5000;
const RETRY_MS = 500;

export type ControlRecord =
  | { id: string; op: 'load-test'; body: ScenarioBody; at: number; from: number }
  | { id: string; op: 'stop' | 'reset'; at: number; from: number };

export interface ControlTarget {
  /** Starts `body` on this node as if it had started `elapsedMs` ago. */
  start(body: ScenarioBody, elapsedMs: number): void;
  stop(): void;
  reset(at: number): Promise<void>;
}

export class ClusterControl {
  private lastApplied = '';
  private readonly waiting = new Map<string, (err?: Error) => void>();
  private watcher: QueuedIterator<KvEntry> | undefined;
  private closed = false;
  private readonly startedAt = Date.now();

  private constructor(
    private readonly node: ClusterNode,
    private kv: KV,
    private readonly target: ControlTarget,
    private readonly log: Logger,
  ) {}

  static async open(
    node: ClusterNode,
    target: ControlTarget,
    log: Logger,
  ): Promise<ClusterControl> {
    const kv = await ClusterControl.bucket(node);
    const control = new ClusterControl(node, kv, target, log);
    control.follow();
    return control;
  }

  private static bucket(node: ClusterNode): Promise<KV> {
    return node.js.views.kv(node.names.controlBucket, { history: 1, storage: StorageType.Memory });
  }

  /** Writes a command for every node and resolves once this node has applied it. */
  async send(op: 'load-test', body: ScenarioBody): Promise<void>;
  async send(op: 'stop' | 'reset'): Promise<void>;
  async send(op: ControlRecord['op'], body?: ScenarioBody): Promise<void> {
    const record = {
      id: randomUUID(),
      op,
      at: Date.now(),
      from: this.node.nodeId,
      ...(body ? { body } : {}),
    };
    const applied = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(record.id);
        reject(
          new PulseboardError(
            'PB_ERR_CLUSTER_UNREACHABLE',
            'the cluster did not deliver the command in time (NATS?)',
          ),
        );
      }, APPLY_TIMEOUT_MS);
      this.waiting.set(record.id, (err) => {
        clearTimeout(timer);
        this.waiting.delete(record.id);
        if (err) reject(err);
        else resolve();
      });
    });
    try {
      if (!this.node.connected) throw new Error('not connected');
      await this.kv.put(KEY, JSON.stringify(record));
    } catch (err) {
      this.waiting.get(record.id)?.();
      applied.catch(() => {});
      throw new PulseboardError(
        'PB_ERR_CLUSTER_UNREACHABLE',
        `NATS is unreachable, so the command cannot reach the cluster: retry when it is back (${(err as Error).message})`,
      );
    }
    await applied;
  }

  private follow(): void {
    void (async () => {
      while (!this.closed) {
        try {
          this.watcher = await this.kv.watch({ key: KEY });
          for await (const e of this.watcher) {
            if (e.operation !== 'PUT') continue;
            await this.apply(JSON.parse(e.string()) as ControlRecord);
          }
        } catch (err) {
          if (!this.closed)
            this.log.debug({ err: (err as Error).message }, 'control watcher failed');
          // After a NATS restart the memory bucket is gone: make it again.
          this.kv = await ClusterControl.bucket(this.node).catch(() => this.kv);
        }
        if (!this.closed) await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    })();
  }

  /** Follows the bucket again (after a reconnect a watcher may have lost its consumer). */
  refollow(): void {
    this.watcher?.stop();
  }

  private async apply(r: ControlRecord): Promise<void> {
    if (r.id === this.lastApplied) return;
    this.lastApplied = r.id;
    let error: Error | undefined;
    try {
      if (r.op === 'load-test') this.target.start(r.body, Math.max(0, Date.now() - r.at));
      else if (r.op === 'stop') this.target.stop();
      // A reset from before this process started is history, not a command.
      else if (r.at >= this.startedAt) await this.target.reset(r.at);
      this.log.info({ op: r.op, from: r.from }, `cluster command applied: ${r.op}`);
    } catch (err) {
      error = err as Error;
      this.log.warn({ op: r.op, err: error.message }, 'cluster command failed on this node');
    }
    this.waiting.get(r.id)?.(error);
  }

  close(): void {
    this.closed = true;
    this.watcher?.stop();
  }
}
