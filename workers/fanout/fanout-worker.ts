import uWS from 'uWebSockets.js';
import { parentPort, workerData } from 'node:worker_threads';
import { PulseboardError } from '../../src/errors.js';
import { AccessControl } from '../../src/http/auth.js';
import { guardFraming } from '../../src/http/request-framing.js';
import { sendError, track } from '../../src/http/respond.js';
import { createLogger } from '../../src/log/logger.js';
import { FaultTrigger } from '../../src/shared/fault-switch.js';
import { SourceRegistry } from '../../src/shared/source-registry.js';
import { ConnectionSlots } from '../../src/ws/connection-slots.js';
import { ThreadCounters } from '../../src/ws/fanout-counters.js';
import { openFanoutShared } from '../../src/ws/fanout-layout.js';
import type { FanoutInit, FromFanout, ToFanout } from '../../src/ws/fanout-protocol.js';
import { PartitionedPublisher } from '../../src/ws/partitioned-publisher.js';
import { TopicPartitions } from '../../src/ws/topic-partitions.js';
import { TopicCatalog } from '../../src/ws/topics.js';
import { registerWsRoute } from '../../src/ws/ws-route.js';

/**
 * A fan-out thread (WS_THREADS > 1): its own uWS App on WS_PORT, which every fan-out
 * thread listens on (uSockets sets SO_REUSEPORT; the kernel spreads new connections over
 * the threads). It runs the same /ws route as the primary does with one thread, counting
 * in the shared memory every /ws thread counts in, and publishes each tick's frames, as
 * the primary serialised them, to its own clients one partition per turn.
 *
 * The App must be closed before the thread ends: a thread torn down with a live App
 * aborts the whole process (exit 134). So every way out (stop, an uncaught error) closes
 * it first, and the thread then ends by itself (nothing else keeps its loop alive).
 */

const init = workerData as FanoutInit;
const port = parentPort!;
const post = (m: FromFanout) => port.postMessage(m);
const { options } = init;
const log = createLogger({ ...options, logPretty: 'false' }).child({
  thread: `fanout ${init.thread}`,
});

const shared = openFanoutShared(init.layout, init.sharedSab);
const counters = new ThreadCounters(shared, init.thread);
const slots = new ConnectionSlots(
  shared,
  init.thread,
  options.wsMaxConnections,
  options.wsMaxConnectionsPerAddress,
  options.loopbackLimits,
);
const access = new AccessControl(
  options,
  { holder: init.thread, sab: init.authSab },
  counters.security,
);
const partitions = new TopicPartitions(options.wsPublishPartitions);
const app = guardFraming(uWS.App(), () => {});
registerWsRoute(
  app,
  new TopicCatalog(new SourceRegistry(init.sourcesSab)),
  options,
  log,
  partitions,
  {
    slots,
    counters,
    pagePort: init.pagePort,
  },
  access,
);
// Plain HTTP on WS_PORT: the API and the dashboard are on PORT.
app.any('/*', (res) => {
  sendError(
    track(res),
    new PulseboardError('PB_ERR_HTTP_NOT_FOUND', 'this port serves /ws only (WS_PORT)'),
  );
});
const publisher = new PartitionedPublisher(app, partitions, options.wsPublishSocketsPerTurn);
const fault = new FaultTrigger(init.fault);

let listenSocket: uWS.us_listen_socket | undefined;
let closed = false;

/** Closes the listen socket and every connection (their close handlers give slots back). */
function closeApp(): void {
  if (closed) return;
  closed = true;
  publisher.stop();
  if (listenSocket) uWS.us_listen_socket_close(listenSocket);
  // close() exists in v20.30 but is missing from its typings.
  (app as unknown as { close(): void }).close();
}

process.on('uncaughtException', (err) => {
  closeApp();
  post({ type: 'error', code: 'PB_ERR_WORKER_FAILED', message: err.stack ?? err.message });
  // Ends this thread only; the primary's supervisor restarts it.
  process.exit(1);
});

port.on('message', (m: ToFanout) => {
  if (m.type === 'frames') {
    if (closed) return;
    // Test fault: counts ticks published to someone, so the thread that throws had clients.
    if (counters.get('open') > 0) fault.count(1);
    publisher.publish(m.frames);
  } else if (m.type === 'stop') {
    closeApp();
    post({ type: 'stopped' });
    port.close(); // nothing keeps the loop alive now: the thread ends
  }
});

// Not exclusive: every fan-out thread listens on the same port.
(
  app as unknown as {
    listen(h: string, p: number, o: number, cb: (s: uWS.us_listen_socket | false) => void): void;
  }
).listen(options.host, init.port, 0, (socket) => {
  if (!socket) {
    closeApp();
    post({
      type: 'error',
      code: 'PB_ERR_LISTEN_FAILED',
      message: `fan-out thread ${init.thread} cannot listen on ${options.host}:${init.port}`,
    });
    return;
  }
  listenSocket = socket;
  post({ type: 'ready' });
});
