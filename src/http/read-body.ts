import { jsonSyntaxWhere, PulseboardError } from '../errors.js';
import type { Tracked } from './respond.js';

/**
 * Reads a request body up to `limit` bytes. uWS hands chunks as ArrayBuffers that are
 * neutered after the callback, so each one is copied. Over the limit we stop buffering at
 * once and reject with PB_ERR_HTTP_BODY_TOO_LARGE (the caller answers 413 and the
 * connection is closed by uWS after the response). `admit`, when given, sees every chunk's
 * size before it is kept and may refuse it with an error (a memory budget counted as the
 * body arrives). If the client goes away, the promise rejects with PB_ERR_HTTP_ABORTED, so
 * the caller's cleanup runs.
 */
export function readBody(
  t: Tracked,
  limit: number,
  admit?: (bytes: number) => PulseboardError | null,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    t.onAbort = () => {
      failed = true;
      reject(new PulseboardError('PB_ERR_HTTP_ABORTED', 'the client went away'));
    };
    t.res.onData((chunk, isLast) => {
      if (failed) return;
      size += chunk.byteLength;
      if (size > limit) {
        failed = true;
        reject(
          new PulseboardError('PB_ERR_HTTP_BODY_TOO_LARGE', `request body exceeds ${limit} bytes`),
        );
        return;
      }
      const refused = admit?.(chunk.byteLength) ?? null;
      if (refused) {
        failed = true;
        reject(refused);
        return;
      }
      chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
  });
}

/** Reads and parses a JSON body (empty body → `{}`). */
export async function readJson(t: Tracked, limit: number): Promise<unknown> {
  const body = await readBody(t, limit);
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new PulseboardError(
      'PB_ERR_HTTP_BAD_JSON',
      `request body is not valid JSON${jsonSyntaxWhere(err)}`,
    );
  }
}
