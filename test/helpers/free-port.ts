import { createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (for servers that must be told their
 * port: a private mariadbd, HAProxy, Alertmanager, a restart on the same port). Another
 * process may take it before the caller binds it; the callers retry or fail loudly.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
