import t from 'tap';
import { parseOptions } from '../src/config/parse-options.js';

/** The cluster options: defaults (no cluster), and messages naming the option and range. */

t.test('without NATS_URL there is no cluster', async (t) => {
  const { options } = parseOptions([], {});
  t.equal(options.natsUrl, '');
  t.equal(options.nodeId, null, 'NODE_ID empty: derived at start');
  t.equal(options.clusterName, 'pulseboard');
  t.equal(options.clusterDownTicks, 3);
});

t.test('values and refusals', async (t) => {
  const { options } = parseOptions(['--node-id', '15', '--nats-url', 'nats://10.0.0.5:4222'], {
    CLUSTER_NAME: 'ops_eu-1',
  });
  t.equal(options.nodeId, 15);
  t.equal(options.natsUrl, 'nats://10.0.0.5:4222');
  t.equal(options.clusterName, 'ops_eu-1');
  const cases: [string[], RegExp][] = [
    [['--node-id', '16'], /nodeId \(--node-id\) must be empty or a whole number between 0 and 15/],
    [['--node-id', '1.5'], /\(--node-id\) must be empty or a whole number between 0 and 15/],
    [['--nats-url', 'http://127.0.0.1:4222'], /\(--nats-url\) must be empty or a nats:\/\/ URL/],
    [['--cluster-name', 'a.b'], /\(--cluster-name\) must be 1–32 letters, digits, - or _/],
    [['--cluster-down-ticks', '1'], /\(--cluster-down-ticks\) must be between 2 and 1000/],
  ];
  for (const [argv, message] of cases)
    t.throws(
      () => parseOptions(argv, {}),
      { code: 'PB_ERR_OPTIONS_INVALID', message },
      argv.join(' '),
    );
});
