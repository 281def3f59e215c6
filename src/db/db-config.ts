import type { ConnectionOptions } from 'mysql2';
import type { Options } from '../config/option-specs.js';
import { PulseboardError } from '../errors.js';

/**
 * Where the database is: MYSQL_URL when set (mysql://user:pass@host:port/db), otherwise the
 * separate MYSQL_HOST / MYSQL_PORT / MYSQL_USER / MYSQL_PASSWORD / MYSQL_DATABASE options.
 * The result is plain data so it can be handed to worker threads in workerData.
 */

export interface DbConfig {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  connectTimeoutMs: number;
}

const DB_NAME = /^[A-Za-z0-9_]{1,64}$/;

type DbOptions = Pick<
  Options,
  | 'mysqlUrl'
  | 'mysqlHost'
  | 'mysqlPort'
  | 'mysqlUser'
  | 'mysqlPassword'
  | 'mysqlDatabase'
  | 'dbConnectTimeoutMs'
>;

export function dbConfigFrom(o: DbOptions): DbConfig {
  if (o.mysqlUrl === '') {
    return {
      host: o.mysqlHost,
      port: o.mysqlPort,
      user: o.mysqlUser,
      password: o.mysqlPassword,
      database: o.mysqlDatabase,
      connectTimeoutMs: o.dbConnectTimeoutMs,
    };
  }
  return parseMysqlUrl(o.mysqlUrl, o.dbConnectTimeoutMs);
}

export function parseMysqlUrl(raw: string, connectTimeoutMs = 3000): DbConfig {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PulseboardError(
      'PB_ERR_DB_CONFIG',
      'MYSQL_URL is not a URL (expected mysql://user:pass@host:3306/db)',
    );
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
    throw new PulseboardError(
      'PB_ERR_DB_CONFIG',
      `MYSQL_URL must start with mysql:// (got ${url.protocol}//)`,
    );
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'pulseboard';
  if (!DB_NAME.test(database)) {
    throw new PulseboardError(
      'PB_ERR_DB_CONFIG',
      `MYSQL_URL database name must be letters, digits and _ (got "${database}")`,
    );
  }
  return {
    host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: url.port === '' ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username) || 'root',
    password: decodeURIComponent(url.password),
    database,
    connectTimeoutMs,
  };
}

/**
 * mysql2 connection options; `withDatabase: false` for CREATE DATABASE before it exists.
 * One statement per query: reads, migrations, retention and the monitor never need more, and
 * with `multipleStatements` off a future injection cannot stack a second statement.
 */
export function connectionOptions(c: DbConfig, withDatabase = true): ConnectionOptions {
  return {
    host: c.host,
    port: c.port,
    user: c.user,
    password: c.password,
    ...(withDatabase ? { database: c.database } : {}),
    connectTimeout: c.connectTimeoutMs,
    // BIGINT ids and sums come back as strings, never as lossy doubles.
    supportBigNumbers: true,
    bigNumberStrings: true,
    charset: 'utf8mb4',
    timezone: 'Z',
  };
}

/**
 * The writers' and the ingest group commit's connections: one round trip per batch
 * (`START TRANSACTION; INSERT …; INSERT …; COMMIT`), the persisted-rate hot path. Their SQL
 * is built from ring records and validated items only, never from raw request text.
 */
export function batchConnectionOptions(c: DbConfig): ConnectionOptions {
  return { ...connectionOptions(c), multipleStatements: true };
}

/** For logs: the URL without the password. */
export function describeDb(c: DbConfig): string {
  return `mysql://${c.user}@${c.host}:${c.port}/${c.database}`;
}
