import type { TemplatedApp } from 'uWebSockets.js';
import { parseScenarioBody, type ScenarioBody } from '../scenario/scenario-body.js';
import type { ScenarioStatus } from '../scenario/scenario-runner.js';
import { methodNotAllowed } from './api-routes.js';
import { readJson } from './read-body.js';
import { sendError, sendJson, track } from './respond.js';

/**
 * The simulator's control API: scenarios, stop, reset. Registered on the guarded app, which
 * has already checked the Host, the Origin, ADMIN_TOKEN and the JSON content type (so a
 * plain HTML form or a no-cors fetch from another site cannot reach these handlers).
 */

const CONTROL_BODY_LIMIT = 64 * 1024;

/** The scenario runner, or in cluster mode the command that reaches every node. */
export interface ScenarioControl {
  start(body: ScenarioBody): ScenarioStatus | Promise<ScenarioStatus>;
  stop(): ScenarioStatus | Promise<ScenarioStatus>;
  status(): ScenarioStatus;
}

export function registerLoadTestRoutes(
  app: TemplatedApp,
  runner: ScenarioControl,
  sourceNames: readonly string[],
  reset: () => Promise<void>,
): void {
  app.post('/api/load-test', async (res) => {
    const t = track(res);
    try {
      const body = parseScenarioBody(await readJson(t, CONTROL_BODY_LIMIT), sourceNames);
      sendJson(t, 200, JSON.stringify(await runner.start(body)));
    } catch (err) {
      sendError(t, err);
    }
  });
  app.get('/api/load-test', (res) => {
    sendJson(track(res), 200, JSON.stringify(runner.status()));
  });
  methodNotAllowed(app, '/api/load-test', 'GET, POST');

  app.post('/api/load-test/stop', async (res) => {
    const t = track(res);
    try {
      sendJson(t, 200, JSON.stringify(await runner.stop()));
    } catch (err) {
      sendError(t, err);
    }
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
