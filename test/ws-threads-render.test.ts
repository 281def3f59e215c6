import t from 'tap';
import type { ResultDoc } from '../bench/report/format.js';
import { peersLabel, wsThreadsBar } from '../bench/report/ws-threads-render.js';

/**
 * The fan-out threads bar reads its verdict from peers.json as DESIGN §7 states it: met
 * only with no gaps and the paired WS_THREADS=2 ÷ bare-uWS p99 median ≤ 1.25 at 10,000
 * clients; a peers run without a WS_THREADS=2 pass leaves the row "not measured".
 */

const MISSING = '| fan-out threads | … | — | not measured | … |';
const spreadOf = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return { median: s[1], min: s[0], max: s[2], values };
};

function peersDoc(p99Ratios: number[], gaps: number, clients = 10_000): Map<string, ResultDoc> {
  const side = (p99: number, gapsTotal: number) => ({
    p99Ms: spreadOf([p99, p99, p99]),
    gapsTotal,
    connectedMin: clients,
  });
  const result = {
    clients,
    wsThreads: [1, 2],
    pipelineTps: 10_000,
    summary: {
      [clients]: { pulseboard: side(110, 0), 'pulseboard-ws2': side(120, gaps), uws: side(100, 0) },
    },
    ratios: {
      wsThreadsVsUws: {
        2: { p99: spreadOf(p99Ratios), cpuPerMessage: spreadOf([1.5, 1.6, 1.7]), gapsTotal: gaps },
      },
    },
  };
  const doc: ResultDoc = {
    name: 'peers',
    command: 'node dist/bench/peers/run-peers.js',
    conditions: 'test',
    at: '2026-11-30T00:00:00.000Z',
    machine: { cpu: 'test', cores: 2, memoryGiB: 1, node: 'v20' },
    result,
  };
  return new Map([['peers', doc]]);
}

t.test('met: no gaps and the median paired ratio within 1.25', async (t) => {
  const row = wsThreadsBar(peersDoc([1.1, 1.3, 1.2], 0), MISSING);
  t.match(row, /1\.2× \(1\.1–1\.3\); gaps 0/);
  t.match(row, /\*\*met\*\*/);
});

t.test('missed: a gap, or the median ratio above 1.25, or not 10,000 clients', async (t) => {
  t.match(wsThreadsBar(peersDoc([1.1, 1.2, 1.2], 3), MISSING), /\*\*missed\*\*/);
  t.match(wsThreadsBar(peersDoc([1.2, 1.3, 1.4], 0), MISSING), /\*\*missed\*\*/);
  t.match(wsThreadsBar(peersDoc([1.1, 1.2, 1.2], 0, 1000), MISSING), /\*\*missed\*\*/);
});

t.test('not measured: a peers run without a WS_THREADS=2 pass', async (t) => {
  const docs = peersDoc([1.1, 1.2, 1.2], 0);
  delete docs.get('peers')!.result.ratios.wsThreadsVsUws;
  t.equal(wsThreadsBar(docs, MISSING), MISSING);
  t.equal(wsThreadsBar(new Map(), MISSING), MISSING);
});

t.test("the peers table names Pulseboard's passes by WS_THREADS", async (t) => {
  t.equal(peersLabel({ wsThreads: [1, 2] }, 'pulseboard'), 'pulseboard (WS_THREADS=1)');
  t.equal(peersLabel({ wsThreads: [1, 2] }, 'pulseboard-ws2'), 'pulseboard (WS_THREADS=2)');
  t.equal(peersLabel({}, 'pulseboard'), 'pulseboard', 'older results keep the plain name');
  t.equal(peersLabel({ wsThreads: [1, 2] }, 'uws'), 'uws');
});
