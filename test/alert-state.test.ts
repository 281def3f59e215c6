import t from 'tap';
import { AlertSeries } from '../src/alerts/alert-state.js';
import { ALL, type MetricReader, MetricSlots } from '../src/alerts/metric-reader.js';
import { RuleEvaluator } from '../src/alerts/rule-evaluator.js';
import { type AlertRule, validateRule } from '../src/alerts/rule-schema.js';
import { SourceRegistry } from '../src/shared/source-registry.js';
import { SOURCE_SLOTS } from '../src/shared/window-row.js';

/**
 * The alert state machine, tick by tick, as Prometheus defines it (rules/alerting.go):
 * inactive → pending → firing → resolved, `for` and `keepFiringFor`, and the evaluator
 * driving it from metric values (per source, change against a baseline, absence, minCount).
 */

const SOURCES = ['card-pos', 'ach'];
const TICK = 500;

function rule(raw: Record<string, unknown>): AlertRule {
  const v = validateRule(raw, { sources: SOURCES });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.rule;
}

/** A MetricReader whose values the test sets (the real slot layout). */
function reader(): MetricReader & { slots: MetricSlots } {
  const slots = new MetricSlots(SOURCES);
  return {
    slots,
    sources: SOURCES,
    slotOf: (name) => SOURCES.indexOf(name),
    values: slots.values,
    slot: (m, w, s) => slots.slot(m, w, s),
  };
}

t.test('AlertSeries: pending for `for`, then firing, then resolved', async (t) => {
  const s = new AlertSeries(null);
  const forMs = 2000;
  t.equal(s.step(false, 0, forMs, 0), null, 'inactive stays inactive');
  t.equal(s.step(true, 500, forMs, 0), 'inactive', 'condition → pending');
  t.equal(s.state, 'pending');
  t.equal(s.activeAt, 500);
  t.equal(s.step(true, 2000, forMs, 0), null, '1.5 s in: still pending');
  t.equal(s.step(true, 2500, forMs, 0), 'pending', '`for` elapsed at 2.5 s → firing');
  t.equal(s.state, 'firing');
  t.equal(s.firedAt, 2500);
  t.equal(s.step(true, 3000, forMs, 0), null, 'stays firing');
  t.equal(s.step(false, 3500, forMs, 0), 'firing', 'condition gone → resolved');
  t.equal(s.state, 'resolved');
  t.equal(s.resolvedAt, 3500);
  t.equal(s.step(false, 4000, forMs, 0), null, 'resolved stays resolved');
  t.equal(s.step(true, 4500, forMs, 0), 'resolved', 'again → pending, a new episode');
  t.equal(s.activeAt, 4500);
  t.equal(s.resolvedAt, 0);
});

t.test('AlertSeries: a pending alert that clears goes back to inactive, never fired', async (t) => {
  const s = new AlertSeries('ach');
  s.step(true, 0, 5000, 0);
  t.equal(s.step(false, 500, 5000, 0), 'pending');
  t.equal(s.state, 'inactive');
  t.equal(s.firedAt, 0);
  t.equal(s.resolvedAt, 0, 'no resolution: it never fired');
});

t.test('AlertSeries: for 0 fires in the first evaluation', async (t) => {
  const s = new AlertSeries(null);
  t.equal(s.step(true, 1000, 0, 0), 'inactive');
  t.equal(s.state, 'firing');
  t.equal(s.activeAt, 1000);
  t.equal(s.firedAt, 1000);
});

t.test('AlertSeries: keepFiringFor holds a firing alert after the condition clears', async (t) => {
  const s = new AlertSeries(null);
  const keep = 1500;
  s.step(true, 0, 0, keep);
  t.equal(s.state, 'firing');
  t.equal(s.step(false, 500, 0, keep), null, 'condition gone at 0.5 s: keeps firing');
  t.equal(s.step(false, 1500, 0, keep), null, '1 s of the 1.5 s: still firing');
  t.equal(s.step(true, 2000, 0, keep), null, 'condition back: firing, the hold restarts');
  t.equal(s.keepFiringSince, 0);
  t.equal(s.step(false, 2500, 0, keep), null);
  t.equal(s.step(false, 3500, 0, keep), null, '1 s into the new hold');
  t.equal(s.step(false, 4000, 0, keep), 'firing', '1.5 s after it cleared → resolved');
  t.equal(s.resolvedAt, 4000);
});

t.test('evaluator: threshold with for, one event per change, in evaluation order', async (t) => {
  const r = reader();
  const ev = new RuleEvaluator(r);
  ev.set(rule({ alert: 'Busy', metric: 'inFlight', op: '>', threshold: 10, for: '1s' }));
  const slot = r.slots.slot('inFlight', null, ALL);
  const run = (v: number, ts: number) => {
    r.values[slot] = v;
    return ev.evaluate(ts).map((e) => `${e.previous}→${e.state}`);
  };
  t.same(run(5, 0), []);
  t.same(run(11, TICK), ['inactive→pending']);
  t.same(run(12, 2 * TICK), []);
  t.same(run(13, 3 * TICK), ['pending→firing'], 'fires in the first tick where 1 s has passed');
  t.same(run(10, 4 * TICK), ['firing→resolved'], '10 is not > 10');
  const status = ev.status()[0]!;
  t.equal(status.series[0]!.state, 'resolved');
  t.equal(status.series[0]!.value, 10, 'the last value is kept');
});

t.test('evaluator: `for` counts evaluations, whatever the timer jitter of the ticks', async (t) => {
  // Ticks from a timer: four intervals of 500 ms can add up to 1,999 ms.
  const jittered = [0, 499, 998, 1497, 1996, 2495];
  for (const [forText, firesAt] of [
    ['2s', 4],
    ['100ms', 1],
    ['0s', 0],
  ] as const) {
    const r = reader();
    const ev = new RuleEvaluator(r, TICK);
    ev.set(rule({ alert: 'Busy', metric: 'inFlight', op: '>', threshold: 10, for: forText }));
    r.values[r.slots.slot('inFlight', null, ALL)] = 11;
    const fired = jittered.findIndex((ts) => ev.evaluate(ts).some((e) => e.state === 'firing'));
    t.equal(fired, firesAt, `for ${forText}: fires at evaluation ${firesAt} after the condition`);
  }
  // keepFiringFor likewise: cleared at 499, still firing at 998, resolved at 1497 (1 s on).
  const r = reader();
  const ev = new RuleEvaluator(r, TICK);
  ev.set(rule({ alert: 'Busy', metric: 'inFlight', op: '>', threshold: 10, keepFiringFor: '1s' }));
  const slot = r.slots.slot('inFlight', null, ALL);
  r.values[slot] = 11;
  ev.evaluate(0);
  r.values[slot] = 0;
  const states = [499, 998, 1497].map((ts) =>
    ev
      .evaluate(ts)
      .map((e) => e.state)
      .join(),
  );
  t.same(states, ['', '', 'resolved'], 'firing until 1 s after it cleared, resolved then');
});

t.test('evaluator: per source, each source its own alert with a source label', async (t) => {
  const r = reader();
  const ev = new RuleEvaluator(r);
  ev.set(
    rule({
      alert: 'SourceFailing',
      metric: 'failureRate',
      window: '1m',
      source: '*',
      op: '>',
      threshold: 0.05,
      minCount: 10,
      annotations: { summary: '{{ $labels.source }} at {{ $value }}' },
    }),
  );
  const set = (m: 'failureRate' | 'count', src: number, v: number) => {
    r.values[r.slots.slot(m, '1m', src)] = v;
  };
  set('failureRate', 0, 0.5);
  set('count', 0, 4);
  set('failureRate', 1, 0.2);
  set('count', 1, 100);
  const events = ev.evaluate(0);
  t.equal(events.length, 1, 'card-pos has too few transactions (minCount 10)');
  t.match(events[0], {
    rule: 'SourceFailing',
    source: 'ach',
    state: 'firing',
    value: 0.2,
    labels: { alertname: 'SourceFailing', severity: 'warning', source: 'ach' },
    annotations: { summary: 'ach at 0.2' },
  });
  set('count', 0, 10);
  t.same(
    ev.evaluate(TICK).map((e) => e.source),
    ['card-pos'],
    'card-pos fires once it has enough',
  );
});

t.test('evaluator: change against a baseline window, and absence', async (t) => {
  const r = reader();
  const ev = new RuleEvaluator(r);
  ev.set(
    rule({
      alert: 'Drop',
      kind: 'change',
      metric: 'tps',
      window: '1m',
      baseline: '5m',
      op: '<',
      ratio: 0.5,
    }),
  );
  ev.set(rule({ alert: 'AchSilent', kind: 'absence', source: 'ach', absentFor: '60s' }));
  const tps1m = r.slots.slot('tps', '1m', ALL);
  const tps5m = r.slots.slot('tps', '5m', ALL);
  const silent = r.slots.slot('secondsSinceLast', null, 1);
  r.values[tps1m] = 0;
  r.values[tps5m] = 0;
  r.values[silent] = 59;
  t.same(ev.evaluate(0), [], 'no baseline: no ratio, no alert; 59 s of silence is not 60');
  r.values[tps1m] = 40;
  r.values[tps5m] = 100;
  r.values[silent] = 60;
  const fired = ev.evaluate(TICK);
  t.same(
    fired.map((e) => [e.rule, e.state, e.value]),
    [
      ['Drop', 'firing', 0.4],
      ['AchSilent', 'firing', 60],
    ],
  );
  t.equal(fired[1]!.source, 'ach');
});

t.test(
  'evaluator: replacing or deleting a rule ends its alerts in the next evaluation',
  async (t) => {
    const r = reader();
    const ev = new RuleEvaluator(r);
    const busy = { alert: 'Busy', metric: 'inFlight', op: '>', threshold: 0 };
    ev.set(rule(busy));
    r.values[r.slots.slot('inFlight', null, ALL)] = 5;
    t.equal(ev.evaluate(0)[0]!.state, 'firing');
    ev.set(rule({ ...busy, for: '10s' }), 100);
    const after = ev.evaluate(TICK).map((e) => `${e.previous}→${e.state}`);
    t.same(
      after,
      ['firing→resolved', 'inactive→pending'],
      'the old alert resolves, the new rule starts',
    );
    t.ok(ev.remove('Busy', 600));
    t.same(
      ev.evaluate(2 * TICK).map((e) => `${e.previous}→${e.state}`),
      ['pending→inactive'],
    );
    t.equal(ev.size, 0);
  },
);

t.test(
  'evaluator: "*" follows sources that appear later; a named new source is tracked',
  async (t) => {
    // The slots of a real source registry (source-registry.ts), as SnapshotMetricReader reads them.
    const registry = SourceRegistry.create(8, SOURCES);
    const slots = new MetricSlots(registry.names(), SOURCE_SLOTS);
    const r: MetricReader = {
      get sources() {
        return registry.names();
      },
      slotOf: (name) => registry.slotOf(name),
      values: slots.values,
      slot: (m, w, s) => slots.slot(m, w, s),
    };
    const ev = new RuleEvaluator(r);
    ev.set(
      rule({ alert: 'Every', metric: 'count', window: '1m', op: '>', threshold: 5, source: '*' }),
    );
    ev.set(
      rule({
        alert: 'Shop',
        metric: 'count',
        window: '1m',
        op: '>',
        threshold: 5,
        source: 'shop-web',
      }),
    );
    t.equal(registry.find('shop-web'), 2, 'a rule naming a new source tracks it');
    const count = (name: string, v: number) => {
      slots.values[slots.slot('count', '1m', registry.find(name))] = v;
    };
    count('ach', 9);
    count('shop-web', 9);
    t.same(
      ev.evaluate(0).map((e) => `${e.rule}/${e.source}:${e.state}`),
      ['Every/ach:firing', 'Every/shop-web:firing', 'Shop/shop-web:firing'],
      'the "*" rule has a series for shop-web (tracked when Shop was set)',
    );
    // A producer's new name appears between ticks: the "*" rule gets its series; ach keeps its state.
    registry.slotOf('pos-2');
    count('pos-2', 7);
    t.same(
      ev.evaluate(TICK).map((e) => `${e.rule}/${e.source}:${e.state}`),
      ['Every/pos-2:firing'],
      'only the new source changes state',
    );
    const every = ev.status().find((s) => s.rule.alert === 'Every')!;
    t.same(
      every.series.map((s) => s.source),
      ['card-pos', 'ach', 'shop-web', 'pos-2'],
    );
  },
);
