/**
 * One uPlot time chart over the shared SeriesBuffer columns.
 *
 * uPlot keeps references to the column arrays, so a live update is `setData` with the same
 * arrays plus the new x range, in one synchronous `batch` (no extra microtask; the render
 * timer sees the whole draw). Charts in the page share a cursor sync key, so hovering one
 * shows the same second on all. Dragging selects a range (zoom: the page pauses and zooms
 * every chart); double-click returns to live.
 *
 * Alert markers: each time an alert rule fired, a band over the time axis from when it
 * fired (left edge, red) to when it resolved (right edge, green; open while firing). They
 * are a few DOM elements on uPlot's overlay, placed on every refresh, so the canvas draw
 * does not change and the page can be asked which markers it shows.
 */
import { css, html, LitElement, type PropertyValues, type TemplateResult, unsafeCSS } from 'lit';
import uPlot from 'uplot';
import uplotCss from 'uplot/dist/uPlot.min.css?inline';
import { Decimator } from '../lib/decimate.js';
import type { Episode } from '../lib/rules-model.js';
import type { SeriesBuffer, SeriesKey } from '../lib/series-buffer.js';
import { cssVar } from '../lib/theme.js';
import { panelStyles } from './shared-styles.js';

export interface ChartSeriesSpec {
  key: SeriesKey;
  label: string;
  /** CSS custom property holding the stroke colour. */
  color: string;
  /** CSS custom property for an area fill under the line. */
  fill?: string;
}

export interface ChartSpec {
  id: string;
  title: string;
  series: ChartSeriesSpec[];
  /** Formats an axis/legend value. */
  format: (v: number) => string;
}

export const SYNC_KEY = 'pulseboard-time';

export interface ZoomDetail {
  min: number;
  max: number;
}

export class PbTimeChart extends LitElement {
  static override properties = {
    theme: {},
  };

  spec: ChartSpec | null = null;
  buffer: SeriesBuffer | null = null;
  /** Only used to rebuild with the new palette: canvas colours are fixed at creation. */
  theme = '';

  /** Alert episodes to mark (set by the page). */
  markers: Episode[] = [];
  /** Markers placed in the visible range by the last refresh. */
  markerCount = 0;
  private markerEls: HTMLElement[] = [];
  private plot: uPlot | null = null;
  private resize: ResizeObserver | null = null;
  private range: ZoomDetail | null = null;
  private readonly decimator = new Decimator();

  static override styles = [
    unsafeCSS(uplotCss),
    panelStyles,
    css`
      .panel {
        padding: 10px 10px 4px;
      }
      h2 {
        margin: 0 4px 4px;
      }
      .plot {
        min-height: var(--pb-chart-h);
      }
      .uplot {
        font-family: var(--pb-font);
      }
      .u-legend {
        font-size: 12px;
        color: var(--pb-muted);
        text-align: left;
        margin: 0 4px;
      }
      .u-legend .u-marker {
        width: 10px;
        height: 10px;
        border-radius: 2px;
      }
      .u-legend th {
        font-weight: 500;
      }
      .u-legend .u-value {
        color: var(--pb-text);
        font-variant-numeric: tabular-nums;
      }
      .u-select {
        background: var(--pb-accent-fill);
      }
      .marker {
        position: absolute;
        top: 0;
        bottom: 0;
        pointer-events: none;
        background: color-mix(in srgb, var(--pb-fail) 14%, transparent);
        border-left: 2px solid var(--pb-fail);
      }
      .marker.warning,
      .marker.info {
        background: color-mix(in srgb, var(--pb-flag) 14%, transparent);
        border-left-color: var(--pb-flag);
      }
      .marker.resolved {
        border-right: 2px solid var(--pb-ok);
      }
    `,
  ];

  override render(): TemplateResult {
    return html`<section class="panel" data-chart=${this.spec?.id ?? ''}>
      <h2>${this.spec?.title ?? ''}</h2>
      <div class="plot"></div>
    </section>`;
  }

  override firstUpdated(): void {
    this.resize = new ResizeObserver(() => this.fit());
    this.resize.observe(this);
  }

  override updated(changed: PropertyValues<this>): void {
    if (changed.has('theme') && this.plot) this.build();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.resize?.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }

  /** Points held for this chart (before decimation; for tests and diagnostics). */
  get pointCount(): number {
    return this.buffer?.length ?? 0;
  }

  /** Redraws with the buffer's current columns over [min, max] (unix seconds). */
  refresh(min: number, max: number): void {
    this.range = { min, max };
    const plot = this.plot;
    if (!plot || !this.buffer) return;
    // One point per two CSS pixels: a min/max pair per 4 px bucket keeps every spike, and
    // canvas path cost grows with points (measured: 960 → 480 points saves ~30 % per chart).
    const maxPoints = Math.round(plot.bbox.width / uPlot.pxRatio / 2);
    const b = this.buffer;
    const data = this.decimator.run(b.t, this.columns(), min, max, maxPoints, b.epoch);
    plot.batch(() => {
      plot.setData(data, false);
      plot.setScale('x', { min, max });
    });
    this.placeMarkers();
  }

  /** Places the alert markers over the current x range (unix seconds). */
  placeMarkers(): void {
    const plot = this.plot;
    const range = this.range;
    for (const el of this.markerEls) el.remove();
    this.markerEls = [];
    if (plot && range) {
      for (const ep of this.markers) {
        const start = ep.start / 1000;
        const end = ep.end === null ? range.max : ep.end / 1000;
        if (end < range.min || start > range.max) continue;
        const left = plot.valToPos(Math.max(start, range.min), 'x');
        const right = plot.valToPos(Math.min(end, range.max), 'x');
        const el = document.createElement('div');
        el.className = `marker ${ep.severity}${ep.end === null ? ' firing' : ' resolved'}`;
        el.style.left = `${left}px`;
        el.style.width = `${Math.max(2, right - left)}px`;
        el.dataset.rule = ep.rule;
        el.title = `${ep.rule}${ep.source ? ` · ${ep.source}` : ''}: fired ${new Date(ep.start).toLocaleTimeString()}${ep.end === null ? ', firing' : `, resolved ${new Date(ep.end).toLocaleTimeString()}`}`;
        plot.over.appendChild(el);
        this.markerEls.push(el);
      }
    }
    this.markerCount = this.markerEls.length;
  }

  private columns(): (number | null)[][] {
    const b = this.buffer!;
    return this.spec!.series.map((s) => b.cols[s.key]);
  }

  private size(): { width: number; height: number } {
    const plot = this.renderRoot.querySelector<HTMLElement>('.plot');
    const width = Math.max(200, Math.floor(plot?.clientWidth ?? 400));
    const height = parseInt(getComputedStyle(this).getPropertyValue('--pb-chart-h'), 10) || 170;
    return { width, height };
  }

  private fit(): void {
    if (!this.plot) {
      this.build();
      return;
    }
    const { width, height } = this.size();
    if (width !== this.plot.width || height !== this.plot.height)
      this.plot.setSize({ width, height });
  }

  private build(): void {
    const spec = this.spec;
    const host = this.renderRoot.querySelector<HTMLElement>('.plot');
    if (!spec || !this.buffer || !host) return;
    this.plot?.destroy();
    const muted = cssVar('--pb-muted');
    const grid = cssVar('--pb-grid');
    const axis: uPlot.Axis = {
      stroke: muted,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      font: '11px system-ui, sans-serif',
    };
    const fmt = spec.format;
    const opts: uPlot.Options = {
      ...this.size(),
      // Skip DPR rounding work on every redraw; lines stay crisp enough at 1 px.
      pxAlign: false,
      cursor: {
        // Share the hover position, not the drag: the page zooms every chart itself, and a
        // mirrored drag would land on already-zoomed charts and zoom them again.
        sync: {
          key: SYNC_KEY,
          filters: { pub: (type) => type !== 'mousedown' && type !== 'mouseup' },
        },
        drag: { x: true, y: false, setScale: false },
        points: { size: 6 },
        bind: {
          dblclick: () => () => {
            this.dispatchEvent(new CustomEvent('pb-live', { bubbles: true, composed: true }));
            return null;
          },
        },
      },
      legend: { live: true },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] } },
      // Roomy tick spacing: every label is a fillText (and a date format on x) per redraw.
      axes: [
        { ...axis, space: 90 },
        { ...axis, size: 56, space: 36, values: (_u, ticks) => ticks.map(fmt) },
      ],
      series: [
        {},
        ...spec.series.map(
          (s): uPlot.Series => ({
            label: s.label,
            stroke: cssVar(s.color),
            // One CSS pixel: at a device pixel ratio of 1 that is a hairline, which Skia's
            // software rasteriser draws directly, while any wider line is stroked into a
            // polygon and filled; with the width at 1.4–1.6 the canvas rasterisation in the
            // frame's commit took about three times as long (bench/dashboard: frame time).
            width: 1,
            ...(s.fill ? { fill: cssVar(s.fill) } : {}),
            points: { show: false },
            value: (_u, v) => (v == null ? '—' : fmt(v)),
          }),
        ),
      ],
      hooks: {
        setSelect: [(u) => this.onSelect(u)],
      },
    };
    this.plot = new uPlot(opts, [this.buffer.t, ...this.columns()], host);
    if (this.range) this.refresh(this.range.min, this.range.max);
  }

  private onSelect(u: uPlot): void {
    if (u.select.width < 4) return;
    const min = u.posToVal(u.select.left, 'x');
    const max = u.posToVal(u.select.left + u.select.width, 'x');
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    this.dispatchEvent(
      new CustomEvent<ZoomDetail>('pb-zoom', {
        detail: { min, max },
        bubbles: true,
        composed: true,
      }),
    );
  }
}

customElements.define('pb-time-chart', PbTimeChart);
