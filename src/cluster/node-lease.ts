import { hostname } from 'node:os';
import { type JetStreamClient, type KV, StorageType } from 'nats';
import { PulseboardError } from '../errors.js';
import type { Logger } from '../log/logger.js';

/**
 * One live node per NODE_ID, held as a lease in a JetStream key-value bucket whose entries
 * expire LEASE_TTL_MS after their last write (the bucket's max age):
 *
 *   key node.<id> = {instance, pid, host, since}     renewed every RENEW_MS by its holder
 *
 * Claiming is kv.create, which the server refuses while the key exists, so two nodes
 * starting at once cannot both win. A node killed with -9 stops renewing and its key
 * expires: a claimant that finds the key waits up to one TTL for it to lapse, and refuses
 * (exit 2) as soon as it sees the holder renew it (its revision moves).
 *
 * Why a lease and not a process check: nodes run on different machines, and NATS is the
 * one thing every node already shares. The lease also guards transaction ids: the node id
 * is their node part (tx-id.ts), so two processes with one id could mint the same id.
 */

export const LEASE_TTL_MS = 5000;
const RENEW_MS = 1000;
const POLL_MS = 250;
export const MAX_NODES = 16;

interface LeaseValue {
  instance: string;
  pid: number;
  host: string;
  since: number;
}

const keyOf = (id: number) => `node.${id}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readValue(entry: { value: Uint8Array } | null): LeaseValue | null {
  if (entry === null || entry.value.length === 0) return null;
  try {
    return JSON.parse(new TextDecoder().decode(entry.value)) as LeaseValue;
  } catch {
    return null;
  }
}

export class NodeLease {
  private timer: NodeJS.Timeout | undefined;
  private revision: number;
  private renewing = false;
  private released = false;
  /** Called once when another process took this id while we could not renew it. */
  onLost: (holder: LeaseValue | null) => void = () => {};

  private constructor(
    private readonly js: JetStreamClient,
    private readonly bucket: string,
    private kv: KV,
    readonly nodeId: number,
    private readonly value: string,
    revision: number,
    private readonly log: Logger,
  ) {
    this.revision = revision;
  }

  private static openBucket(js: JetStreamClient, bucket: string): Promise<KV> {
    return js.views.kv(bucket, { ttl: LEASE_TTL_MS, history: 1, storage: StorageType.Memory });
  }

  /**
   * Claims `requested`, or with null the lowest id no live node holds. Throws
   * PB_ERR_CLUSTER_NODE_ID_TAKEN / PB_ERR_CLUSTER_FULL when that is not possible.
   */
  static async acquire(
    js: JetStreamClient,
    bucket: string,
    requested: number | null,
    instance: string,
    log: Logger,
  ): Promise<NodeLease> {
    const kv = await NodeLease.openBucket(js, bucket);
    const value = JSON.stringify({
      instance,
      pid: process.pid,
      host: hostname(),
      since: Date.now(),
    } satisfies LeaseValue);
    const make = (id: number, revision: number) =>
      new NodeLease(js, bucket, kv, id, value, revision, log);
    if (requested !== null) {
      const revision = await NodeLease.claim(kv, requested, value);
      if (typeof revision === 'number') return make(requested, revision);
      throw new PulseboardError(
        'PB_ERR_CLUSTER_NODE_ID_TAKEN',
        `NODE_ID ${requested} is held by a live node (pid ${revision.pid} on ${revision.host}, since ${new Date(revision.since).toISOString()}): give this node another NODE_ID, or leave it empty to take a free one`,
        { nodeId: requested },
      );
    }
    // Twice: the first pass takes a free id at once; the second waits out leases of nodes
    // that died without releasing (kill -9) before declaring the cluster full.
    for (const wait of [false, true]) {
      for (let id = 0; id < MAX_NODES; id++) {
        const revision = wait
          ? await NodeLease.claim(kv, id, value)
          : await kv.create(keyOf(id), value).catch(() => null);
        if (typeof revision === 'number') return make(id, revision);
      }
    }
    throw new PulseboardError(
      'PB_ERR_CLUSTER_FULL',
      `every node id 0–${MAX_NODES - 1} is held by a live node: the cluster is full`,
    );
  }

  /** The revision of our new lease, or the live holder that keeps it. */
  private static async claim(kv: KV, id: number, value: string): Promise<number | LeaseValue> {
    const deadline = Date.now() + LEASE_TTL_MS + RENEW_MS;
    const first = await kv.get(keyOf(id));
    for (;;) {
      try {
        return await kv.create(keyOf(id), value);
      } catch {
        // held: by a live node (it renews) or by a dead one (it lapses within the TTL)
      }
      const now = await kv.get(keyOf(id));
      const holder = readValue(now);
      if (now && holder && (first === null || now.revision !== first.revision)) return holder;
      if (Date.now() > deadline) return holder ?? { instance: '?', pid: 0, host: '?', since: 0 };
      await sleep(POLL_MS);
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.renew(), RENEW_MS);
    this.timer.unref();
  }

  /**
   * Writes the lease again (compare-and-set on our revision). While NATS is away this
   * fails and is retried; after a NATS restart (the memory bucket is gone) the bucket and
   * the key are created again. Someone else's value in our key means our lease lapsed and
   * another process took the id: onLost.
   */
  private async renew(): Promise<void> {
    if (this.renewing || this.released) return;
    this.renewing = true;
    try {
      this.revision = await this.kv.update(keyOf(this.nodeId), this.value, this.revision);
    } catch {
      try {
        const entry = await this.kv.get(keyOf(this.nodeId)).catch(async () => {
          this.kv = await NodeLease.openBucket(this.js, this.bucket);
          return this.kv.get(keyOf(this.nodeId));
        });
        const holder = readValue(entry);
        if (entry && holder && entry.operation === 'PUT' && holder.instance !== this.instance) {
          this.released = true;
          clearInterval(this.timer);
          this.onLost(holder);
          return;
        }
        this.revision = entry
          ? await this.kv.update(keyOf(this.nodeId), this.value, entry.revision)
          : await this.kv.create(keyOf(this.nodeId), this.value);
        this.log.info({ nodeId: this.nodeId }, 'node lease renewed after an interruption');
      } catch {
        // NATS unreachable: the next renewal tries again
      }
    } finally {
      this.renewing = false;
    }
  }

  private get instance(): string {
    return (JSON.parse(this.value) as LeaseValue).instance;
  }

  /** Gives the id back at once (a clean shutdown), so a restart need not wait for the TTL. */
  async release(): Promise<void> {
    this.released = true;
    clearInterval(this.timer);
    await this.kv.delete(keyOf(this.nodeId), { previousSeq: this.revision }).catch(() => {});
  }
}
