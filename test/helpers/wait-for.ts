/** Polls `fn` until it returns a truthy value or `timeoutMs` passes (then throws `what`). */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function getJson(url: string): Promise<{ status: number; body: any }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.json() };
}

/**
 * Stops the simulator (scenario rate 0) and waits until every in-flight transaction has
 * finished and the writers have committed everything: after this, rows in MySQL can be
 * compared with the completed count.
 */
export async function drainPipeline(url: string, timeoutMs = 40_000): Promise<void> {
  await fetch(`${url}/api/load-test`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tps: 0 }),
  });
  await waitFor(
    'pipeline idle and writers caught up',
    async () => {
      const { body } = await getJson(`${url}/api/metrics`);
      return (
        body.inFlight.pending + body.inFlight.processing === 0 && body.pipeline.writerLag === 0
      );
    },
    timeoutMs,
    200,
  );
}
