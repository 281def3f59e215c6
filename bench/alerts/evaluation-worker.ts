import { parentPort, workerData } from 'node:worker_threads';
import { MetricSlots } from '../../src/alerts/metric-reader.js';
import { RuleEvaluator } from '../../src/alerts/rule-evaluator.js';
import { benchRules } from './rule-set.js';

/**
 * The worker side of the primary-vs-worker measurement (rule-evaluation.ts): the same
 * rules, evaluated on values the primary posts every tick; the state changes go back.
 */
const { rules, sources, sourceSlots } = workerData as {
  rules: number;
  sources: string[];
  sourceSlots: number;
};
const slots = new MetricSlots(sources, sourceSlots);
const evaluator = new RuleEvaluator({
  sources,
  slotOf: (name) => sources.indexOf(name),
  values: slots.values,
  slot: (m, w, s) => slots.slot(m, w, s),
});
for (const r of benchRules(rules, sources)) evaluator.set(r);
parentPort!.on('message', (m: { values: Float64Array; ts: number }) => {
  slots.values.set(m.values);
  parentPort!.postMessage(evaluator.evaluate(m.ts));
});
