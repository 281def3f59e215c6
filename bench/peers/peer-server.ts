import uWS from 'uWebSockets.js';
import { createServer } from 'node:http';
import Fastify from 'fastify';
import { Server as SocketIoServer } from 'socket.io';
import { WebSocketServer } from 'ws';

/**
 * The peers we compare against, each serving the same workload as Pulseboard:
 *   uws       — a bare uWebSockets.js publisher: every socket subscribes to one topic and
 *               each tick is one `app.publish` of the frame. No pipeline, no snapshot, no
 *               partitions: the floor Pulseboard's fan-out is measured against;
 *   ws        — `ws` server broadcasting one frame per tick to every client (the usual
 *               loop over clients, with the frame serialised once);
 *   socketio  — Socket.IO (websocket transport) `io.emit` per tick;
 *   fastify   — Fastify serving the same metrics snapshot JSON on GET /api/metrics.
 * The frame is the envelope Pulseboard sends (`{"topic","seq","ts","data"}`), with `data`
 * a real snapshot captured from Pulseboard (PEER_PAYLOAD), so bytes on the wire match.
 * PEER_MAX_BACKPRESSURE (bytes) is given to the uws peer as Pulseboard gets it.
 *
 *   node dist/bench/peers/peer-server.js uws|ws|socketio|fastify <port> <tickMs>
 * Prints `listening <port>` when ready. Loopback only.
 */

const [kind, portArg, tickArg] = process.argv.slice(2);
const port = Number(portArg ?? 0);
const tickMs = Number(tickArg ?? 500);
const payload = process.env.PEER_PAYLOAD ?? '{}';
let seq = 0;
const frame = () => `{"topic":"metrics","seq":${++seq},"ts":${Date.now()},"data":${payload}}`;

function ready(p: number): void {
  process.stdout.write(`listening ${p}\n`);
}

if (kind === 'uws') {
  const app = uWS.App();
  app.ws('/ws', {
    compression: uWS.DISABLED,
    maxPayloadLength: 64 * 1024,
    idleTimeout: 120,
    maxBackpressure: Number(process.env.PEER_MAX_BACKPRESSURE ?? 16 * 1024 * 1024),
    closeOnBackpressureLimit: 0,
    open: (ws) => {
      ws.subscribe('metrics');
    },
  });
  setInterval(() => app.publish('metrics', frame(), false), tickMs);
  app.listen('127.0.0.1', port, (socket) => {
    if (!socket) {
      process.stderr.write(`uws peer: cannot listen on ${port}\n`);
      process.exit(1);
    }
    ready(uWS.us_socket_local_port(socket as unknown as uWS.us_socket));
  });
} else if (kind === 'ws') {
  const server = createServer();
  const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false });
  setInterval(() => {
    const f = frame();
    for (const client of wss.clients) if (client.readyState === 1) client.send(f);
  }, tickMs);
  server.listen(port, '127.0.0.1', () => ready((server.address() as { port: number }).port));
} else if (kind === 'socketio') {
  const server = createServer();
  const io = new SocketIoServer(server, {
    transports: ['websocket'],
    perMessageDeflate: false,
    serveClient: false,
  });
  // An object, so the wire carries the same envelope JSON (inside 42["m", …]); Socket.IO
  // serialises a broadcast once for all clients, as the others do.
  const data = JSON.parse(payload) as unknown;
  setInterval(() => io.emit('m', { topic: 'metrics', seq: ++seq, ts: Date.now(), data }), tickMs);
  server.listen(port, '127.0.0.1', () => ready((server.address() as { port: number }).port));
} else if (kind === 'fastify') {
  const app = Fastify({ logger: false });
  app.get('/api/metrics', async (_req, reply) => {
    reply
      .header('content-type', 'application/json; charset=utf-8')
      .header('cache-control', 'no-store');
    return payload;
  });
  app
    .listen({ port, host: '127.0.0.1' })
    .then(() => ready((app.server.address() as { port: number }).port));
} else {
  process.stderr.write('usage: peer-server.js uws|ws|socketio|fastify <port> <tickMs>\n');
  process.exit(2);
}
