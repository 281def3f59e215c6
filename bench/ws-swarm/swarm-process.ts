import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { FrameReader } from './frame-reader.js';

/**
 * One process of the swarm: opens `connections` WebSocket clients over plain `net`
 * sockets (ramped), counts messages, sequence gaps and delivery latency (server `ts` →
 * receive time), and reports to the parent every second and at the end.
 * Latency is kept as a count per 0.1 ms up to 60 s: exact percentiles, no per-message
 * allocation.
 */

export interface SwarmProcessConfig {
  /** 'ws': plain WebSocket (Pulseboard, ws); 'socketio': Engine.IO v4 over WebSocket. */
  protocol: 'ws' | 'socketio';
  host: string;
  port: number;
  path: string;
  connections: number;
  rampPerSecond: number;
  seconds: number;
}

export interface SwarmReport {
  type: 'report';
  final: boolean;
  /** An answer to the parent's `flush`: the counts up to now, so a span starts and ends exactly. */
  flush?: boolean;
  open: number;
  failed: number;
  closed: number;
  messages: number;
  bytes: number;
  gaps: number;
  /** latency histogram: index = 0.1 ms steps */
  latency: number[];
  /** Why clients failed to connect, by error code. */
  failures: Record<string, number>;
}

const LAT_SLOTS = 600_000;
const config = JSON.parse(process.env.SWARM_CONFIG!) as SwarmProcessConfig;
const latency = new Uint32Array(LAT_SLOTS);
const stats = { open: 0, failed: 0, closed: 0, messages: 0, bytes: 0, gaps: 0 };
const sockets: Socket[] = [];
const failures = new Map<string, number>();
let stopping = false;

const MAX_ATTEMPTS = 5;

/**
 * A masked client→server frame (RFC 6455 requires clients to mask): text (0x1) by
 * default, or a pong (0xA) echoing a ping's payload. Control payloads are < 126 bytes.
 */
function clientFrame(text: string | Buffer, opcode = 0x1): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const head = Buffer.from([0x80 | opcode, 0x80 | payload.length]); // short frames only (< 126 bytes)
  for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
  return Buffer.concat([head, mask, payload]);
}

function open(attempt = 1): void {
  const lastSeq = new Map<string, number>();
  let upgraded = false;
  const socket = connect({ host: config.host, port: config.port });
  socket.setNoDelay(true);
  const reader = new FrameReader({
    message(topic, seq, ts, bytes) {
      const now = Date.now();
      stats.messages++;
      stats.bytes += bytes;
      const prev = lastSeq.get(topic);
      if (prev !== undefined && seq !== prev + 1) stats.gaps += Math.max(1, seq - prev - 1);
      lastSeq.set(topic, seq);
      const slot = Math.min(LAT_SLOTS - 1, Math.max(0, Math.round((now - ts) * 10)));
      latency[slot]!++;
    },
    close() {
      socket.end();
    },
    // A server that pings (uWS sendPingsAutomatically) closes a client that never answers
    // once its idle timeout passes (Pulseboard: WS_IDLE_TIMEOUT_S, 30 s); a real browser
    // answers, and so does the swarm, so runs longer than that measure live clients.
    ping(payload) {
      socket.write(clientFrame(payload, 0xa));
    },
    control(text) {
      if (config.protocol !== 'socketio') return;
      if (text.startsWith('0'))
        socket.write(clientFrame('40')); // open → join namespace "/"
      else if (text === '2') socket.write(clientFrame('3')); // ping → pong
    },
  });
  socket.on('connect', () => {
    const key = randomBytes(16).toString('base64'); // the RFC's 16 random bytes: uWS checks the length
    socket.write(
      `GET ${config.path} HTTP/1.1\r\nHost: ${config.host}:${config.port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    if (upgraded) {
      reader.push(chunk);
      return;
    }
    pending = Buffer.concat([pending, chunk]);
    const end = pending.indexOf('\r\n\r\n');
    if (end === -1) return;
    if (!pending.subarray(0, 12).toString().includes('101')) {
      stats.failed++;
      failures.set('http-' + pending.subarray(9, 12).toString(), 1 + (failures.get('http') ?? 0));
      socket.destroy();
      return;
    }
    upgraded = true;
    stats.open++;
    if (pending.length > end + 4) reader.push(pending.subarray(end + 4));
  });
  let errorCode = '';
  socket.on('error', (err: NodeJS.ErrnoException) => {
    errorCode = err.code ?? 'error';
  });
  socket.on('close', () => {
    if (upgraded) {
      stats.open--;
      if (!stopping) stats.closed++;
    } else if (!stopping && errorCode !== '') {
      // A refused or reset connect during a fast ramp (listen backlog full): retry with
      // backoff; only a client that never gets in counts as failed.
      if (attempt < MAX_ATTEMPTS) setTimeout(() => open(attempt + 1), 100 * 2 ** attempt);
      else {
        stats.failed++;
        failures.set(errorCode, (failures.get(errorCode) ?? 0) + 1);
      }
    }
  });
  sockets.push(socket);
}

function report(final: boolean, flush = false): void {
  const lat: number[] = [];
  // Send only the non-empty tail-trimmed part to keep IPC small.
  let last = 0;
  for (let i = 0; i < LAT_SLOTS; i++) if (latency[i]! > 0) last = i;
  for (let i = 0; i <= last; i++) lat.push(latency[i]!);
  const r: SwarmReport = {
    type: 'report',
    final,
    flush,
    ...stats,
    latency: lat,
    failures: Object.fromEntries(failures),
  };
  process.send!(r);
  if (!final) {
    latency.fill(0);
    stats.messages = 0;
    stats.bytes = 0;
    stats.gaps = 0;
  }
}

let opened = 0;
const perTick = Math.max(1, Math.ceil(config.rampPerSecond / 20));
const ramp = setInterval(() => {
  for (let i = 0; i < perTick && opened < config.connections; i++, opened++) open();
  if (opened >= config.connections) clearInterval(ramp);
}, 50);
const reporter = setInterval(() => report(false), 1000);
process.on('message', (m: { type: string }) => {
  if (m.type === 'flush') {
    report(false, true);
    return;
  }
  if (m.type !== 'stop') return;
  stopping = true;
  clearInterval(ramp);
  clearInterval(reporter);
  report(true);
  for (const s of sockets) s.destroy();
  setTimeout(() => process.exit(0), 100);
});
