import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { FrameReader } from '../ws-swarm/frame-reader.js';

/**
 * Dashboards that reconnect on their own: N logical WebSocket clients over raw `net` (the
 * swarm's FrameReader parses the envelopes). A logical client keeps its last `seq` per
 * topic across reconnects, so messages missed while it was away count as gaps: delivery
 * rate = received / (received + gaps). Reconnects back off 100 ms × 2^k (at most 2 s), with
 * jitter, as a browser dashboard does.
 */

export interface ReconnectingResult {
  clients: number;
  /** Clients connected when the run ended. */
  connectedAtEnd: number;
  messages: number;
  gaps: number;
  /** received / (received + gaps), 0..1 */
  deliveryRate: number;
  reconnects: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
}

const SLOTS = 60_000; // 1 ms slots up to 60 s
const DRAIN_MS = 300;

/** A client→server frame (RFC 6455 §5.3: clients mask), payload < 126 bytes. */
function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const out = Buffer.from(payload);
  for (let i = 0; i < out.length; i++) out[i]! ^= mask[i & 3]!;
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | out.length]), mask, out]);
}

export function percentileOf(hist: Uint32Array, total: number, q: number): number {
  if (total === 0) return 0;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]!;
    if (seen >= rank) return i;
  }
  return hist.length - 1;
}

export async function runReconnectingClients(o: {
  port: number;
  path: string;
  clients: number;
  seconds: number;
  /** Called when the time is up, before the grace period (the proxy stops resetting). */
  onTimeUp?: () => void;
}): Promise<ReconnectingResult> {
  const hist = new Uint32Array(SLOTS);
  let messages = 0;
  let gaps = 0;
  let reconnects = 0;
  let maxLatency = 0;
  let stopping = false;
  let draining = false;
  const live = new Set<Socket>();
  let connected = 0;

  function client(): void {
    const lastSeq = new Map<string, number>();
    let failures = 0;
    const open = () => {
      if (stopping) return;
      const s = connect({ host: '127.0.0.1', port: o.port });
      s.setNoDelay(true);
      live.add(s);
      let upgraded = false;
      let head = Buffer.alloc(0);
      const reader = new FrameReader({
        message(topic, seq, ts) {
          const prev = lastSeq.get(topic);
          if (prev !== undefined && seq > prev + 1) gaps += seq - prev - 1;
          if (prev === undefined || seq > prev) lastSeq.set(topic, seq);
          messages++;
          const ms = Math.max(0, Date.now() - ts);
          maxLatency = Math.max(maxLatency, ms);
          hist[Math.min(SLOTS - 1, Math.round(ms))]!++;
        },
        close() {
          s.end();
        },
        // uWS closes sockets that send nothing for WS_IDLE_TIMEOUT_S; its pings want a pong.
        ping(payload) {
          s.write(maskedFrame(0xa, payload));
        },
      });
      s.on('connect', () =>
        s.write(
          `GET ${o.path} HTTP/1.1\r\nHost: 127.0.0.1:${o.port}\r\nUpgrade: websocket\r\n` +
            `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
            'Sec-WebSocket-Version: 13\r\n\r\n',
        ),
      );
      s.on('data', (chunk: Buffer) => {
        if (upgraded) {
          reader.push(chunk);
          return;
        }
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        if (!head.subarray(0, 12).toString().includes('101')) {
          s.destroy();
          return;
        }
        upgraded = true;
        connected++;
        failures = 0;
        if (head.length > end + 4) reader.push(head.subarray(end + 4));
      });
      s.on('error', () => {});
      s.on('close', () => {
        live.delete(s);
        if (upgraded) connected--;
        if (stopping) return;
        reconnects++;
        if (draining) return;
        const backoff = Math.min(2000, 100 * 2 ** failures++) * (0.5 + Math.random());
        setTimeout(open, backoff);
      });
    };
    open();
  }

  for (let i = 0; i < o.clients; i++) client();
  await new Promise((r) => setTimeout(r, o.seconds * 1000));
  const connectedAtEnd = connected;
  // A reset made just before the time was up may not have reached its client yet: stop
  // the resets, then keep counting closes (without reopening) for a grace period, so that
  // every reset the proxy counted is also counted here.
  o.onTimeUp?.();
  draining = true;
  await new Promise((r) => setTimeout(r, DRAIN_MS));
  stopping = true;
  for (const s of live) s.destroy();
  const total = messages;
  return {
    clients: o.clients,
    connectedAtEnd,
    messages,
    gaps,
    deliveryRate:
      messages + gaps === 0 ? 0 : Math.round((messages / (messages + gaps)) * 10000) / 10000,
    reconnects,
    latencyMs: {
      p50: percentileOf(hist, total, 0.5),
      p95: percentileOf(hist, total, 0.95),
      p99: percentileOf(hist, total, 0.99),
      max: maxLatency,
    },
  };
}
