import uWS from 'uWebSockets.js';
import { fileURLToPath } from 'node:url';
import { Alerting } from './alerts/alerting.js';
import { registerAlertingMetrics } from './alerts/alerting-metrics.js';
import type { RulesFile } from './alerts/rules-file.js';
import { registerRulesRoutes } from './alerts/rules-routes.js';
import { ClusterNode } from './cluster/cluster-node.js';
import { startClusterRole } from './cluster/cluster-role.js';
import type { Options } from './config/option-specs.js';
import { PulseboardError } from './errors.js';
import { ReadPool } from './history/read-pool.js';
import { registerApiRoutes } from './http/api-routes.js';
import { AccessControl } from './http/auth.js';
import { assertPortFree, listenExclusive, sharedPort } from './http/exclusive-listen.js';
import { guardRoutes } from './http/guard-routes.js';
import { registerHistoryRoute } from './http/history-route.js';
import { registerLoadTestRoutes } from './http/load-test-routes.js';
import { registerPrometheusRoute } from './http/prometheus-route.js';
import { guardFraming } from './http/request-framing.js';
import { sendError, track } from './http/respond.js';
import { registerStaticFiles } from './http/static-files.js';
import { registerTransactionsRoute } from './http/transactions-route.js';
import { registerIngestRoute } from './ingest/http/ingest-route.js';
import { IngestQueueBudget, ingestQueueBytes } from './ingest/http/queue-budget.js';
import { IngestService } from './ingest/ingest-service.js';
import { registerStreamMetrics } from './ingest/stream/stream-metrics.js';
import type { Logger } from './log/logger.js';
import { EventLoopMonitor } from './metrics/event-loop-monitor.js';
import { SnapshotService } from './metrics/snapshot-service.js';
import { Persistence } from './persistence/persistence.js';
import { registerReadyzRoute } from './persistence/readyz-route.js';
import { skipAlerts } from './pipeline/live-feed.js';
import { ShardPool } from './pipeline/shard-pool.js';
import { ScenarioRunner } from './scenario/scenario-runner.js';
import { isLoopbackHost } from './security/exposure.js';
import { TokenBuckets } from './security/token-buckets.js';
import { faultSwitchFromEnv } from './shared/fault-switch.js';
import { SourceRegistry } from './shared/source-registry.js';
import { StatsLine } from './stats-line.js';
import { type Supervision, Supervisor } from './supervise/supervisor.js';
import { ThreadHealth } from './supervise/thread-health.js';
import { ConnectionSlots } from './ws/connection-slots.js';
import { FanoutTotals, ThreadCounters } from './ws/fanout-counters.js';
import { createFanoutShared } from './ws/fanout-layout.js';
import { FanoutPool } from './ws/fanout-pool.js';
import { type FrameSink, PartitionedPublisher } from './ws/partitioned-publisher.js';
import { TickPublisher } from './ws/tick-publisher.js';
import { TopicPartitions } from './ws/topic-partitions.js';
import { TopicCatalog } from './ws/topics.js';
import { registerWsEndpointRoute } from './ws/ws-endpoint-route.js';
import { registerWsRoute } from './ws/ws-route.js';

/**
 * The primary thread's orchestrator: starts the shard threads, the uWS app and its routes,
 * the tick that publishes to WebSocket topics, and tears them down in reverse order.
 *
 *   shards (workers/) ──SharedArrayBuffer──► SnapshotService ──► TickPublisher ──► uWS topics
 *                                                    │
 *                                                    └────────► /api/metrics, /metrics
 */

export interface RunningServer {
  readonly port: number;
  readonly url: string;
  /** WS_THREADS > 1: the port of /ws (WS_PORT as chosen); else null (/ws is on `port`). */
  readonly wsPort: number | null;
  readonly pool: ShardPool;
  readonly snapshots: SnapshotService;
  readonly alerting: Alerting;
  close(reason: string): Promise<void>;
}

export interface StartExtras {
  /** RULES_FILE, already read and validated (main.ts stops with exit 2 when it is not). */
  rulesFile?: RulesFile | null;
}

function assertNativeUws(): void {
  // The republished package silently falls back to a `ws`-based shim when the native
  // binary does not load; that shim is orders of magnitude slower. Refuse, loudly.
  if (typeof (uWS as unknown as { getParts?: unknown }).getParts !== 'function') {
    throw new PulseboardError(
      'PB_ERR_UWS_FALLBACK',
      'uWebSockets.js loaded its JavaScript fallback, not the native binary (unset UWS_USE_FALLBACK; ' +
        'check that this Node.js version has a matching uws_*.node build)',
    );
  }
}

export async function startServer(
  options: Options,
  log: Logger,
  extras: StartExtras = {},
): Promise<RunningServer> {
  assertNativeUws();
  const startedAt = Date.now();
  // A second instance on a taken port stops here, before it touches the database.
  await assertPortFree(options.host, options.port);
  // Every worker thread is supervised: restarted on failure, or the process gives up.
  const health = new ThreadHealth();
  const supervisor = new Supervisor(log, health);
  const supervision: Supervision = { supervisor, health, faults: faultSwitchFromEnv(process.env) };
  // Before the shards: the writers must hold their ring slots before the first completion.
  // Source name → window-row slot, shared by every thread: the simulator's SOURCES first,
  // then the names of the last hour's rollups (Persistence.open), then what producers send.
  const sources = SourceRegistry.create(options.sourcesMax, options.sources);
  // Cluster mode (NATS_URL): the node id comes from a lease before any id is minted.
  const cluster = options.natsUrl === '' ? undefined : await ClusterNode.start(options, log);
  const nodeOptions: Options = cluster ? { ...options, nodeId: cluster.nodeId } : options;
  if (cluster)
    log.info(
      { nodeId: cluster.nodeId, nats: options.natsUrl, cluster: options.clusterName },
      `cluster node ${cluster.nodeId} of "${options.clusterName}" on ${options.natsUrl}`,
    );
  const persistence = await Persistence.open(nodeOptions, log, sources, supervision);
  const pool = new ShardPool(nodeOptions, supervision);
  await pool.start(persistence.beforeShard);
  persistence.start();
  // Durable ingest needs the database: without it POST /api/transactions answers 503.
  const ingest = persistence.on
    ? await IngestService.start(
        nodeOptions,
        persistence.db!,
        pool.shards.length,
        sources,
        log,
        supervision,
      )
    : undefined;
  if (ingest) {
    pool.adopt(ingest.shard);
    persistence.attachIngest(() => ingest.commitStatus());
  } else if (options.ingestStream !== '') {
    log.error(
      { code: 'PB_ERR_INGEST_OFF' },
      'INGEST_STREAM is set but persistence is off: the JetStream door needs the database to acknowledge messages, so it is not started',
    );
  }

  // Conflicting length headers close the connection before any route runs (request
  // smuggling, src/http/request-framing.ts); logged at most every 10 s, with the count.
  let framingRefused = 0;
  let framingLoggedAt = 0;
  const app = guardFraming(uWS.App(), () => {
    framingRefused++;
    if (Date.now() - framingLoggedAt < 10_000) return;
    framingLoggedAt = Date.now();
    log.warn(
      { total: framingRefused },
      'closed a connection whose request had conflicting Content-Length / Transfer-Encoding headers',
    );
  });
  const catalog = new TopicCatalog(sources);
  const loop = new EventLoopMonitor();
  let publisher: TickPublisher | undefined;
  // Host, Origin, content type, tokens, rate and connection limits (src/http/guard-routes.ts).
  // Routes registered on `guarded` are checked before their handler runs; /healthz and
  // /readyz stay open.
  const access = new AccessControl(options, { holder: options.wsThreads });
  const guarded = guardRoutes(
    app,
    access,
    // The primary's alone (ingest is HTTP only): an unshared table.
    new TokenBuckets(options.ingestRateLimit, options.ingestRateBurst, options.wsThreads),
    options.ingestRateLoopback || options.loopbackLimits,
    isLoopbackHost(options.host),
  );
  // /ws: on this thread (WS_THREADS=1) or on the fan-out threads; either way every thread
  // serving it counts in one shared block (src/ws/fanout-layout.ts), sized once for every
  // topic there can be: a column per registry slot, taken or not (topics.ts).
  const fanoutShared = createFanoutShared({
    threads: options.wsThreads,
    topics: catalog.columns,
    maxConnections: options.wsMaxConnections,
  });
  const wsStats = new FanoutTotals(fanoutShared);
  const primarySlots = new ConnectionSlots(
    fanoutShared,
    0,
    options.wsMaxConnections,
    options.wsMaxConnectionsPerAddress,
    options.loopbackLimits,
  );
  let sink: FrameSink;
  let fanout: FanoutPool | undefined;
  if (options.wsThreads === 1) {
    const partitions = new TopicPartitions(options.wsPublishPartitions);
    const shared = { slots: primarySlots, counters: new ThreadCounters(fanoutShared, 0) };
    registerWsRoute(app, catalog, options, log, partitions, shared, access);
    sink = new PartitionedPublisher(app, partitions, options.wsPublishSocketsPerTurn);
  } else {
    const wsPort = await sharedPort(options.host, options.wsPort);
    fanout = new FanoutPool(
      options,
      fanoutShared,
      wsStats,
      primarySlots,
      access.throttle,
      sources,
      wsPort,
      supervision,
    );
    sink = fanout;
    app.ws('/ws', {
      upgrade: (res) => {
        sendError(
          track(res),
          new PulseboardError(
            'PB_ERR_WS_OTHER_PORT',
            `WebSocket connections go to port ${wsPort} (WS_THREADS=${options.wsThreads}); GET /api/ws-endpoint says where`,
          ),
        );
      },
    });
  }
  // The tick asks for known topics (fixed, tracked sources, `other`): each has a column.
  const subscribers = (topic: string) => {
    const column = catalog.column(topic);
    return column === -1 ? 0 : wsStats.subscribers(column);
  };
  const snapshots = new SnapshotService(pool, sources, {
    clients: () => wsStats.open,
    persistence: () => persistence.figures(),
    eventLoopDelayP99Ms: () => loop.p99Ms,
    publishCostMs: () => Math.round((publisher?.publishCostMs ?? 0) * 1000) / 1000,
    security: () => wsStats.security(access.counters),
    feedOmitted: () => publisher?.feedOmitted() ?? 0,
    stream: () => ingest?.streamFigures() ?? null,
  });
  // Alert rules: evaluated every tick right after the snapshot (src/alerts/alerting.ts).
  const alerting = new Alerting(snapshots, options, persistence.on ? persistence.db! : null, log);
  await alerting.load(extras.rulesFile ?? null);
  publisher = new TickPublisher(sink, subscribers, pool, snapshots, options, alerting);
  const runner = new ScenarioRunner(pool, options, log);

  async function reset(): Promise<void> {
    await snapshots.reset(); // asks the threads, waits for all, clears the windows
    skipAlerts(pool.shards);
    publisher!.resetDeltas();
    log.info('pipeline reset: windows, counters and feed cleared');
  }

  // Cluster mode: the snapshot, the rate share and the scenario commands are the cluster's.
  const role = cluster
    ? await startClusterRole(cluster, {
        options,
        log,
        pool,
        snapshots,
        sources,
        runner,
        publisher,
        resetLocal: reset,
      })
    : undefined;

  registerApiRoutes(guarded, snapshots, startedAt);
  registerWsEndpointRoute(guarded, options, fanout?.port ?? null);
  // Reads (history, transaction pages) run on piscina threads, off this loop.
  const reads = new ReadPool(
    {
      threads: options.readThreads,
      dbConnections: options.readDbConnections,
      queueMax: options.readQueueMax,
      timeoutMs: options.readTimeoutMs,
    },
    log,
    supervision,
  );
  const readDb = persistence.on ? persistence.db! : null;
  registerHistoryRoute(guarded, snapshots, {
    pool: reads,
    db: readDb,
    sources,
    maxRangeS: options.historyMaxRangeH * 3600,
  });
  registerTransactionsRoute(guarded, { pool: reads, db: readDb, pageMax: options.txPageMax });
  registerLoadTestRoutes(guarded, role?.scenarios ?? runner, options.sources, role?.reset ?? reset);
  const ingestBudget = new IngestQueueBudget(ingestQueueBytes(options));
  registerRulesRoutes(guarded, alerting, sources);
  const registry = registerPrometheusRoute(guarded, snapshots, wsStats, health, {
    ingestBackpressure: () => ingestBudget.backpressureAnswers,
    ingestQueuedBytes: () => ingestBudget.usedBytes,
    readsRefused: () => reads.gateStats().refused,
    framingRefused: () => framingRefused,
  });
  registerAlertingMetrics(registry, alerting);
  if (ingest?.streamFigures()) registerStreamMetrics(registry, () => ingest.streamFigures());
  // Alertmanager trouble shows in the detail; it does not make this node unready for traffic.
  registerReadyzRoute(
    app,
    () => health.notReady() ?? persistence.notReadyReason() ?? ingest?.streamNotReady() ?? null,
    () => ({
      alertmanager: alerting.alertmanager
        ? { ...alerting.alertmanager.status, problem: alerting.alertmanagerProblem() }
        : 'off',
    }),
  );
  registerIngestRoute(guarded, () => ingest, {
    bodyLimit: options.ingestBodyLimit,
    budget: ingestBudget,
  });
  // The built dashboard (dist/web), after every API route.
  // On `guarded` too: a page on a rebound domain (a foreign Host) gets no dashboard either.
  const web = registerStaticFiles(guarded, fileURLToPath(new URL('../web', import.meta.url)));
  if (!web.built) log.warn('dashboard not built (dist/web missing): run `npm run build`');
  // The method and path are the client's text: never echoed in the answer.
  guarded.any('/*', (res) => {
    sendError(
      track(res),
      new PulseboardError('PB_ERR_HTTP_NOT_FOUND', 'no route for this method and path'),
    );
  });

  let listenSocket: uWS.us_listen_socket | undefined;
  let port: number;
  try {
    ({ socket: listenSocket, port } = await listenExclusive(app, options.host, options.port));
    await fanout?.start(port);
  } catch (err) {
    // Started threads would keep the process alive: stop them (nothing is acknowledged yet).
    if (listenSocket !== undefined) uWS.us_listen_socket_close(listenSocket);
    (app as unknown as { close(): void }).close();
    await pool.stop();
    await persistence.close(1000);
    await reads.close();
    throw err;
  }
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${hostForUrl === '0.0.0.0' ? '127.0.0.1' : hostForUrl}:${port}/`;

  alerting.setBaseUrl(url.replace(/\/$/, ''));
  publisher.start();
  const stats = new StatsLine(log, options, snapshots, publisher, loop);
  stats.start();

  // A thread that keeps failing: shut down what still works (draining the rings), then exit
  // non-zero so that the service manager restarts the process.
  supervisor.onGiveUp = (thread) => {
    void close(`${thread.name} thread keeps failing`).finally(() => process.exit(1));
  };
  supervisor.start();
  if (cluster)
    cluster.onLeaseLost = () => void close('node id lost').finally(() => process.exit(1));

  let closing: Promise<void> | undefined;
  function close(reason: string): Promise<void> {
    closing ??= (async () => {
      log.info({ reason }, 'shutting down');
      uWS.us_listen_socket_close(listenSocket!);
      runner.close();
      stats.stop();
      publisher!.stop();
      // Fan-out threads close their Apps (and clients) before they end: never terminated live.
      if (sink instanceof PartitionedPublisher) sink.stop();
      await fanout?.stop();
      await alerting.close(2000);
      await pool.stop();
      await role?.close();
      log.info({ completed: snapshots.refresh().pipeline.completed }, 'shards stopped');
      // Producers stopped: commit what they already handed to the rings, bounded.
      await persistence.close(Math.max(500, options.shutdownTimeoutMs - 3000));
      // close() exists in v20.30 but is missing from its typings: closes every connection.
      (app as unknown as { close(): void }).close();
      loop.close();
      await reads.close();
      log.info('stopped');
    })();
    return closing;
  }

  return { port, url, wsPort: fanout?.port ?? null, pool, snapshots, alerting, close };
}
