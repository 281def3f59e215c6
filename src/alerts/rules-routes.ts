import type { HttpRequest, TemplatedApp } from 'uWebSockets.js';
import { PulseboardError } from '../errors.js';
import { methodNotAllowed } from '../http/api-routes.js';
import { readJson } from '../http/read-body.js';
import { sendError, sendJson, type Tracked, track } from '../http/respond.js';
import type { SourceRegistry } from '../shared/source-registry.js';
import { ALERT_STATES, type AlertStateName } from './alert-state.js';
import type { Alerting } from './alerting.js';
import { type AlertRule, describeProblem, validateRule } from './rule-schema.js';

/**
 * The rules API (admin token for changes, read token for reads; src/http/auth.ts):
 *
 *   GET    /api/rules               every rule with the state of each of its series
 *   GET    /api/rules/:alert        one rule
 *   POST   /api/rules               create (409 if the name exists)
 *   PUT    /api/rules/:alert        create or replace (the body's `alert`, if any, must match)
 *   DELETE /api/rules/:alert        delete (its alerts resolve)
 *   GET    /api/alerts?state=firing,resolved&from=&to=&rule=&limit=
 *                                   state changes, newest first
 *
 * Bodies are validated by rule-schema.ts, exactly as the rules file is: a refused rule is
 * 400 PB_ERR_RULES_INVALID with `rule`, `field` (the first problem) and `problems` (all).
 */

const BODY_LIMIT = 64 * 1024;
const DEFAULT_LIMIT = 200;
const MAX_LIMIT = 1000;
const MAX_MS = 8_640_000_000_000;

function requireJson(req: HttpRequest): void {
  const type = req.getHeader('content-type');
  if (type !== '' && !type.toLowerCase().startsWith('application/json')) {
    throw new PulseboardError(
      'PB_ERR_HTTP_CONTENT_TYPE',
      `content-type must be application/json (got ${type})`,
    );
  }
}

export function validateBody(body: unknown, sources: readonly string[]): AlertRule {
  const v = validateRule(body, { sources });
  if (v.ok) return v.rule;
  const first = v.problems[0]!;
  throw new PulseboardError('PB_ERR_RULES_INVALID', v.problems.map(describeProblem).join('; '), {
    rule: first.rule,
    field: first.field,
    problems: v.problems,
  });
}

/** The `:alert` path segment; a malformed %-escape is a name no rule has, not a crash. */
function pathName(req: HttpRequest): string {
  const raw = req.getParameter(0) ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function notFound(name: string): PulseboardError {
  return new PulseboardError('PB_ERR_RULES_NOT_FOUND', `no rule named ${JSON.stringify(name)}`);
}

function bad(message: string, field: string): PulseboardError {
  return new PulseboardError('PB_ERR_HTTP_BAD_QUERY', message, { field });
}

/** `from`/`to`: epoch ms or an ISO 8601 date. */
function timeParam(raw: string | undefined, field: string, dflt: number): number {
  if (raw === undefined || raw === '') return dflt;
  const n = /^\d{1,16}$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(n) || n < 0 || n > MAX_MS)
    throw bad(`${field} must be epoch milliseconds or an ISO 8601 date`, field);
  return n;
}

export function registerRulesRoutes(
  app: TemplatedApp,
  alerting: Alerting,
  sources: SourceRegistry,
): void {
  const ruleJson = (name: string) => {
    const s = alerting.evaluator.status().find((x) => x.rule.alert === name);
    return s ? JSON.stringify(s) : null;
  };

  app.get('/api/rules', (res) => {
    // `sources`: the tracked sources, which the dashboard's form offers (any valid name is
    // accepted: a rule on a source not seen yet tracks it).
    sendJson(
      track(res),
      200,
      JSON.stringify({ rules: alerting.evaluator.status(), sources: sources.names() }),
    );
  });

  app.post('/api/rules', async (res, req) => {
    const t = track(res);
    try {
      requireJson(req);
      const rule = validateBody(await readJson(t, BODY_LIMIT), sources.names());
      if (alerting.evaluator.get(rule.alert)) {
        throw new PulseboardError(
          'PB_ERR_RULES_EXISTS',
          `a rule named ${JSON.stringify(rule.alert)} exists; PUT /api/rules/${rule.alert} replaces it`,
          { rule: rule.alert, field: 'alert' },
        );
      }
      await alerting.put(rule);
      sendJson(t, 201, ruleJson(rule.alert)!, { location: `/api/rules/${rule.alert}` });
    } catch (err) {
      sendError(t, err);
    }
  });
  methodNotAllowed(app, '/api/rules', 'GET, POST');

  app.get('/api/rules/:alert', (res, req) => {
    const t = track(res);
    const name = pathName(req);
    const json = ruleJson(name);
    if (json === null) sendError(t, notFound(name));
    else sendJson(t, 200, json);
  });

  app.put('/api/rules/:alert', async (res, req) => {
    const t = track(res);
    try {
      const name = pathName(req);
      requireJson(req);
      const body = await readJson(t, BODY_LIMIT);
      const withName =
        typeof body === 'object' && body !== null && !Array.isArray(body)
          ? { alert: name, ...(body as Record<string, unknown>) }
          : body;
      const rule = validateBody(withName, sources.names());
      if (rule.alert !== name) {
        throw new PulseboardError(
          'PB_ERR_RULES_INVALID',
          `rule ${JSON.stringify(rule.alert)}: field "alert" must match the path (${name}); rename by DELETE and POST`,
          { rule: rule.alert, field: 'alert' },
        );
      }
      const existed = alerting.evaluator.get(name) !== undefined;
      await alerting.put(rule);
      sendJson(t, existed ? 200 : 201, ruleJson(name)!);
    } catch (err) {
      sendError(t, err);
    }
  });

  app.del('/api/rules/:alert', async (res, req) => {
    const t = track(res);
    try {
      const name = pathName(req);
      if (!(await alerting.remove(name))) throw notFound(name);
      sendJson(t, 200, JSON.stringify({ deleted: name }));
    } catch (err) {
      sendError(t, err);
    }
  });
  methodNotAllowed(app, '/api/rules/:alert', 'GET, PUT, DELETE');

  app.get('/api/alerts', async (res, req) => {
    const t = track(res);
    try {
      const now = Date.now();
      const stateRaw = req.getQuery('state') ?? '';
      const states = stateRaw === '' ? null : stateRaw.split(',');
      if (states?.some((s) => !(ALERT_STATES as readonly string[]).includes(s)))
        throw bad(`state must be a comma-separated list of ${ALERT_STATES.join(', ')}`, 'state');
      const from = timeParam(req.getQuery('from'), 'from', 0);
      const to = timeParam(req.getQuery('to'), 'to', now);
      if (from > to) throw bad('from must not be after to', 'from');
      const limitRaw = req.getQuery('limit') ?? '';
      const limit = limitRaw === '' ? DEFAULT_LIMIT : Number(limitRaw);
      if (!/^\d+$/.test(limitRaw || '0') || limit < 1 || limit > MAX_LIMIT)
        throw bad(`limit must be a whole number from 1 to ${MAX_LIMIT}`, 'limit');
      const rule = req.getQuery('rule') || null;
      const items = await alerting.events.query({
        states: states as AlertStateName[] | null,
        rule,
        from,
        to,
        limit,
      });
      sendJson(t, 200, JSON.stringify({ from, to, items }));
    } catch (err) {
      sendErrorOr503(t, err);
    }
  });
  methodNotAllowed(app, '/api/alerts', 'GET');
}

function sendErrorOr503(t: Tracked, err: unknown): void {
  if (err instanceof PulseboardError) sendError(t, err);
  else {
    sendError(
      t,
      new PulseboardError(
        'PB_ERR_DB_UNAVAILABLE',
        `could not read alert events: ${(err as Error).message}`,
      ),
      { 'retry-after': '1' },
    );
  }
}
