import mysql from 'mysql2/promise';
import { connectionOptions, type DbConfig } from '../db/db-config.js';
import { PulseboardError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { type AlertRule, describeProblem, type RuleContext, validateRule } from './rule-schema.js';
import type { RulesFile } from './rules-file.js';

/**
 * Where rules live. Without persistence: in memory, loaded from RULES_FILE at start (API
 * changes last until the process ends). With persistence: in MySQL (`alert_rules`), so API
 * changes survive a restart, and the file is the seed:
 *
 *   start, file unchanged since it was last applied   → the database's rules, as they are
 *   start, file new or changed (its SHA-256 differs)  → each rule of the file is written
 *        (created, or replacing the rule of that name); rules only the API made stay
 *
 * So an edit through the API is not undone by a restart, and an edit of the file is not
 * ignored. Stored rules are validated again on load: one that no longer passes (its source
 * was removed from SOURCES, say) is skipped with a warning and stays in the table.
 */
export class RulesStore {
  private readonly pool: mysql.Pool | null;

  constructor(
    db: DbConfig | null,
    private readonly log: Logger,
  ) {
    this.pool = db ? mysql.createPool({ ...connectionOptions(db), connectionLimit: 2 }) : null;
  }

  get persistent(): boolean {
    return this.pool !== null;
  }

  async load(file: RulesFile | null, ctx: RuleContext): Promise<AlertRule[]> {
    if (!this.pool) return file?.rules ?? [];
    if (file) {
      const [seed] = await this.pool.query('SELECT file_sha256 FROM alert_rules_seed WHERE id = 1');
      const applied = (seed as { file_sha256: string }[])[0]?.file_sha256;
      if (applied !== file.sha256) {
        for (const rule of file.rules) await this.save(rule, 'file');
        await this.pool.query(
          `INSERT INTO alert_rules_seed (id, file_sha256, seeded_ms) VALUES (1, ?, ?)
             ON DUPLICATE KEY UPDATE file_sha256 = VALUES(file_sha256), seeded_ms = VALUES(seeded_ms)`,
          [file.sha256, Date.now()],
        );
        this.log.info(
          { file: file.path, rules: file.rules.length },
          'rules file applied to the database',
        );
      }
    }
    const [rows] = await this.pool.query('SELECT name, definition FROM alert_rules ORDER BY name');
    const rules: AlertRule[] = [];
    for (const row of rows as { name: string; definition: string }[]) {
      let v: ReturnType<typeof validateRule>;
      try {
        v = validateRule(JSON.parse(row.definition), ctx);
      } catch {
        v = { ok: false, problems: [{ rule: row.name, field: '(rule)', message: 'is not JSON' }] };
      }
      if (v.ok) rules.push(v.rule);
      else {
        this.log.warn(
          { rule: row.name, problems: v.problems.map(describeProblem) },
          'a stored rule is no longer valid here; skipped (it stays in alert_rules)',
        );
      }
    }
    return rules;
  }

  async save(rule: AlertRule, origin: 'file' | 'api'): Promise<void> {
    if (!this.pool) return;
    await this.guard(() =>
      this.pool!.query(
        `INSERT INTO alert_rules (name, definition, origin, updated_ms) VALUES (?, ?, ?, ?)
           ON DUPLICATE KEY UPDATE definition = VALUES(definition), origin = VALUES(origin),
             updated_ms = VALUES(updated_ms)`,
        [rule.alert, JSON.stringify(rule), origin, Date.now()],
      ),
    );
  }

  async remove(name: string): Promise<void> {
    if (!this.pool) return;
    await this.guard(() => this.pool!.query('DELETE FROM alert_rules WHERE name = ?', [name]));
  }

  /** A database error becomes a 503 for the API (the rule is not changed in memory either). */
  private async guard(fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      throw new PulseboardError(
        'PB_ERR_DB_UNAVAILABLE',
        `could not store the rule: ${(err as Error).message}`,
      );
    }
  }

  async close(): Promise<void> {
    await this.pool?.end().catch(() => undefined);
  }
}
