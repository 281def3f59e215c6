#!/usr/bin/env node
import { loadRulesFile, type RulesFile } from './alerts/rules-file.js';
import { helpText } from './config/help-text.js';
import { deprecations, parseOptions } from './config/parse-options.js';
import { PulseboardError } from './errors.js';
import { createLogger } from './log/logger.js';
import { startServer } from './server.js';

/** CLI entry: parse options, start, and shut down cleanly on SIGINT/SIGTERM. */

function wsUrl(httpUrl: string, wsPort: number | null): string {
  const u = new URL(httpUrl);
  u.protocol = 'ws:';
  if (wsPort !== null) u.port = String(wsPort);
  u.pathname = '/ws';
  return u.toString();
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof PulseboardError) {
      process.stderr.write(`pulseboard: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (parsed.help) {
    process.stdout.write(`${helpText()}\n`);
    return;
  }
  const { options } = parsed;
  // The rules file is configuration too: an invalid one stops here, before any thread starts.
  let rulesFile: RulesFile | null = null;
  if (options.rulesFile !== '') {
    try {
      rulesFile = loadRulesFile(options.rulesFile, { sources: options.sources });
    } catch (err) {
      if (err instanceof PulseboardError) {
        process.stderr.write(`pulseboard: ${err.message}\n`);
        process.exit(2);
      }
      throw err;
    }
  }
  const log = createLogger(options);
  for (const warning of deprecations(options)) log.warn(warning);
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(options, log, { rulesFile });
  } catch (err) {
    const e = err as PulseboardError;
    log.fatal({ code: e.code, err: e.message }, `cannot start: ${e.message}`);
    log.flush();
    // 2, like a configuration error: the port or the node id is taken (another instance?),
    // or the test-only fault switch is malformed. Retrying the same start would fail the same way.
    const code =
      e.code === 'PB_ERR_LISTEN_PORT_IN_USE' ||
      e.code === 'PB_ERR_OPTIONS_INVALID' ||
      e.code === 'PB_ERR_CLUSTER_NODE_ID_TAKEN' ||
      e.code === 'PB_ERR_CLUSTER_FULL'
        ? 2
        : 1;
    process.exitCode = code;
    setTimeout(() => process.exit(code), 200).unref();
    return;
  }
  log.info(
    {
      port: server.port,
      url: server.url,
      ...(server.wsPort !== null ? { wsPort: server.wsPort, wsThreads: options.wsThreads } : {}),
      shards: options.shards,
      simTps: options.simTps,
      tickMs: options.tickMs,
    },
    `listening on ${server.url} (dashboard), ws ${wsUrl(server.url, server.wsPort)}`,
  );

  const shutdown = (signal: string) => {
    // SHUTDOWN_TIMEOUT_MS covers draining the rings to the database (server.close).
    const deadline = setTimeout(() => {
      log.error({ signal }, `shutdown took longer than ${options.shutdownTimeoutMs} ms; exiting`);
      process.exit(1);
    }, options.shutdownTimeoutMs);
    deadline.unref();
    server.close(signal).then(
      () => {
        log.flush();
        // Leave by draining the event loop when everything is closed, so exit hooks (the
        // profilers' writers among them) finish; force it after a second if a handle lingers.
        clearTimeout(deadline);
        process.exitCode = 0;
        setTimeout(() => process.exit(0), 1000).unref();
      },
      (err: unknown) => {
        log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  // For supervisors and test harnesses that give us a stdin pipe: when the parent dies
  // (even by SIGKILL) the pipe closes, and we shut down instead of living on as an orphan.
  if (process.env.PB_EXIT_WITH_PARENT === '1') {
    process.stdin.on('end', () => shutdown('parent exited'));
    process.stdin.resume();
  }
}

void main();
