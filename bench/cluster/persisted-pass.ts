import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { LOCAL_DB } from '../lib/db-proc.js';
import { progress, sleep } from '../lib/results.js';
import { round } from '../lib/stats.js';
import { nodeArgs, startCluster } from './nodes.js';

/**
 * One pass of the persisted part of `bench:cluster`: `nodeCount` nodes (one = a cluster of
 * one) with persistence on, sharing one fresh database on the box's MariaDB, the simulator
 * asked for `tps` in total (more than one node persists, so every pass runs at what the
 * database takes). Committed rows are counted in MySQL (COUNT(*) of transactions) at the
 * start and the end of a span after a warm-up; the database is dropped afterwards.
 */

const WARMUP_MS = 8000;

export async function runPersistedPass(nodeCount: number, tps: number, seconds: number) {
  const database = `cbench_${randomBytes(3).toString('hex')}`;
  const conn = await mysql.createConnection({ ...LOCAL_DB });
  try {
    const cluster = await startCluster(nodeCount, nodeArgs(tps, 'required'), {
      MYSQL_DATABASE: database,
      MYSQL_HOST: LOCAL_DB.host,
      MYSQL_PORT: String(LOCAL_DB.port),
    });
    try {
      progress(`cluster bench: persisted, ${nodeCount} node(s), ${tps} tx/s asked, warming up`);
      await sleep(WARMUP_MS);
      const count = async () => {
        const t = performance.now();
        const [r] = await conn.query(`SELECT COUNT(*) AS n FROM \`${database}\`.transactions`);
        return { t, n: Number((r as { n: number }[])[0]!.n) };
      };
      const a = await count();
      progress(`cluster bench: measuring ${seconds} s`);
      await sleep(seconds * 1000 - (performance.now() - a.t));
      const b = await count();
      const perSec = Math.round((b.n - a.n) / ((b.t - a.t) / 1000));
      progress(`  ${perSec.toLocaleString('en-US')} rows/s committed`);
      return {
        nodes: nodeCount,
        askedTps: tps,
        seconds: round((b.t - a.t) / 1000, 1),
        committedPerSec: perSec,
      };
    } finally {
      await cluster.stopAll();
    }
  } finally {
    await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await conn.end();
  }
}

export const PERSISTED_CONDITIONS = `persistence on, one fresh database per pass on the box's MariaDB shared by every node, 1 shard and the default writers per node; committed rows = COUNT(*) of transactions at the span's start and end, after ${WARMUP_MS / 1000} s of warm-up; one node = a cluster of one`;
