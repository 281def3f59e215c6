import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import mysql from 'mysql2/promise';
import { benchArgs } from '../lib/cli-args.js';

/**
 * `node dist/bench/db/load-vs-insert.js [--rows 200000] [--batch 5000]`: the database
 * server's CPU per row for the writers' two row formats (multi-row INSERT, LOAD DATA LOCAL
 * INFILE from a Buffer stream), with and without the secondary index by_source, on a
 * scratch database `pb_bench_load_<time>` on 127.0.0.1:3306 (dropped afterwards). Server
 * CPU comes from /proc/<pid>/stat of the local server (via @@pid_file): on a shared box it
 * is steadier than wall-clock rows/s. Prints JSON.
 */

const flags = benchArgs({
  command: 'node dist/bench/db/load-vs-insert.js',
  about:
    "The database server's CPU per row for multi-row INSERT and LOAD DATA LOCAL INFILE, with and without the by_source index, on a scratch database. Prints JSON.",
  flags: {
    rows: { type: 'number', default: '200000', help: 'rows written by each method' },
    batch: { type: 'number', default: '5000', help: 'rows per statement' },
  },
});
const N = flags.rows;
const B = flags.batch;
const database = `pb_bench_load_${Date.now()}`;
const SOURCES = ['card-pos', 'ach', 'wire', 'mobile', 'atm', 'p2p'];

let payload: Buffer = Buffer.alloc(0);
const conn = await mysql.createConnection({
  host: '127.0.0.1',
  user: 'root',
  multipleStatements: true,
  infileStreamFactory: () => Readable.from([payload]),
});
const [pf] = await conn.query('SELECT @@pid_file AS f');
const pid = Number(readFileSync((pf as { f: string }[])[0]!.f, 'utf8').trim());
const cpu = () => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
await conn.query(`CREATE DATABASE \`${database}\``);
await conn.query(`USE \`${database}\``);

const results = [];
for (const variant of ['insert+index', 'insert', 'load+index', 'load']) {
  const load = variant.startsWith('load');
  await conn.query('DROP TABLE IF EXISTS t');
  await conn.query(`CREATE TABLE t (id BIGINT UNSIGNED NOT NULL, ref VARCHAR(128) NULL, source VARCHAR(32) NOT NULL,
    account VARCHAR(64) NOT NULL, type VARCHAR(16) NOT NULL, amount BIGINT NOT NULL, currency CHAR(3) NOT NULL,
    status ENUM('completed','failed') NOT NULL, failure_reason VARCHAR(32) NULL, created_ms BIGINT NOT NULL,
    completed_ms BIGINT NOT NULL, processing_ms INT UNSIGNED NOT NULL, flag_rule VARCHAR(32) NULL,
    risk_score TINYINT UNSIGNED NOT NULL, PRIMARY KEY (id)${variant.endsWith('+index') ? ', KEY by_source (source, id)' : ''}) ENGINE=InnoDB`);
  const c0 = cpu();
  const t0 = performance.now();
  let id = 1_000_000_000;
  for (let b = 0; b < N / B; b++) {
    let text = '';
    for (let i = 0; i < B; i++) {
      id++;
      const src = SOURCES[i % 6]!;
      const acct = `AC${String(i % 100_000).padStart(8, '0')}`;
      if (load)
        text += `${id}\t\\N\t${src}\t${acct}\tpurchase\t${1000 + i}\tUSD\tcompleted\t\\N\t1764000000000\t1764000000350\t350\t\\N\t12\n`;
      else
        text += `${i === 0 ? '' : ','}(${id},NULL,'${src}','${acct}','purchase',${1000 + i},'USD','completed',NULL,1764000000000,1764000000350,350,NULL,12)`;
    }
    if (load) {
      payload = Buffer.from(text, 'latin1');
      await conn.query(
        "START TRANSACTION; LOAD DATA LOCAL INFILE 'batch' IGNORE INTO TABLE t; COMMIT",
      );
    } else {
      await conn.query(
        `START TRANSACTION; INSERT INTO t VALUES ${text} ON DUPLICATE KEY UPDATE id = id; COMMIT`,
      );
    }
  }
  const wall = (performance.now() - t0) / 1000;
  const [cnt] = await conn.query('SELECT COUNT(*) AS n FROM t');
  const rows = Number((cnt as { n: number }[])[0]!.n);
  if (rows !== N) throw new Error(`${variant}: ${rows} rows, expected ${N}`);
  const r = {
    variant,
    rowsPerSec: Math.round(N / wall),
    serverCpuUsPerRow: Math.round((((cpu() - c0) * 1e6) / N) * 100) / 100,
  };
  process.stderr.write(`${JSON.stringify(r)}\n`);
  results.push(r);
}
await conn.query(`DROP DATABASE \`${database}\``);
await conn.end();
process.stdout.write(
  `${JSON.stringify({ benchmark: 'db-load-vs-insert', rows: N, batch: B, results }, null, 2)}\n`,
);
