import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { parseStreamUrl } from '../ingest/stream/stream-url.js';
import { DEFAULT_SOURCES, MAX_SOURCES } from '../shared/catalog.js';
import { OVERFLOW_SOURCE, SOURCE_NAME } from '../shared/source-name.js';
import { MAX_SIMULATOR_SHARDS } from '../shared/tx-id.js';
import { ROW_BYTES, SOURCE_FIELDS, SOURCES_LIMIT } from '../shared/window-row.js';
import { MAX_FANOUT_THREADS } from '../ws/fanout-layout.js';

/**
 * Every option Pulseboard takes, in one table: its environment variable (the CLI flag is
 * the same name in kebab case, SIM_TPS → --sim-tps), its default, what it means, and the
 * zod schema that parses the raw string and states the accepted range. README's option
 * table and `--help` are generated from here, so they cannot drift.
 */

const int = (min: number, max: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(min, { error: `must be between ${min} and ${max}` })
    .max(max, { error: `must be between ${min} and ${max}` });

const ratio = z.coerce
  .number({ error: 'must be a number' })
  .min(0, { error: 'must be between 0 and 1' })
  .max(1, { error: 'must be between 0 and 1' });

const bool = z
  .enum(['true', 'false'], { error: 'must be true or false' })
  .transform((v) => v === 'true');

/**
 * Tokens: 32 characters at least, so a random token holds 128 bits or more (32 hex digits
 * from `openssl rand -hex 16`), far out of reach of online guessing even unthrottled; visible
 * ASCII without spaces, so `Authorization: Bearer <token>` can carry it. Empty = not set.
 */
export const MIN_TOKEN_LENGTH = 32;
const token = z
  .string()
  .refine((s) => s === '' || /^[\x21-\x7e]+$/.test(s), {
    error: 'must be visible ASCII characters without spaces',
  })
  .refine((s) => s === '' || s.length >= MIN_TOKEN_LENGTH, {
    error: `must be at least ${MIN_TOKEN_LENGTH} characters (e.g. openssl rand -hex 32), or empty`,
  });

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim().toLowerCase())
    .filter((x) => x !== '');

/** A host name without scheme or port (`.example.com`: the domain and its subdomains), a bracketed IPv6 address, or `*`. */
const hostEntry = /^(\*|\.?[a-z0-9_]([a-z0-9_.-]*[a-z0-9])?\.?|\[[0-9a-f:.]+\])$/;

/** An origin as browsers send it (`scheme://host[:port]`, nothing after), or `*`. */
function isOrigin(x: string): boolean {
  if (x === '*') return true;
  try {
    const u = new URL(x);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === x;
  } catch {
    return false;
  }
}

const originList = z
  .string()
  .transform((s) => list(s).map((x) => x.replace(/\/$/, '')))
  .pipe(
    z.array(
      z.string().refine(isOrigin, {
        error: 'each entry: an origin scheme://host[:port] (e.g. https://ops.example.com), or *',
      }),
    ),
  );

export const OPTION_SPECS = {
  port: {
    env: 'PORT',
    default: '8080',
    doc: 'HTTP and WebSocket port (0 picks a free one).',
    schema: int(0, 65535),
  },
  host: {
    env: 'HOST',
    default: '127.0.0.1',
    doc: 'Address to bind.',
    schema: z.string().min(1, { error: 'must not be empty' }),
  },
  tickMs: {
    env: 'TICK_MS',
    default: '500',
    doc: 'Interval of batched WebSocket updates, ms.',
    schema: int(50, 10_000),
  },
  simTps: {
    env: 'SIM_TPS',
    default: '10',
    doc: 'Simulator rate at start, tx/s (0 = idle). Scenarios change it live.',
    schema: int(0, 10_000_000),
  },
  shards: {
    env: 'SHARDS',
    default: String(Math.max(1, availableParallelism() - 1)),
    doc: `Simulator shard threads (default: cores − 1, at least 1; at most ${MAX_SIMULATOR_SHARDS}: id worker slot 63 is the ingest thread's).`,
    schema: int(1, MAX_SIMULATOR_SHARDS),
  },
  sources: {
    env: 'SOURCES',
    default: DEFAULT_SOURCES.join(','),
    doc: `The simulator's source names, comma-separated (at most ${MAX_SOURCES}; lowercase letters, digits, - _ .; not "${OVERFLOW_SOURCE}"). Producers may send other names (see SOURCES_MAX).`,
    schema: z
      .string()
      .transform((s) => s.split(',').map((x) => x.trim()))
      .pipe(
        z
          .array(
            z
              .string()
              .regex(SOURCE_NAME, { error: 'each name: lowercase letters, digits, - _ . (1–32)' })
              .refine((n) => n !== OVERFLOW_SOURCE, {
                error: `"${OVERFLOW_SOURCE}" is reserved for the sources past SOURCES_MAX`,
              }),
          )
          .min(1, { error: 'needs at least one source' })
          .max(MAX_SOURCES, { error: `at most ${MAX_SOURCES} sources` })
          .refine((a) => new Set(a).size === a.length, { error: 'names must be unique' }),
      ),
  },
  sourcesMax: {
    env: 'SOURCES_MAX',
    default: String(SOURCES_LIMIT),
    doc: `Sources tracked by name (SOURCES and every name producers send, first come), at most ${SOURCES_LIMIT}; later names count as "${OVERFLOW_SOURCE}" in the live windows (stored with their name). ${SOURCES_LIMIT} is what a window row reserves: ${SOURCE_FIELDS} × 8 B per source, ${ROW_BYTES.toLocaleString('en-US')} B per second, ${((ROW_BYTES * 4096) / 1e6).toFixed(1)} MB of address space per writer thread's hour.`,
    schema: int(1, SOURCES_LIMIT),
  },
  failureRate: {
    env: 'FAILURE_RATE',
    default: '0.03',
    doc: 'Share of simulated transactions that fail (0–1).',
    schema: ratio,
  },
  procMinMs: {
    env: 'PROC_MIN_MS',
    default: '100',
    doc: 'Shortest simulated processing time, ms.',
    schema: int(0, 60_000),
  },
  procMedianMs: {
    env: 'PROC_MEDIAN_MS',
    default: '350',
    doc: 'Median simulated processing time, ms (log-normal, skewed to the right).',
    schema: int(0, 60_000),
  },
  procMaxMs: {
    env: 'PROC_MAX_MS',
    default: '2000',
    doc: 'Longest simulated processing time, ms (at most 8000).',
    schema: int(0, 8_000),
  },
  fraudAmountThreshold: {
    env: 'FRAUD_AMOUNT_THRESHOLD',
    default: '500000',
    doc: 'Flag amounts above this, in USD-equivalent minor units (500000 = $5,000.00).',
    schema: int(1, Number.MAX_SAFE_INTEGER),
  },
  fraudVelocityMax: {
    env: 'FRAUD_VELOCITY_MAX',
    default: '5',
    doc: 'Flag an account with more than this many transactions in 10 s.',
    schema: int(1, 65_535),
  },
  unusualPairRate: {
    env: 'UNUSUAL_PAIR_RATE',
    default: '0.002',
    doc: 'Share of simulated transactions with an unusual source/currency pairing (flagged).',
    schema: ratio,
  },
  accounts: {
    env: 'ACCOUNTS',
    default: '200000',
    doc: 'Number of simulated accounts.',
    schema: int(1, 16_000_000),
  },
  feedPerTick: {
    env: 'FEED_PER_TICK',
    default: '50',
    doc: 'Transactions in the live `tx` topic per tick: a uniform random sample of the transactions finished in the tick before (the rest are counted as omitted).',
    schema: int(0, 5_000),
  },
  alertsPerTick: {
    env: 'ALERTS_PER_TICK',
    default: '1000',
    doc: 'Alerts sent per tick at most; the rest wait in the alert ring for the next tick.',
    schema: int(1, 100_000),
  },
  ringCapacity: {
    env: 'RING_CAPACITY',
    default: '262144',
    doc: 'Records per shard transaction ring (power of two).',
    schema: int(1024, 1 << 26).refine((n) => (n & (n - 1)) === 0, {
      error: 'must be a power of two',
    }),
  },
  inflightCapacity: {
    env: 'INFLIGHT_CAPACITY',
    default: '1048576',
    doc: 'In-flight transactions per shard (power of two); generation pauses when full.',
    schema: int(1024, 1 << 26).refine((n) => (n & (n - 1)) === 0, {
      error: 'must be a power of two',
    }),
  },
  wsIdleTimeoutS: {
    env: 'WS_IDLE_TIMEOUT_S',
    default: '30',
    doc: 'WebSocket idle timeout, s (pings are sent automatically before it).',
    schema: int(8, 960),
  },
  wsMaxBackpressure: {
    env: 'WS_MAX_BACKPRESSURE',
    default: '1048576',
    doc: 'Bytes buffered for a slow WebSocket client before it is dropped.',
    schema: int(65_536, 1 << 30),
  },
  wsPublishPartitions: {
    env: 'WS_PUBLISH_PARTITIONS',
    default: '256',
    doc: 'Each topic is split into this many slices of clients; a tick publishes a few slices per event-loop turn (WS_PUBLISH_SOCKETS_PER_TURN). More slices: finer turns at high client counts.',
    schema: int(1, 256),
  },
  wsPublishSocketsPerTurn: {
    env: 'WS_PUBLISH_SOCKETS_PER_TURN',
    default: '64',
    doc: "About this many sockets get a tick's frames per event-loop turn, so one turn of socket writes stays short (bounds loop delay) whatever the client count.",
    schema: int(1, 1_000_000),
  },
  wsThreads: {
    env: 'WS_THREADS',
    default: '1',
    doc: 'WebSocket fan-out threads. 1: the primary thread serves /ws on PORT. More: that many threads each hold their share of the connections on WS_PORT and publish every tick to them (the primary serialises each frame once); /ws on PORT then answers 421 naming WS_PORT.',
    schema: int(1, MAX_FANOUT_THREADS),
  },
  wsPort: {
    env: 'WS_PORT',
    default: '0',
    doc: 'With WS_THREADS > 1: the port of /ws, shared by the fan-out threads (0 = a free one, logged at start). The dashboard learns it from GET /api/ws-endpoint. Ignored with WS_THREADS=1.',
    schema: int(0, 65_535),
  },
  wsPublicUrl: {
    env: 'WS_PUBLIC_URL',
    default: '',
    doc: "Where the dashboard opens its WebSocket: a path on its own origin (`/ws` behind a proxy that routes /ws to WS_PORT, as deploy/haproxy.cfg does) or a ws(s):// URL. Empty: the page's own origin with WS_THREADS=1, else the page's host name on WS_PORT.",
    schema: z
      .string()
      .refine((s) => s === '' || /^\/[^\s]*$/.test(s) || /^wss?:\/\/[^\s/]+/.test(s), {
        error: 'must be empty, a path starting with /, or a ws:// or wss:// URL',
      }),
  },
  mysqlUrl: {
    env: 'MYSQL_URL',
    default: '',
    doc: 'MySQL/MariaDB URL, e.g. mysql://user:pass@127.0.0.1:3306/pulseboard.',
    schema: z.string(),
  },
  mysqlHost: {
    env: 'MYSQL_HOST',
    default: '127.0.0.1',
    doc: 'Database host when MYSQL_URL is empty.',
    schema: z.string().min(1, { error: 'must not be empty' }),
  },
  mysqlPort: {
    env: 'MYSQL_PORT',
    default: '3306',
    doc: 'Database port when MYSQL_URL is empty.',
    schema: int(1, 65535),
  },
  mysqlUser: {
    env: 'MYSQL_USER',
    default: 'root',
    doc: 'Database user when MYSQL_URL is empty.',
    schema: z.string(),
  },
  mysqlPassword: {
    env: 'MYSQL_PASSWORD',
    default: '',
    doc: 'Database password when MYSQL_URL is empty.',
    schema: z.string(),
  },
  mysqlDatabase: {
    env: 'MYSQL_DATABASE',
    default: 'pulseboard',
    doc: 'Database name when MYSQL_URL is empty (created if missing).',
    schema: z.string().regex(/^[A-Za-z0-9_]{1,64}$/, { error: 'letters, digits and _ (1–64)' }),
  },
  persistence: {
    env: 'PERSISTENCE',
    default: 'auto',
    doc: 'auto: persist when the database answers; required: refuse to start without it; off.',
    schema: z.enum(['auto', 'required', 'off'], { error: 'must be auto, required or off' }),
  },
  dbWriters: {
    env: 'DB_WRITERS',
    default: '2',
    doc: 'MySQL writer threads consuming the shard rings (at most one per shard).',
    schema: int(1, 16),
  },
  ingestOverlapMinItems: {
    env: 'INGEST_OVERLAP_MIN_ITEMS',
    default: '5000',
    doc: 'Items that must be waiting before a group commit starts while another is still running (INGEST_COMMITS_IN_FLIGHT > 1); fewer wait for a running commit to end and join the next group. Default: a full group (5,000 items, the most one commit takes), which cannot grow by waiting. Smaller groups beside a running one each cost a transaction and a log flush, and measured slower on the 2-core box (one item per request or per message: profiles/README.md, HTTP ingest); full ones (stream batches) faster.',
    schema: int(1, 1_000_000),
  },
  dbConnections: {
    env: 'DB_CONNECTIONS',
    default: '2',
    doc: 'Batches each writer thread keeps in flight, one connection each.',
    schema: int(1, 16),
  },
  dbBatchSize: {
    env: 'DB_BATCH_SIZE',
    default: '5000',
    doc: 'Most rows per writer batch (one LOAD DATA or INSERT and its rollup upserts in one transaction). 5000: the database CPU per row falls with the batch (per-batch rollup upserts and COMMIT), see bench:db-sweep.',
    schema: int(1, 50_000),
  },
  dbFlushMs: {
    env: 'DB_FLUSH_MS',
    default: '50',
    doc: 'Longest a writer waits for a full batch before writing a partial one, ms.',
    schema: int(1, 10_000),
  },
  dbWriteMethod: {
    env: 'DB_WRITE_METHOD',
    default: 'auto',
    doc: 'How writers send rows: load (LOAD DATA LOCAL INFILE from memory, about half the server CPU per row), insert (multi-row INSERT), or auto (load when the server allows local_infile).',
    schema: z.enum(['auto', 'load', 'insert'], { error: 'must be auto, load or insert' }),
  },
  dbConnectTimeoutMs: {
    env: 'DB_CONNECT_TIMEOUT_MS',
    default: '3000',
    doc: 'Timeout of the start-up database check and of each connection attempt, ms.',
    schema: int(100, 120_000),
  },
  dbQuarantineFile: {
    env: 'DB_QUARANTINE_FILE',
    default: 'pulseboard-quarantine.jsonl',
    doc: 'JSON-lines file (appended, fsynced) for simulator rows the database refused for good when even the `quarantine` table cannot take them; relative to the working directory.',
    schema: z.string().min(1, { error: 'must not be empty' }),
  },
  retentionDays: {
    env: 'RETENTION_DAYS',
    default: '7',
    doc: 'Days of transactions kept (older daily partitions are dropped), and of quarantined rows.',
    schema: int(1, 3650),
  },
  rollupRetentionDays: {
    env: 'ROLLUP_RETENTION_DAYS',
    default: '90',
    doc: 'Days of per-second rollups kept.',
    schema: int(1, 36_500),
  },
  readyMaxLagMs: {
    env: 'READY_MAX_LAG_MS',
    default: '5000',
    doc: 'GET /readyz answers 503 when the oldest uncommitted record is older than this, or a database writer (or the ingest group commit) has been on one batch for longer than this, ms.',
    schema: int(1, 3_600_000),
  },
  txPageMax: {
    env: 'TX_PAGE_MAX',
    default: '1000',
    doc: 'Largest page GET /api/transactions returns (`limit` above it is a 400).',
    schema: int(1, 10_000),
  },
  historyMaxRangeH: {
    env: 'HISTORY_MAX_RANGE_H',
    default: '24',
    doc: 'Longest from…to range GET /api/history reads from the rollup table, hours (bounds the rows one request scans).',
    schema: int(1, 24 * 366),
  },
  readThreads: {
    env: 'READ_THREADS',
    default: '1',
    doc: 'piscina threads that run history and transaction reads (LTTB, row encoding) off the primary.',
    schema: int(1, 16),
  },
  readDbConnections: {
    env: 'READ_DB_CONNECTIONS',
    default: '2',
    doc: "Database reads (GET /api/transactions, GET /api/history older than the in-memory hour) in flight at most, one connection each: the reads' share of the database; the rest of its connections and CPU stay with the writers.",
    schema: int(1, 64),
  },
  readQueueMax: {
    env: 'READ_QUEUE_MAX',
    default: '32',
    doc: 'Database reads waiting for one of the READ_DB_CONNECTIONS at most (each waits at most READ_TIMEOUT_MS); further reads answer 503 PB_ERR_READ_BUSY with Retry-After at once.',
    schema: int(0, 10_000),
  },
  readTimeoutMs: {
    env: 'READ_TIMEOUT_MS',
    default: '10000',
    doc: 'Longest one read query may run, ms: the database stops it (MariaDB max_statement_time, MySQL MAX_EXECUTION_TIME) and the request answers 503 PB_ERR_DB_TIMEOUT.',
    schema: int(100, 600_000),
  },
  ingestBodyLimit: {
    env: 'INGEST_BODY_LIMIT',
    default: '1048576',
    doc: 'Largest POST /api/transactions body, bytes (413 above).',
    schema: int(1024, 64 * 1024 * 1024),
  },
  ingestMaxQueued: {
    env: 'INGEST_MAX_QUEUED',
    default: '50000',
    doc: 'Ingested items waiting for their COMMIT above which POST /api/transactions answers 503 + Retry-After (backpressure).',
    schema: int(1, 10_000_000),
  },
  ingestMaxQueuedBytes: {
    env: 'INGEST_MAX_QUEUED_BYTES',
    default: 'auto',
    doc: 'Bytes of POST /api/transactions bodies taken in and not yet answered (being read, or waiting for their COMMIT) above which the next request answers 503 + Retry-After before its body is read. auto = 16 × INGEST_BODY_LIMIT (16 MiB by default); at least INGEST_BODY_LIMIT.',
    schema: z
      .string()
      .refine((s) => s === 'auto' || /^\d{1,15}$/.test(s), {
        error: 'must be auto or a whole number of bytes',
      })
      .transform((s) => (s === 'auto' ? ('auto' as const) : Number(s))),
  },
  ingestCommitsInFlight: {
    env: 'INGEST_COMMITS_IN_FLIGHT',
    default: '2',
    doc: 'Group commits the ingest thread runs at once, each on its own database connection: while one COMMIT waits for its log flush the next group is already sent (once INGEST_OVERLAP_MIN_ITEMS wait), so the flush no longer serialises ingest. 2: 1.3–2× stream ingest at 100 items per message in interleaved runs on a 2-core box (profiles/README.md, HTTP ingest); 1 = one commit at a time.',
    schema: int(1, 16),
  },
  ingestMaxItems: {
    env: 'INGEST_MAX_ITEMS',
    default: '10000',
    doc: 'Most transactions in one POST /api/transactions body (413 above).',
    schema: int(1, 1_000_000),
  },
  ingestStream: {
    env: 'INGEST_STREAM',
    default: '',
    doc: 'Consume transactions from NATS JetStream: nats://[user:pass@]host[:port]/<subject>, e.g. nats://127.0.0.1:4222/pulseboard.tx (README "From a NATS JetStream stream"). Each message is one item or an array, as POST /api/transactions; acknowledged after its COMMIT. Needs persistence. Empty = off.',
    schema: z.string().refine((s) => s === '' || typeof parseStreamUrl(s) !== 'string', {
      error: (issue) => `${parseStreamUrl(String(issue.input)) as string}, or empty`,
    }),
    secret: true,
  },
  ingestStreamName: {
    env: 'INGEST_STREAM_NAME',
    default: 'PULSEBOARD_TX',
    doc: 'JetStream stream that captures the INGEST_STREAM subject: created if missing (file storage, limits retention, 7 days, one replica), else checked to capture the subject.',
    schema: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, {
      error: 'must be 1 to 64 letters, digits, _ or -',
    }),
  },
  ingestStreamConsumer: {
    env: 'INGEST_STREAM_CONSUMER',
    default: 'pulseboard-ingest',
    doc: "Durable pull consumer the server reads with (created if missing, checked if present). Every node with the same name shares it, so the stream's messages spread over them.",
    schema: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, {
      error: 'must be 1 to 64 letters, digits, _ or -',
    }),
  },
  ingestStreamDeadSubject: {
    env: 'INGEST_STREAM_DEAD_SUBJECT',
    default: '',
    doc: 'Subject poison messages (invalid JSON, invalid items, items the database refuses) are published to, with the original payload and the reason in headers; stored in the stream <INGEST_STREAM_NAME>_DEAD (created if no stream captures it). Empty = <subject>.dead.',
    schema: z.string().regex(/^([A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)?$/, {
      error: 'must be empty or dot-separated tokens of letters, digits, _ and -',
    }),
  },
  ingestStreamMaxAckPending: {
    env: 'INGEST_STREAM_MAX_ACK_PENDING',
    default: '20000',
    doc: "Messages delivered and not yet acknowledged at most (the consumer's max_ack_pending, and what this node holds): when the database is slow or down, consumption pauses here. Pulls are sized to the group commit (5,000).",
    schema: int(1, 1_000_000),
  },
  ingestStreamAckWaitS: {
    env: 'INGEST_STREAM_ACK_WAIT_S',
    default: '30',
    doc: "The consumer's ack_wait, s: a message not acknowledged within it is redelivered (to any node). Messages waiting for their COMMIT are kept alive with in-progress acks, so only a dead node's messages are redelivered.",
    schema: int(5, 3600),
  },
  shutdownTimeoutMs: {
    env: 'SHUTDOWN_TIMEOUT_MS',
    default: '30000',
    doc: 'Longest a SIGTERM shutdown may take, including draining rings to the database, ms.',
    schema: int(1000, 600_000),
  },
  logLevel: {
    env: 'LOG_LEVEL',
    default: 'info',
    doc: 'trace, debug, info, warn, error, fatal or silent.',
    schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
      error: 'must be one of trace, debug, info, warn, error, fatal, silent',
    }),
  },
  logPretty: {
    env: 'LOG_PRETTY',
    default: 'auto',
    doc: 'auto (pretty on a terminal or with NODE_ENV=development), true, false.',
    schema: z.enum(['auto', 'true', 'false'], { error: 'must be auto, true or false' }),
  },
  statsIntervalS: {
    env: 'STATS_INTERVAL_S',
    default: '10',
    doc: 'Interval of the periodic stats log line, s (0 = off).',
    schema: int(0, 3600),
  },
  ingestToken: {
    env: 'INGEST_TOKEN',
    default: '',
    doc: `Bearer token required by POST /api/transactions (empty = none; at least ${MIN_TOKEN_LENGTH} characters: 128 bits when random hex).`,
    schema: token,
    secret: true,
  },
  adminToken: {
    env: 'ADMIN_TOKEN',
    default: '',
    doc: `Bearer token required by scenario and reset endpoints and by changes to alert rules (empty = none; at least ${MIN_TOKEN_LENGTH} characters).`,
    schema: token,
    secret: true,
  },
  readToken: {
    env: 'READ_TOKEN',
    default: '',
    doc: `Bearer token required by GET /api/*, GET /metrics and the WebSocket; empty = open, which only a loopback HOST allows unless ALLOW_PUBLIC_READ=true (at least ${MIN_TOKEN_LENGTH} characters). ADMIN_TOKEN is accepted too.`,
    schema: token,
    secret: true,
  },
  allowUnauthenticated: {
    env: 'ALLOW_UNAUTHENTICATED',
    default: 'false',
    doc: 'true: allow a non-loopback HOST without INGEST_TOKEN, ADMIN_TOKEN and READ_TOKEN (anyone on the network can read, ingest, run scenarios and reset).',
    schema: bool,
  },
  allowPublicRead: {
    env: 'ALLOW_PUBLIC_READ',
    default: 'false',
    doc: 'true: allow a non-loopback HOST without READ_TOKEN (anyone who reaches the port reads transactions, metrics and the live feed: a public wall display). INGEST_TOKEN and ADMIN_TOKEN are still required.',
    schema: bool,
  },
  allowedHosts: {
    env: 'ALLOWED_HOSTS',
    default: '',
    doc: 'Host names the server answers to besides the defaults (localhost, *.localhost, any IP address, HOST), comma-separated, without port; `.example.com` = the domain and its subdomains; `*` = any (turns off the DNS-rebinding check). Another Host header is 403 PB_ERR_HTTP_HOST; /healthz and /readyz answer any.',
    schema: z
      .string()
      .transform((s) => list(s).map((x) => x.replace(/\.$/, '')))
      .pipe(
        z.array(
          z.string().regex(hostEntry, {
            error:
              'each entry: a host name without scheme or port (e.g. ops.example.com or .example.com), or *',
          }),
        ),
      ),
  },
  allowedOrigins: {
    env: 'ALLOWED_ORIGINS',
    default: '',
    doc: "Browser origins besides the server's own that may POST (ingest, scenarios, reset) and open /ws, comma-separated (`*` = any). A foreign Origin is 403 PB_ERR_AUTH_ORIGIN; requests without Origin (not browsers) are not checked.",
    schema: originList,
  },
  wsAllowedOrigins: {
    env: 'WS_ALLOWED_ORIGINS',
    default: '',
    doc: 'Deprecated: the old name of ALLOWED_ORIGINS, which now covers HTTP POSTs and /ws alike; still read when ALLOWED_ORIGINS is empty, with a warning at start.',
    schema: originList,
  },
  wsMaxConnections: {
    env: 'WS_MAX_CONNECTIONS',
    default: '20000',
    doc: 'Open WebSocket connections at most; further upgrades get 503 with Retry-After.',
    schema: int(1, 1_000_000),
  },
  wsMaxConnectionsPerAddress: {
    env: 'WS_MAX_CONNECTIONS_PER_ADDRESS',
    default: '256',
    doc: 'Open WebSocket connections per client address at most (0 = no cap); further upgrades get 429 with Retry-After. Loopback clients are exempt unless LOOPBACK_LIMITS=true.',
    schema: int(0, 1_000_000),
  },
  wsMaxSubscriptions: {
    env: 'WS_MAX_SUBSCRIPTIONS',
    default: '16',
    doc: 'Topics one WebSocket may subscribe to at most (a frame that would pass it changes nothing).',
    schema: int(1, 1_000),
  },
  ingestRateLimit: {
    env: 'INGEST_RATE_LIMIT',
    default: '1000',
    doc: 'POST /api/transactions requests per second per client address (0 = unlimited); above it 429 with Retry-After.',
    schema: int(0, 1_000_000),
  },
  ingestRateLoopback: {
    env: 'INGEST_RATE_LOOPBACK',
    default: 'false',
    doc: 'true: rate-limit clients on loopback addresses too. Off by default: local tools stay frictionless, and behind a local reverse proxy every client is 127.0.0.1 (limit there).',
    schema: bool,
  },
  ingestRateBurst: {
    env: 'INGEST_RATE_BURST',
    default: '2000',
    doc: 'Requests a client may send at once before INGEST_RATE_LIMIT applies (token bucket size).',
    schema: int(1, 10_000_000),
  },
  authFailureLimit: {
    env: 'AUTH_FAILURE_LIMIT',
    default: '20',
    doc: 'Wrong tokens a client address may send per minute (0 = unlimited); past it every request of that address needing a token gets 429 PB_ERR_AUTH_THROTTLED with Retry-After, without the token being checked. Loopback clients are exempt unless LOOPBACK_LIMITS=true.',
    schema: int(0, 1_000_000),
  },
  loopbackLimits: {
    env: 'LOOPBACK_LIMITS',
    default: 'false',
    doc: 'true: apply the per-address limits (INGEST_RATE_LIMIT, WS_MAX_CONNECTIONS_PER_ADDRESS, AUTH_FAILURE_LIMIT) to loopback clients too. Off by default: a loopback client is a local process or a local reverse proxy speaking for every client (limit in the proxy).',
    schema: bool,
  },
  rulesFile: {
    env: 'RULES_FILE',
    default: 'rules/default.yaml',
    doc: 'Alert rules, YAML or JSON (README "Alerting"); validated at start (exit 2 when invalid). With persistence the rules live in MySQL and the file seeds them whenever it changes; empty = no file.',
    schema: z.string(),
  },
  alertmanagerUrl: {
    env: 'ALERTMANAGER_URL',
    default: '',
    doc: 'Alertmanager base URL, e.g. http://127.0.0.1:9093: firing and resolved alerts are pushed to its /api/v2/alerts (empty = off).',
    schema: z.string().refine((s) => s === '' || /^https?:\/\/[^\s/]+/.test(s), {
      error: 'must be empty or an http(s):// URL',
    }),
  },
  alertmanagerResendS: {
    env: 'ALERTMANAGER_RESEND_S',
    default: '60',
    doc: "Seconds between re-sends of a firing (or recently resolved) alert to Alertmanager (Prometheus' resend delay); endsAt is 4× this ahead.",
    schema: int(1, 3600),
  },
  natsUrl: {
    env: 'NATS_URL',
    default: '',
    doc: 'NATS server with JetStream, e.g. nats://127.0.0.1:4222: turns cluster mode on (README "Running a cluster"). Empty = one process, no NATS.',
    schema: z.string().refine((s) => s === '' || /^(nats|tls):\/\/[^\s/]+$/.test(s), {
      error: 'must be empty or a nats:// URL (host:port, nothing after)',
    }),
  },
  nodeId: {
    env: 'NODE_ID',
    default: '',
    doc: 'This node in the cluster, 0–15 (the node part of every transaction id). Empty = the lowest id no live node holds, shown at start. Two live nodes never hold one id: the second is refused (exit 2).',
    schema: z
      .string()
      .refine((s) => s.trim() === '' || /^(1[0-5]|[0-9])$/.test(s.trim()), {
        error: 'must be empty or a whole number between 0 and 15',
      })
      .transform((s) => (s.trim() === '' ? null : Number(s.trim()))),
  },
  clusterName: {
    env: 'CLUSTER_NAME',
    default: 'pulseboard',
    doc: 'Prefix of the NATS subjects, stream and key-value bucket this cluster uses: nodes with the same NATS_URL and CLUSTER_NAME form one cluster.',
    schema: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, {
      error: 'must be 1–32 letters, digits, - or _',
    }),
  },
  clusterDownTicks: {
    env: 'CLUSTER_DOWN_TICKS',
    default: '3',
    doc: 'A node not heard from for this many ticks is marked down (its open seconds leave the global view; the seconds it closed stay). 3 × 500 ms: a killed node is down within 2 s (its last partial was up to a tick before it died, and the view is rebuilt every tick).',
    schema: int(2, 1000),
  },
  publicUrl: {
    env: 'PUBLIC_URL',
    default: '',
    doc: "The dashboard's URL as people reach it, for alerts' generatorURL links (empty = the address the server listens on).",
    schema: z.string().refine((s) => s === '' || /^https?:\/\/[^\s/]+/.test(s), {
      error: 'must be empty or an http(s):// URL',
    }),
  },
} as const;

export type OptionName = keyof typeof OPTION_SPECS;
export type Options = { readonly [K in OptionName]: z.output<(typeof OPTION_SPECS)[K]['schema']> };
export const OPTION_NAMES = Object.keys(OPTION_SPECS) as OptionName[];

/** `simTps` → `--sim-tps` */
export function flagOf(name: OptionName): string {
  return `--${OPTION_SPECS[name].env.toLowerCase().replaceAll('_', '-')}`;
}
