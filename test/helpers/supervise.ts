import type { TestDatabase } from './database.js';

/**
 * Shared by the supervision tests (test/supervise-*.test.ts): a /readyz watcher, HTTP
 * producers that retry what was not acknowledged (as a well-behaved client does, honouring
 * Retry-After), and the exactly-once audit of what they were told.
 */

export interface ReadyzAnswer {
  status: number;
  body: { status: string; error?: { code: string; message: string; threads?: string[] } };
}

/**
 * Polls GET /readyz back to back until stopped and keeps every 503. A thread is down for
 * at least the restart delay (RESTART_BASE_MS = 500 ms) plus its start, which this loop
 * samples dozens of times over.
 */
export function watchReadyz(url: string): { stop(): Promise<ReadyzAnswer[]> } {
  const notReady: ReadyzAnswer[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) });
        const body = (await r.json()) as ReadyzAnswer['body'];
        if (r.status !== 200) notReady.push({ status: r.status, body });
      } catch {
        // the server went away (give-up test): stop watching
        if (running) await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return notReady;
    },
  };
}

/** The first not-ready answer naming `thread`. */
export function namedDown(answers: ReadyzAnswer[], thread: string): ReadyzAnswer | undefined {
  return answers.find((a) => a.status === 503 && a.body.error?.threads?.includes(thread));
}

export interface Producers {
  /** ref → the id the server acknowledged it with. */
  acked: Map<string, string>;
  /** Answers other than 200, by status and error code ("503 PB_ERR_THREAD_DOWN"). */
  refused: Map<string, number>;
  /** 503s that came without Retry-After. */
  withoutRetryAfter: number;
  /** Retried bodies answered with every item a duplicate (their first attempt committed). */
  duplicateRetries: { refs: string[]; ids: string[] }[];
  /** Requests that got no answer within the bound: must stay 0. */
  hung: number;
  /** Requests whose connection failed (the server exited): not acknowledged. */
  cutOff: number;
  stop(): Promise<void>;
}

/**
 * `count` loops posting batches of `batch` new refs; a batch answered 503 is re-sent, same
 * refs, after its Retry-After, until it is acknowledged (or the server is gone). Every
 * request is bounded (`boundMs`): one that times out counts as hung.
 */
export function produce(
  url: string,
  prefix: string,
  opts: { count?: number; batch?: number; boundMs?: number } = {},
): Producers {
  const count = opts.count ?? 4;
  const batch = opts.batch ?? 100;
  const boundMs = opts.boundMs ?? 20_000;
  const p: Producers = {
    acked: new Map(),
    refused: new Map(),
    withoutRetryAfter: 0,
    duplicateRetries: [],
    hung: 0,
    cutOff: 0,
    stop: async () => {},
  };
  let running = true;
  const loops = Array.from({ length: count }, async (_, k) => {
    for (let n = 0; running; n++) {
      const refs = Array.from({ length: batch }, (_, i) => `${prefix}-${k}-${n}-${i}`);
      const body = JSON.stringify(
        refs.map((ref, i) => ({
          ref,
          source: 'wire',
          account: `acct-${k}`,
          amount: 100 + i,
          currency: 'EUR',
        })),
      );
      for (let attempt = 0; ; attempt++) {
        let r: Response;
        try {
          r = await fetch(`${url}/api/transactions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            signal: AbortSignal.timeout(boundMs),
          });
        } catch (err) {
          if ((err as Error).name === 'TimeoutError') p.hung++;
          else p.cutOff++;
          return; // no answer: stop this producer (the server is gone, or the test fails)
        }
        const answer = (await r.json()) as {
          items?: { id: string; duplicate: boolean }[];
          duplicates?: number;
          error?: { code: string };
        };
        if (r.status === 200) {
          const items = answer.items ?? [];
          refs.forEach((ref, i) => {
            p.acked.set(ref, items[i]!.id);
          });
          if (attempt > 0 && answer.duplicates === refs.length) {
            p.duplicateRetries.push({ refs, ids: items.map((it) => it.id) });
          }
          break;
        }
        const key = `${r.status} ${answer.error?.code ?? ''}`;
        p.refused.set(key, (p.refused.get(key) ?? 0) + 1);
        const retryAfter = r.headers.get('retry-after');
        if (r.status === 503 && retryAfter === null) p.withoutRetryAfter++;
        if (r.status !== 503) break; // not retryable: give up on this batch
        await new Promise((res) => setTimeout(res, Number(retryAfter ?? '1') * 1000));
      }
    }
  });
  p.stop = async () => {
    running = false;
    await Promise.all(loops);
  };
  return p;
}

/** For acknowledged refs: how many are missing, duplicated, or stored under another id. */
export async function auditAcked(
  db: TestDatabase,
  prefix: string,
  acked: Map<string, string>,
): Promise<{ missing: number; duplicated: number; otherId: number }> {
  const [rows] = await db.conn.query(
    'SELECT ref, COUNT(*) AS n, MIN(id) AS id FROM transactions WHERE ref LIKE ? GROUP BY ref',
    [`${prefix}-%`],
  );
  const stored = new Map(
    (rows as { ref: string; n: string; id: string }[]).map((r) => [
      r.ref,
      { n: Number(r.n), id: String(r.id) },
    ]),
  );
  let missing = 0;
  let duplicated = 0;
  let otherId = 0;
  for (const [ref, id] of acked) {
    const s = stored.get(ref);
    if (!s) missing++;
    else if (s.n > 1) duplicated++;
    else if (s.id !== id) otherId++;
  }
  return { missing, duplicated, otherId };
}

/** Rows in the transactions table, distinct ids, and the rollups' total count. */
export async function totals(
  db: TestDatabase,
): Promise<{ rows: number; ids: number; rollup: number }> {
  const [r] = await db.conn.query(
    'SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d, (SELECT COALESCE(SUM(count), 0) FROM rollup_seconds) AS c FROM transactions',
  );
  const x = (r as { n: string; d: string; c: string }[])[0]!;
  return { rows: Number(x.n), ids: Number(x.d), rollup: Number(x.c) };
}
