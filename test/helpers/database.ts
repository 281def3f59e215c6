import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { freePort } from './free-port.js';

/**
 * A real MySQL/MariaDB for tests (DESIGN §6), found in this order:
 *   1. MYSQL_URL if set;
 *   2. a server on 127.0.0.1:3306 as root without password, if one answers;
 *   3. a private mariadbd/mysqld from PATH (or /usr/sbin) in a temporary datadir on a free
 *      port, removed when the test process exits;
 *   4. otherwise fail with how to install one.
 * Each suite gets its own database (`pb_test_<random>`), dropped by `drop()`.
 */

export interface TestDatabase {
  /** mysql://… URL of this suite's database. */
  url: string;
  name: string;
  /** A connection to this suite's database (closed by drop()). */
  conn: mysql.Connection;
  drop(): Promise<void>;
}

const INSTALL_HINT =
  'no MySQL/MariaDB server found: set MYSQL_URL, start one on 127.0.0.1:3306, or install one ' +
  '(Debian/Ubuntu: sudo apt-get install -y mariadb-server; macOS: brew install mariadb)';

let server: Promise<string> | undefined;

async function answers(url: string): Promise<boolean> {
  try {
    const c = await mysql.createConnection({ uri: url, connectTimeout: 1500 });
    await c.end();
    return true;
  } catch {
    return false;
  }
}

function findBinary(): string | undefined {
  for (const name of ['mariadbd', 'mysqld']) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
    for (const dir of ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin']) {
      if (existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}

function findInstaller(): string | undefined {
  for (const p of [
    '/usr/bin/mariadb-install-db',
    '/usr/bin/mysql_install_db',
    '/usr/local/bin/mariadb-install-db',
  ]) {
    if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * A private mariadbd/mysqld: its own temporary datadir, its own free port on loopback, its
 * own process. Used as the last fallback of databaseServer() and directly by tests that
 * must stop the database (the outage test), since the shared server is never stopped.
 * `stop()` kills the process and keeps the datadir; `start()` brings it back on the same
 * port; `destroy()` kills it and removes the datadir (also on process exit).
 */
export interface PrivateDatabase {
  /** mysql://root@127.0.0.1:<port> (no database). */
  url: string;
  port: number;
  dir: string;
  running(): boolean;
  start(): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Freezes the server (SIGSTOP) until resume(): the kernel still completes TCP handshakes
   * into its backlog but nothing answers, as with a network partition, so clients wait for
   * their timeouts instead of failing at once as they do on a stopped server.
   */
  pause(): void;
  resume(): void;
  destroy(): Promise<void>;
}

const privates = new Set<PrivateDatabase>();
process.once('exit', () => {
  for (const p of privates) void p.destroy();
});

export async function startPrivateDatabase(): Promise<PrivateDatabase> {
  const bin = findBinary();
  if (!bin) throw new Error(INSTALL_HINT);
  const dir = mkdtempSync(join(tmpdir(), 'pb-mariadb-'));
  const data = join(dir, 'data');
  const isMaria = bin.endsWith('mariadbd');
  const installer = isMaria ? findInstaller() : undefined;
  const user = userInfo().username;
  const init = installer
    ? spawnSync(
        installer,
        [
          // First: ignore /etc/mysql/*.cnf (user=mysql, the shared server's paths).
          '--no-defaults',
          `--datadir=${data}`,
          '--auth-root-authentication-method=normal',
          '--skip-test-db',
          `--user=${user}`,
        ],
        { encoding: 'utf8' },
      )
    : spawnSync(bin, ['--no-defaults', '--initialize-insecure', `--datadir=${data}`], {
        encoding: 'utf8',
      });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not initialise a private database in ${data}:\n${init.stderr}`);
  }
  const port = await freePort();
  const url = `mysql://root@127.0.0.1:${port}`;
  let proc: ChildProcess | undefined;
  const handle: PrivateDatabase = {
    url,
    port,
    dir,
    running: () => proc !== undefined && proc.exitCode === null && proc.signalCode === null,
    async start() {
      if (handle.running()) return;
      proc = spawn(
        bin,
        [
          '--no-defaults',
          `--datadir=${data}`,
          `--port=${port}`,
          '--bind-address=127.0.0.1',
          `--socket=${join(dir, 'sock')}`,
          `--pid-file=${join(dir, 'pid')}`,
          `--user=${user}`,
          '--skip-log-bin',
          '--innodb-buffer-pool-size=64M',
          '--max-connections=200',
        ],
        { stdio: 'ignore' },
      );
      for (let i = 0; i < 150; i++) {
        if (await answers(url)) return;
        if (!handle.running()) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      await handle.destroy();
      throw new Error(`private ${bin} did not answer on port ${port}`);
    },
    async stop(signal: NodeJS.Signals = 'SIGKILL') {
      const p = proc;
      if (!p || !handle.running()) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill(signal);
      await exited;
    },
    pause() {
      if (handle.running()) proc!.kill('SIGSTOP');
    },
    resume() {
      if (handle.running()) proc!.kill('SIGCONT');
    },
    async destroy() {
      privates.delete(handle);
      if (proc && handle.running()) proc.kill('SIGKILL');
      proc = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  privates.add(handle);
  await handle.start();
  return handle;
}

/** The server base URL (no database), found once per test process. */
export function databaseServer(): Promise<string> {
  server ??= (async () => {
    const env = process.env.MYSQL_URL;
    // PB_TEST_PRIVATE_DB=1 skips 1 and 2, to exercise the private-server fallback.
    const forcePrivate = process.env.PB_TEST_PRIVATE_DB === '1';
    if (env && !forcePrivate) {
      const u = new URL(env);
      u.pathname = '';
      return u.toString().replace(/\/$/, '');
    }
    const local = 'mysql://root@127.0.0.1:3306';
    if (!forcePrivate && (await answers(local))) return local;
    return (await startPrivateDatabase()).url;
  })();
  return server;
}

/** Creates a fresh database for one suite. */
export async function createTestDatabase(
  prefix = 'pb_test',
  server?: string,
): Promise<TestDatabase> {
  const base = server ?? (await databaseServer());
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = await mysql.createConnection({ uri: base });
  await admin.query(`CREATE DATABASE \`${name}\``);
  await admin.end();
  const url = `${base}/${name}`;
  const conn = await mysql.createConnection({
    uri: url,
    supportBigNumbers: true,
    bigNumberStrings: true,
    multipleStatements: true,
  });
  return {
    url,
    name,
    conn,
    async drop() {
      await conn.end().catch(() => conn.destroy());
      const a = await mysql.createConnection({ uri: base });
      await a.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await a.end();
    },
  };
}
