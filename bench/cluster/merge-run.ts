import { connect } from 'nats';
import WebSocket from 'ws';
import { decodePartial } from '../../src/cluster/partial-codec.js';
import { progress, sleep } from '../lib/results.js';
import { round } from '../lib/stats.js';
import { machineBusyCores as busyCores, sampleMachine } from '../ws-swarm/proc-stats.js';
import { NATS_URL, nodeArgs, startCluster } from './nodes.js';
import { AnatomyCounter } from './partial-anatomy.js';

/**
 * One rate of the merge part of `bench:cluster`: three nodes, persistence off, the cluster
 * asked for `tps` in total (each node runs a third):
 *
 * - merge latency: from the moment the last node publishes a second as closed (its partial
 *   with closedThrough ≥ s, seen by a core NATS subscriber here) to the `metrics` frame that
 *   announces s in `seconds` arriving at a WebSocket client of each node (bar: p99 < one
 *   tick + 50 ms);
 * - bytes per tick each node sends on NATS: its partial (and what it is made of,
 *   partial-anatomy.ts), and its feed message;
 * - the rate the cluster delivers: the transactions of the seconds node 0's client saw
 *   announced as closed during the span, per second (the issue: within ±2 % of the rate
 *   asked), and the mean of the `tps` field of its frames.
 */

export const TICK_MS = 500;
const WARMUP_MS = 6000;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

interface MetricsFrame {
  data: { scope?: string; tps: number; seconds: { t: number; count: number }[] };
}

export async function runMergeRate(tps: number, seconds: number) {
  const cluster = await startCluster(3, nodeArgs(tps, 'off'));
  const { name, nodes } = cluster;
  const nc = await connect({ servers: NATS_URL });
  try {
    /** second → epoch ms when the last node published it as closed, per node. */
    const closedAt = new Map<number, Map<number, number>>();
    const anatomy = new AnatomyCounter();
    const partialBytes: number[] = [];
    const feedBytes: number[] = [];
    const feedItems: number[] = [];
    const feedAlerts: number[] = [];
    /** Bytes of each feed message's alerts (its JSON array); the rest is the sample. */
    const feedAlertBytes: number[] = [];
    const subs = [
      nc.subscribe(`${name}.partial.*`, {
        callback: (_e, m) => {
          const now = Date.now();
          partialBytes.push(m.data.length);
          anatomy.add(m.data);
          const h = decodePartial(m.data).header;
          for (let s = h.closedThrough - 5; s <= h.closedThrough; s++) {
            const per = closedAt.get(s) ?? new Map<number, number>();
            if (!per.has(h.node)) per.set(h.node, now);
            closedAt.set(s, per);
          }
        },
      }),
      nc.subscribe(`${name}.feed.*`, {
        callback: (_e, m) => {
          feedBytes.push(m.data.length);
          const f = JSON.parse(new TextDecoder().decode(m.data)) as { items: []; alerts: [] };
          feedItems.push(f.items.length);
          feedAlerts.push(f.alerts.length);
          feedAlertBytes.push(Buffer.byteLength(JSON.stringify(f.alerts)));
        },
      }),
    ];
    const latencies: number[] = [];
    /** Node 0's client: counts of the seconds announced, and the `tps` field of each frame. */
    const announced = new Map<number, number>();
    const tpsField: number[] = [];
    const sockets = nodes.map((n, i) => {
      const ws = new WebSocket(`${n.wsUrl}?topics=metrics`);
      ws.on('message', (raw) => {
        const now = Date.now();
        const f = JSON.parse(raw.toString()) as MetricsFrame;
        if (f.data.scope !== 'cluster') return;
        if (i === 0) tpsField.push(f.data.tps);
        for (const p of f.data.seconds) {
          if (i === 0) announced.set(p.t / 1000, p.count);
          const per = closedAt.get(p.t / 1000);
          if (!per || per.size < nodes.length) continue;
          latencies.push(now - Math.max(...per.values()));
        }
      });
      return ws;
    });
    progress(`cluster bench: ${tps} tx/s over 3 nodes, warming up`);
    await sleep(WARMUP_MS);
    latencies.length = 0;
    partialBytes.length = 0;
    feedBytes.length = 0;
    feedItems.length = 0;
    feedAlerts.length = 0;
    tpsField.length = 0;
    anatomy.reset();
    const firstSecond = Math.ceil(Date.now() / 1000);
    const machine0 = sampleMachine();
    progress(`cluster bench: measuring ${seconds} s`);
    await sleep(seconds * 1000);
    const machineBusyCores = round(busyCores(machine0, sampleMachine()), 3);
    const lastSecond = Math.floor(Date.now() / 1000) - 3;
    for (const ws of sockets) ws.close();
    for (const s of subs) s.unsubscribe();
    let total = 0;
    let counted = 0;
    for (let s = firstSecond; s <= lastSecond; s++) {
      if (!announced.has(s)) continue;
      total += announced.get(s)!;
      counted++;
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const deliveredTps = round(total / Math.max(1, counted), 0);
    return {
      clusterTps: tps,
      deliveredTps: {
        perSecond: deliveredTps,
        seconds: counted,
        offPercent: round(((deliveredTps - tps) / tps) * 100, 1),
      },
      observedTps: round(mean(tpsField), 0),
      /** The `tps` field of node 0's frames over the span: its range, and how many were within ±2 %. */
      tpsField: {
        min: Math.min(...tpsField),
        max: Math.max(...tpsField),
        within2Percent: round(
          tpsField.filter((v) => Math.abs(v - tps) <= 0.02 * tps).length / tpsField.length,
          3,
        ),
      },
      mergeLatencyMs: {
        samples: latencies.length,
        p50: quantile(latencies, 0.5),
        p99: quantile(latencies, 0.99),
        max: quantile(latencies, 1),
        bar: TICK_MS + 50,
      },
      partialBytesPerTick: { mean: round(mean(partialBytes), 0), max: Math.max(...partialBytes) },
      partialAnatomy: anatomy.summary(),
      feedBytesPerTick: { mean: round(mean(feedBytes), 0), max: Math.max(...feedBytes) },
      /**
       * The feed message split: the transaction sample (FEED_PER_TICK at most, uniform) and
       * the alerts (every flagged transaction, ALERTS_PER_TICK at most).
       */
      feedSampleBytesPerTick: {
        mean: round(mean(feedBytes.map((b, i) => b - feedAlertBytes[i]!)), 0),
      },
      feedAlertBytesPerTick: { mean: round(mean(feedAlertBytes), 0) },
      /** Means per feed message: transactions and alerts in it, and bytes per item. */
      feedAnatomy: {
        items: round(mean(feedItems), 1),
        alerts: round(mean(feedAlerts), 1),
        bytesPerItem: round(
          feedBytes.reduce((a, b) => a + b, 0) /
            Math.max(
              1,
              [...feedItems, ...feedAlerts].reduce((a, b) => a + b, 0),
            ),
          0,
        ),
      },
      /** Busy cores of the whole machine over the span (every process on it). */
      machineBusyCores,
    };
  } finally {
    await nc.close();
    await cluster.stopAll();
  }
}
