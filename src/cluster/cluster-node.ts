import { randomUUID } from 'node:crypto';
import {
  connect,
  consumerOpts,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JetStreamSubscription,
  type NatsConnection,
  nanos,
  RetentionPolicy,
  StorageType,
} from 'nats';
import type { Options } from '../config/option-specs.js';
import { PulseboardError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { type ClusterNames, clusterNames } from './cluster-names.js';
import { LEASE_TTL_MS, NodeLease } from './node-lease.js';
import { decodePartial, type Partial } from './partial-codec.js';

/**
 * This process as a node of the cluster (DESIGN §8): its NATS connection, its lease on a
 * node id (node-lease.ts), the JetStream stream of partials it publishes to and replays
 * from. What goes into a partial and how partials are merged is partial-publisher.ts and
 * global-windows.ts; this file is the plumbing and its failure handling:
 *
 * - NATS away: the client reconnects forever (nats.js); meanwhile nothing is published
 *   (no buffer grows) and the node serves its local view (cluster-snapshot.ts decides the
 *   scope from whether its own partials come back).
 * - The stream lost (a memory stream does not survive a NATS restart), or a consumer that
 *   stopped delivering: the watchdog recreates the stream and replays it; per-node
 *   high-water marks make the replay harmless (global-windows.ts).
 */

/** Partials kept in the stream: the 1 h window and a margin (a joining node replays them). */
const STREAM_MAX_AGE_MS = 3600_000 + 60_000;
const RETRY_MS = 500;
const CLOSE_WAIT_MS = 1000;

export class ClusterNode {
  readonly names: ClusterNames;
  readonly instance = randomUUID();
  connected = true;
  /** Partials received (decoded and applied) and refused as malformed, since start. */
  received = 0;
  malformed = 0;
  /** Epoch ms when this node's own latest partial came back from the stream. */
  ownSeenAt = 0;
  private messages: JetStreamSubscription | undefined;
  private consumerStartedAt = 0;
  private closed = false;
  private streamReady = true;
  private lease!: NodeLease;
  /** Called after NATS comes back. */
  onReconnect: () => void = () => {};

  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly options: Options,
    private readonly log: Logger,
  ) {
    this.names = clusterNames(options.clusterName);
  }

  get nodeId(): number {
    return this.lease.nodeId;
  }

  /**
   * Connects, makes sure the stream exists and claims a node id. NATS must answer at start
   * (the lease cannot be checked otherwise): PB_ERR_CLUSTER_UNREACHABLE.
   */
  static async start(options: Options, log: Logger): Promise<ClusterNode> {
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: options.natsUrl,
        name: `pulseboard-${options.clusterName}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: RETRY_MS,
        timeout: 3000,
      });
    } catch (err) {
      throw new PulseboardError(
        'PB_ERR_CLUSTER_UNREACHABLE',
        `cannot reach NATS at ${options.natsUrl} (${(err as Error).message}): cluster mode needs it at start`,
      );
    }
    try {
      const jsm = await nc.jetstreamManager({ timeout: 3000 });
      const node = new ClusterNode(nc, nc.jetstream(), jsm, options, log);
      await node.ensureStream();
      node.lease = await NodeLease.acquire(
        node.js,
        node.names.leaseBucket,
        options.nodeId,
        node.instance,
        log,
      );
      node.lease.start();
      node.watchStatus();
      return node;
    } catch (err) {
      await nc.close().catch(() => {});
      if (err instanceof PulseboardError) throw err;
      throw new PulseboardError(
        'PB_ERR_CLUSTER_UNREACHABLE',
        `NATS at ${options.natsUrl} has no usable JetStream (${(err as Error).message}): start nats-server with -js`,
      );
    }
  }

  /** Called when another process took our id while we were cut off (onLost). */
  set onLeaseLost(fn: () => void) {
    this.lease.onLost = (holder) => {
      this.log.fatal(
        { nodeId: this.nodeId, holder },
        `NODE_ID ${this.nodeId} was taken by another process while this node was cut off from NATS for more than ${LEASE_TTL_MS} ms; stopping so that no two nodes mint ids with one node part`,
      );
      fn();
    };
  }

  private async ensureStream(): Promise<void> {
    const config = {
      name: this.names.stream,
      subjects: [this.names.partialWildcard],
      storage: StorageType.Memory,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: nanos(STREAM_MAX_AGE_MS),
      num_replicas: 1,
    };
    try {
      await this.jsm.streams.info(this.names.stream);
    } catch {
      await this.jsm.streams.add(config).catch(async (err: Error) => {
        // Another node created it in between: fine; anything else is a real failure.
        if (!/already in use/.test(err.message)) throw err;
      });
    }
    this.streamReady = true;
  }

  private watchStatus(): void {
    void (async () => {
      for await (const s of this.nc.status()) {
        if (s.type === 'disconnect') {
          if (this.connected)
            this.log.warn(
              { nats: this.options.natsUrl },
              'NATS connection lost: serving the local view',
            );
          this.connected = false;
        } else if (s.type === 'reconnect') {
          this.connected = true;
          this.log.info({ nats: this.options.natsUrl }, 'NATS connection back');
          this.onReconnect();
        }
      }
    })().catch(() => {});
  }

  /**
   * Publishes one partial, waiting for the stream's ack (true) or giving up (false) within
   * `timeoutMs`. Nothing is sent while disconnected: a partial not acknowledged is simply
   * built again, bigger by the seconds it missed, from the node's own ring.
   */
  async publish(data: Uint8Array, timeoutMs: number): Promise<boolean> {
    if (!this.connected || this.closed) return false;
    try {
      if (!this.streamReady) await this.ensureStream();
      await this.js.publish(this.names.partialSubject(this.nodeId), data, { timeout: timeoutMs });
      return true;
    } catch (err) {
      if (/no responders|stream not found/i.test((err as Error).message)) this.streamReady = false;
      return false;
    }
  }

  /**
   * Replays the stream from its start and follows it, handing every partial to `apply`;
   * restarts by itself after a failure. Ordered consumer: in order, no gaps (it recreates
   * itself from the last sequence it saw).
   */
  follow(apply: (p: Partial, receivedAt: number) => void): void {
    void (async () => {
      while (!this.closed) {
        try {
          await this.ensureStream();
          // The push-based ordered consumer: the pull-based one of nats.js 2.29 never
          // delivered against nats-server 2.9.10 here.
          const opts = consumerOpts();
          opts.orderedConsumer();
          opts.deliverAll();
          this.consumerStartedAt = Date.now();
          this.messages = await this.js.subscribe(this.names.partialWildcard, opts);
          for await (const m of this.messages) {
            let p: Partial;
            try {
              p = decodePartial(m.data);
            } catch {
              this.malformed++;
              continue;
            }
            this.received++;
            const now = Date.now();
            if (p.header.node === this.nodeId && p.header.instance === this.instance)
              this.ownSeenAt = now;
            apply(p, now);
          }
        } catch (err) {
          if (!this.closed)
            this.log.debug({ err: (err as Error).message }, 'partials consumer failed');
        }
        if (!this.closed) await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    })();
  }

  /**
   * Restarts the consumer when our own partials stopped coming back although we publish
   * them (the stream was lost with a NATS restart, or the consumer stalled).
   */
  checkConsumer(stalledAfterMs: number): void {
    const now = Date.now();
    if (!this.connected || now - this.consumerStartedAt < stalledAfterMs) return;
    if (now - this.ownSeenAt <= stalledAfterMs) return;
    this.log.warn('no partial came back from the stream: following it again from its start');
    this.consumerStartedAt = now;
    this.streamReady = false;
    this.messages?.unsubscribe();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.messages?.unsubscribe();
    // Bounded: with NATS away neither the release nor the drain would ever answer (the
    // lease then lapses by itself).
    const bounded = (p: Promise<unknown>) =>
      Promise.race([p.catch(() => {}), new Promise((r) => setTimeout(r, CLOSE_WAIT_MS))]);
    await bounded(this.lease.release());
    await bounded(this.nc.drain());
    if (!this.nc.isClosed()) await this.nc.close().catch(() => {});
  }
}
