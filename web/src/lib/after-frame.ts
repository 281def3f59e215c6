/**
 * Runs a callback in the first task after the current frame has rendered.
 *
 * An update's script (rAF callback, Lit's microtasks, uPlot's drawing calls) is only part
 * of what the user waits for: Chromium then recalculates style, lays out, paints and
 * commits in the same task, and a 2D canvas's recorded drawing is rasterised in that
 * commit (the trace of an update with an hour in every chart showed ~10 ms of Commit after
 * 3–5 ms of script). A message posted from inside the frame is a new task, so it runs only
 * once all of that is done. It is not always the first task after the frame: tasks queued
 * earlier at the same priority run before it (the live model's WebSocket messages, IPC),
 * and on a busy machine the frame's wall time includes waiting for a core, so a frame that
 * changes one text node reads up to ~9 ms at p95 on the bench (profiles/README.md, "What
 * the page's timer can report at best").
 */
const channel = typeof MessageChannel === 'undefined' ? null : new MessageChannel();
const queue: (() => void)[] = [];

if (channel) {
  channel.port1.onmessage = () => {
    const run = queue.splice(0);
    for (const fn of run) fn();
  };
}

export function afterFrame(fn: () => void): void {
  if (!channel) throw new Error('afterFrame needs MessageChannel');
  queue.push(fn);
  if (queue.length === 1) channel.port2.postMessage(null);
}
