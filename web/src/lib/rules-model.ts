/**
 * The page's view of the alert rules: each rule with the state of its series (from
 * GET /api/rules, polled), the recent state changes (GET /api/alerts, then the `alerts`
 * topic's rule frames as they arrive), and from those the episodes the charts mark: when
 * an alert fired and when it resolved.
 *
 * A rule frame updates the states at once (the banner appears in the tick the alert fires);
 * the poll brings the last values and any rule changed by someone else.
 */
import type { RuleEvent, RuleStatus, RulesResponse } from '../types.js';

const MAX_EVENTS = 300;

export interface Episode {
  rule: string;
  source: string | null;
  severity: string;
  /** Epoch ms it fired. */
  start: number;
  /** Epoch ms it resolved; null while firing. */
  end: number | null;
}

export interface FiringAlert {
  rule: string;
  source: string | null;
  severity: string;
  value: number | null;
  threshold: number;
  expr: string;
  since: number | null;
  summary: string | null;
}

const key = (rule: string, source: string | null) => `${rule}\u0000${source ?? ''}`;

export class RulesModel {
  rules: RuleStatus[] = [];
  sources: string[] = [];
  /** Newest first. */
  events: RuleEvent[] = [];
  /** Bumped on every change, so components re-render. */
  version = 0;
  private readonly summaries = new Map<string, string>();

  setStatus(r: RulesResponse): void {
    this.rules = r.rules;
    this.sources = r.sources;
    this.version++;
  }

  /** The state changes of a tick (or of a history read), in order. */
  apply(events: readonly RuleEvent[], live = true): void {
    for (const e of events) {
      if (e.annotations.summary) this.summaries.set(key(e.rule, e.source), e.annotations.summary);
      if (!live) continue;
      const rule = this.rules.find((r) => r.rule.alert === e.rule);
      const series = rule?.series.find((s) => s.source === e.source);
      if (series) {
        series.state = e.state;
        series.value = e.value;
        series.activeAt = e.activeAt;
        if (e.state === 'firing') series.firedAt = e.ts;
        if (e.state === 'resolved') series.resolvedAt = e.ts;
      }
    }
    const known = new Set(this.events.map((e) => `${key(e.rule, e.source)}@${e.ts}:${e.state}`));
    const fresh = events.filter((e) => !known.has(`${key(e.rule, e.source)}@${e.ts}:${e.state}`));
    this.events = [...fresh.slice().reverse(), ...this.events]
      .sort((a, b) => b.ts - a.ts)
      .slice(0, MAX_EVENTS);
    this.version++;
  }

  firing(): FiringAlert[] {
    const out: FiringAlert[] = [];
    for (const r of this.rules) {
      for (const s of r.series) {
        if (s.state !== 'firing') continue;
        out.push({
          rule: r.rule.alert,
          source: s.source,
          severity: r.rule.severity,
          value: s.value,
          threshold: r.threshold,
          expr: r.expr,
          since: s.firedAt,
          summary: this.summaries.get(key(r.rule.alert, s.source)) ?? null,
        });
      }
    }
    const rank = { critical: 0, warning: 1, info: 2 } as Record<string, number>;
    return out.sort((a, b) => (rank[a.severity] ?? 3) - (rank[b.severity] ?? 3));
  }

  /** Fired → resolved spans, oldest first; a series firing now has an open one. */
  episodes(): Episode[] {
    const open = new Map<string, Episode>();
    const out: Episode[] = [];
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i]!;
      const k = key(e.rule, e.source);
      if (e.state === 'firing') {
        const ep: Episode = {
          rule: e.rule,
          source: e.source,
          severity: e.severity,
          start: e.ts,
          end: null,
        };
        open.set(k, ep);
        out.push(ep);
      } else if (e.state === 'resolved') {
        const ep = open.get(k);
        if (ep) ep.end = e.ts;
        open.delete(k);
      }
    }
    // Firing before the events we hold (a page opened mid-episode): from the rule's state.
    for (const r of this.rules) {
      for (const s of r.series) {
        const k = key(r.rule.alert, s.source);
        if (s.state === 'firing' && s.firedAt !== null && !open.has(k)) {
          out.push({
            rule: r.rule.alert,
            source: s.source,
            severity: r.rule.severity,
            start: s.firedAt,
            end: null,
          });
        }
      }
    }
    return out.sort((a, b) => a.start - b.start);
  }
}
