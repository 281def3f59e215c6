/**
 * The environment our worker threads start with: the process's, minus NODE_OPTIONS.
 * NODE_OPTIONS preloads (`-r`) run again in every worker thread — clinic's sampler, APM
 * agents — and a main-thread profiler loaded four times writes four streams into one file
 * (clinic doctor then fails with "Decoded message is not valid"). Our workers run only
 * our own compiled scripts and need none of it. execArgv (e.g. --cpu-prof) still applies.
 */
export function workerEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}
