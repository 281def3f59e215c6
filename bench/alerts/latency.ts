import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { benchArgs } from '../lib/cli-args.js';
import { progress, sleep, writeResult } from '../lib/results.js';
import { startServer } from '../lib/server-process.js';

/**
 * `npm run bench:alerts-latency`: from a condition to the alert, on the real server (DESIGN
 * §7 bar: the WebSocket event within one tick after `for` elapses).
 *
 * The rule is `inFlight > 0 for FOR_MS` with the simulator idle; each round starts a
 * scenario (the condition begins when POST /api/load-test answers, t0), then measures when
 * the `alerts` topic's firing event reaches a WebSocket client and when the firing alert
 * reaches the Alertmanager endpoint (POST /api/v2/alerts; a recording HTTP server here, so
 * the figure is Pulseboard's push, not Alertmanager's grouping), both counted after
 * t0 + FOR_MS. Then the scenario stops, the alert resolves, and the next round begins.
 *
 *   node dist/bench/alerts/latency.js [--rounds 10] [--for-ms 2000] [--tick-ms 500]
 */

const flags = benchArgs({
  command: 'node dist/bench/alerts/latency.js',
  about:
    "Alert latency: from the moment a rule's condition has held for its `for` to the firing event on the alerts topic and at the Alertmanager endpoint, over rounds. Writes bench/results/alert-latency.json.",
  flags: {
    rounds: { type: 'number', default: '10', help: 'alerts fired and resolved' },
    'for-ms': { type: 'number', default: '2000', help: "the rule's for, ms" },
    'tick-ms': { type: 'number', default: '500', help: 'the evaluation tick, ms' },
  },
});
const rounds = flags.rounds;
const forMs = flags['for-ms'];
const tickMs = flags['tick-ms'];

const dir = mkdtempSync(join(tmpdir(), 'pb-alert-latency-'));
const rulesFile = join(dir, 'rules.yaml');
writeFileSync(
  rulesFile,
  `rules:\n  - alert: Busy\n    metric: inFlight\n    op: ">"\n    threshold: 0\n    for: ${forMs}ms\n`,
);

// The Alertmanager endpoint: records when each push arrives.
const pushes: { at: number; alerts: { labels: Record<string, string>; endsAt: string }[] }[] = [];
const am = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => {
    body += c.toString();
  });
  req.on('end', () => {
    pushes.push({ at: Date.now(), alerts: JSON.parse(body) });
    res.writeHead(200).end('{}');
  });
});
await new Promise<void>((r) => am.listen(0, '127.0.0.1', () => r()));
const amUrl = `http://127.0.0.1:${(am.address() as { port: number }).port}`;

const server = await startServer([
  '--sim-tps',
  '0',
  '--persistence',
  'off',
  '--tick-ms',
  String(tickMs),
  '--rules-file',
  rulesFile,
  '--alertmanager-url',
  amUrl,
]);

interface RuleEvent {
  rule: string;
  state: string;
  ts: number;
  activeAt: number | null;
}
const events: (RuleEvent & { receivedAt: number })[] = [];
const ws = new WebSocket(`${server.wsUrl}?topics=alerts`);
ws.on('message', (raw) => {
  const at = Date.now();
  const frame = JSON.parse(raw.toString()) as { data: { kind?: string; events?: RuleEvent[] } };
  if (frame.data.kind === 'rule')
    for (const e of frame.data.events ?? []) events.push({ ...e, receivedAt: at });
});
await new Promise((r) => ws.once('open', r));

async function scenario(tps: number): Promise<number> {
  await fetch(`${server.url}/api/load-test`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tps }),
  });
  return Date.now();
}

async function until<T>(what: string, fn: () => T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const rows: { wsAfterForMs: number; amAfterForMs: number; detectMs: number; fireLagMs: number }[] =
  [];
progress(`alert latency: ${rounds} rounds, for ${forMs} ms, tick ${tickMs} ms`);
for (let i = 0; i < rounds; i++) {
  const seen = events.length;
  const pushed = pushes.length;
  const t0 = await scenario(100);
  const firing = await until('firing', () => events.slice(seen).find((e) => e.state === 'firing'));
  const push = await until('push', () =>
    pushes.slice(pushed).find((p) => p.alerts.some((a) => Date.parse(a.endsAt) > p.at)),
  );
  rows.push({
    wsAfterForMs: firing.receivedAt - (t0 + forMs),
    amAfterForMs: push.at - (t0 + forMs),
    detectMs: (firing.activeAt ?? firing.ts) - t0,
    fireLagMs: firing.ts - ((firing.activeAt ?? firing.ts) + forMs),
  });
  await scenario(0);
  await until('resolved', () => events.slice(seen).find((e) => e.state === 'resolved'));
  await sleep(300 + Math.random() * tickMs); // start the next round at another phase of the tick
}
ws.close();
await server.stop();
am.close();

const stats = (k: keyof (typeof rows)[number]) => {
  const v = rows.map((r) => r[k]).sort((a, b) => a - b);
  return { p50: v[Math.floor((v.length - 1) / 2)]!, max: v.at(-1)!, min: v[0]! };
};
const result = {
  rounds,
  forMs,
  tickMs,
  wsAfterForMs: stats('wsAfterForMs'),
  amAfterForMs: stats('amAfterForMs'),
  detectMs: stats('detectMs'),
  fireLagMs: stats('fireLagMs'),
  withinOneTick: rows.every((r) => r.wsAfterForMs <= tickMs),
  rows,
};
console.table(rows);
writeResult(
  'alert-latency',
  `node dist/bench/alerts/latency.js --rounds ${rounds} --for-ms ${forMs} --tick-ms ${tickMs}`,
  `rule inFlight > 0 for ${forMs} ms, simulator idle then 100 tx/s; condition = POST /api/load-test answered; WebSocket client and Alertmanager endpoint on loopback; persistence off`,
  result,
);
process.exit(0);
