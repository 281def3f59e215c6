import type { JsMsg } from 'nats';

/**
 * A JetStream message's ack subject (its reply): the door acks to it (ack-batch.ts) and
 * reads from it how many times JetStream has delivered the message. nats.js has
 * `JsMsg.redelivered`, but it splits the whole subject into an info object on first use (parseInfo: ~1.3 µs and an array per message, 4 % of the ingest thread at one
 * transaction per message); the door needs this one number of every message. The layouts
 * are the ones parseInfo reads:
 *
 *   $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>             (9 tokens)
 *   $JS.ACK.<domain>.<hash>.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>[.<random>]
 *
 * Names cannot contain dots, so tokens are found by counting them. NaN for a subject of
 * neither layout (not a JetStream delivery).
 */
export function deliveryCount(reply: string): number {
  let dots = 0;
  for (let i = reply.indexOf('.'); i !== -1; i = reply.indexOf('.', i + 1)) dots++;
  if (!reply.startsWith('$JS.ACK.') || (dots !== 8 && dots !== 10 && dots !== 11))
    return Number.NaN;
  const token = dots === 8 ? 4 : 6;
  let start = 0;
  for (let t = 0; t < token; t++) start = reply.indexOf('.', start) + 1;
  return Number(reply.slice(start, reply.indexOf('.', start)));
}

/** The ack subject nats.js keeps on the message (JsMsgImpl.reply, not in its public type). */
export function replyOf(m: JsMsg): string | undefined {
  const reply = (m as unknown as { reply?: unknown }).reply;
  return typeof reply === 'string' && reply !== '' ? reply : undefined;
}

/**
 * m.redelivered, from the ack subject; nats.js's own parse when that is ever missing or of
 * another layout.
 */
export function isRedelivery(m: JsMsg): boolean {
  const reply = replyOf(m);
  const n = reply === undefined ? Number.NaN : deliveryCount(reply);
  return Number.isNaN(n) ? m.redelivered : n > 1;
}
