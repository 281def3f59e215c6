import type { TemplatedApp } from 'uWebSockets.js';
import { PulseboardError } from '../errors.js';
import { parseScenarioBody } from '../scenario/scenario-body.js';
import type { ScenarioRunner } from '../scenario/scenario-runner.js';
import { methodNotAllowed } from './api-routes.js';
import { readJson } from './read-body.js';
import { sendError, sendJson, track } from './respond.js';

/** The simulator's control API: scenarios, stop, reset. */

const CONTROL_BODY_LIMIT = 64 * 1024;

function requireJson(contentType: string): void {
  if (contentType !== '' && !contentType.toLowerCase().startsWith('application/json')) {
    throw new PulseboardError('PB_ERR_HTTP_CONTENT_TYPE', 'content-type must be application/json');
  }
}

export function registerLoadTestRoutes(
  app: TemplatedApp,
  runner: ScenarioRunner,
  sourceNames: readonly string[],
  reset: () => Promise<void>,
): void {
  app.post('/api/load-test', async (res, req) => {
    const t = track(res);
    try {
      requireJson(req.getHeader('content-type'));
      const body = parseScenarioBody(await readJson(t, CONTROL_BODY_LIMIT), sourceNames);
      sendJson(t, 200, JSON.stringify(runner.start(body)));
    } catch (err) {
      sendError(t, err);
    }
  });
  app.get('/api/load-test', (res) => {
    sendJson(track(res), 200, JSON.stringify(runner.status()));
  });
  methodNotAllowed(app, '/api/load-test', 'GET, POST');

  app.post('/api/load-test/stop', (res) => {
    sendJson(track(res), 200, JSON.stringify(runner.stop()));
  });
  methodNotAllowed(app, '/api/load-test/stop', 'POST');

  app.post('/api/reset', async (res) => {
    const t = track(res);
    try {
      await reset();
      sendJson(t, 200, JSON.stringify({ ok: true, resetAt: Date.now() }));
    } catch (err) {
      sendError(t, err);
    }
  });
  methodNotAllowed(app, '/api/reset', 'POST');
}
