/**
 * Renders of panels nobody can see, taken out of the update frame.
 *
 * The live feed rewrites every visible row on every tick (new transactions push the others
 * down), and on a 1440×900 screen it sits below the fold: the trace of an update with an
 * hour in every chart showed that list's re-render as the largest single piece of the
 * frame after the charts (profiles/README.md, "Dashboard updates with 3,600 points"). So
 * while a panel is outside the viewport its render waits for idle time (at most `maxWaitMs`,
 * so its DOM stays current for whoever reads it, tests included), and the moment it scrolls
 * into view it renders in the next frame like any other.
 *
 *   update frame:  charts · KPIs · visible lists            (measured, see render-stats.ts)
 *   idle time:     offscreen lists, newest data only, once  (coalesced: one render per idle)
 *   scrolls in:    `visible(el)` → the page marks it dirty → next frame
 */
export class OffscreenRenders {
  private readonly hidden = new Set<Element>();
  private readonly pending = new Map<Element, () => void>();
  private scheduled = false;
  private readonly observer: IntersectionObserver | null;

  /** `onVisible` runs when an element with a deferred render comes into view. */
  constructor(
    private readonly onVisible: (el: Element) => void,
    private readonly maxWaitMs = 500,
  ) {
    this.observer =
      typeof IntersectionObserver === 'undefined'
        ? null
        : new IntersectionObserver((entries) => {
            for (const e of entries) {
              if (e.isIntersecting) {
                this.hidden.delete(e.target);
                if (this.pending.delete(e.target)) this.onVisible(e.target);
              } else this.hidden.add(e.target);
            }
          });
  }

  observe(el: Element): void {
    this.observer?.observe(el);
  }

  /** True when `el` is known to be outside the viewport (unknown counts as visible). */
  isHidden(el: Element): boolean {
    return this.hidden.has(el);
  }

  /** Runs `render` in idle time (the latest one per element wins), or when `el` shows. */
  defer(el: Element, render: () => void): void {
    this.pending.set(el, render);
    if (this.scheduled) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      const els = [...this.pending.keys()];
      const renders = [...this.pending.values()];
      this.pending.clear();
      for (const r of renders) r();
      // The render itself is here, but Chromium lays its rows out only when the next frame
      // (an update) does: ~200 dirty layout objects for the feed, 1.8–4 ms of that frame in
      // the trace. Asking for a box once the render is done lays them out now, in idle time.
      void Promise.all(els.map(rendered)).then(() => els[0]?.getBoundingClientRect());
    };
    if (typeof requestIdleCallback === 'function')
      requestIdleCallback(run, { timeout: this.maxWaitMs });
    else setTimeout(run, 50);
  }
}

/** Resolves when a Lit element's pending render is done (at once for any other element). */
function rendered(el: Element): Promise<unknown> {
  return (
    (el as Element & { updateComplete?: Promise<unknown> }).updateComplete ?? Promise.resolve()
  );
}
