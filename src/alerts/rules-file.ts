import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { extname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { PulseboardError } from '../errors.js';
import {
  type AlertRule,
  describeProblem,
  type RuleContext,
  type RuleProblem,
  validateRule,
} from './rule-schema.js';

/**
 * RULES_FILE: YAML (or JSON: `.json`), `rules:` followed by a list of rules
 * (rule-schema.ts), validated at start with the same function as the API. Every problem
 * of every rule is reported at once, each naming its place (`rules[2]`), the rule and
 * the field; the server then stops with exit code 2 (main.ts), like a bad option.
 *
 *   rules:
 *     - alert: HighFailureRate
 *       metric: failureRate
 *       window: 1m
 *       op: ">"
 *       threshold: 0.1
 *       for: 30s
 */

/** The rules file that ships (rules/default.yaml), the default of RULES_FILE. */
export const DEFAULT_RULES_FILE = 'rules/default.yaml';
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface RulesFile {
  path: string;
  rules: AlertRule[];
  /** SHA-256 of the file's bytes: the database re-seeds only when it changes. */
  sha256: string;
}

/** RULES_FILE as given (relative to the working directory), the default from the package. */
export function resolveRulesPath(value: string): string {
  if (value === DEFAULT_RULES_FILE) return resolve(PACKAGE_ROOT, value);
  return isAbsolute(value) ? value : resolve(value);
}

function invalid(path: string, lines: string[]): PulseboardError {
  return new PulseboardError(
    'PB_ERR_RULES_INVALID',
    `invalid rules file ${path}:\n  ${lines.join('\n  ')}`,
    { problems: lines },
  );
}

export function parseRulesText(text: string, path: string, ctx: RuleContext): AlertRule[] {
  let doc: unknown;
  try {
    doc = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const where =
      err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line})` : '';
    throw invalid(path, [
      `not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}${where}: ${(err as Error).message.split('\n')[0]}`,
    ]);
  }
  if (doc === null || doc === undefined) return []; // an empty file: no rules
  const list = Array.isArray(doc) ? doc : (doc as { rules?: unknown }).rules;
  if (!Array.isArray(list)) {
    throw invalid(path, ['expected `rules:` followed by a list of rules']);
  }
  const extra = Array.isArray(doc) ? [] : Object.keys(doc as object).filter((k) => k !== 'rules');
  const lines: string[] = extra.map((k) => `"${k}": unknown top-level key (only \`rules\`)`);
  const rules: AlertRule[] = [];
  const seen = new Set<string>();
  list.forEach((raw, i) => {
    const v = validateRule(raw, ctx);
    const problems: RuleProblem[] = v.ok ? [] : v.problems;
    if (v.ok) {
      if (seen.has(v.rule.alert)) {
        problems.push({
          rule: v.rule.alert,
          field: 'alert',
          message: 'is already the name of an earlier rule',
        });
      } else {
        seen.add(v.rule.alert);
        rules.push(v.rule);
      }
    }
    for (const p of problems) lines.push(`rules[${i}] ${describeProblem(p)}`);
  });
  if (lines.length > 0) throw invalid(path, lines);
  return rules;
}

/** Reads and validates RULES_FILE; throws PB_ERR_RULES_INVALID with every problem. */
export function loadRulesFile(value: string, ctx: RuleContext): RulesFile {
  const path = resolveRulesPath(value);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw invalid(path, [
      `cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    ]);
  }
  const rules = parseRulesText(bytes.toString('utf8'), path, ctx);
  return { path, rules, sha256: createHash('sha256').update(bytes).digest('hex') };
}
