/**
 * The page orchestrator: layout, header controls (window, pause, theme), and the render
 * loop. Data arrives in LiveModel; once per animation frame `flush` hands each component
 * only what changed since the last frame and times the whole update, until the frame is
 * rendered (after-frame.ts, render-stats.ts).
 */
import { html, LitElement, nothing, type TemplateResult } from 'lit';
import { afterFrame } from '../lib/after-frame.js';
import { fmtInt } from '../lib/format.js';
import { LiveModel } from '../lib/live-model.js';
import { OffscreenRenders } from '../lib/offscreen-renders.js';
import { RenderStats, type RenderStatsSummary } from '../lib/render-stats.js';
import { syntheticPoints } from '../lib/synthetic.js';
import { applyTheme, initialTheme, type Theme } from '../lib/theme.js';
import { WINDOW_SECONDS, type WindowName } from '../types.js';
import { CHART_SPECS } from './chart-specs.js';
import type { PbAlertBanner } from './pb-alert-banner.js';
import { appStyles } from './pb-app-styles.js';
import type { PbConnectionStatus } from './pb-connection-status.js';
import type { PbDiagnostics } from './pb-diagnostics.js';
import type { PbKpiCards } from './pb-kpi-cards.js';
import type { PbNodesPanel } from './pb-nodes-panel.js';
import type { PbRulesPanel } from './pb-rules-panel.js';
import type { PbTimeChart, ZoomDetail } from './pb-time-chart.js';
import type { PbTopSources } from './pb-top-sources.js';
import type { PbTxList } from './pb-tx-list.js';

interface Notice {
  key: string;
  kind: 'warn' | 'info';
  text: string;
}

/** What tests (and the curious, from the console) can read: `window.__pulseboard`. */
export interface PulseboardDebug {
  /** Per update, until the frame is on screen: script, style, layout, paint, commit. */
  renderStats(): RenderStatsSummary;
  /** Per update, the script part only (rAF callback and the renders it awaits). */
  scriptStats(): RenderStatsSummary;
  resetRenderStats(): void;
  /** Fills the charts with `n` synthetic seconds (a full hour for 3600); returns points held. */
  seedSynthetic(n: number): number;
  setWindow(w: WindowName): void;
  state(): Record<string, unknown>;
}

declare global {
  interface Window {
    __pulseboard?: PulseboardDebug;
  }
}

const WINDOWS: WindowName[] = ['1m', '5m', '1h'];
const NOTICE_MS = 30_000;

export class PbApp extends LitElement {
  static override properties = {
    window: { state: true },
    paused: { state: true },
    zoomed: { state: true },
    theme: { state: true },
    notices: { state: true },
  };

  window: WindowName = initialWindow();
  paused = false;
  zoomed: ZoomDetail | null = null;
  theme: Theme = initialTheme();
  notices: Notice[] = [];

  /** Whole update frames (what the user waits for) and their script part. */
  private readonly stats = new RenderStats();
  private readonly scriptStats = new RenderStats();
  private readonly model = new LiveModel({
    changed: () => this.schedule(),
    status: (s) => {
      if (this.els) this.els.status.status = s;
    },
    notice: (key, kind, text) => this.notice(key, kind, text),
  });
  private els: {
    kpis: PbKpiCards;
    sources: PbTopSources;
    nodes: PbNodesPanel;
    feed: PbTxList;
    alerts: PbTxList;
    status: PbConnectionStatus;
    diag: PbDiagnostics;
    charts: PbTimeChart[];
    banner: PbAlertBanner;
    rules: PbRulesPanel;
  } | null = null;
  /** Lists below the fold render in idle time, not in the update frame. */
  private readonly offscreen = new OffscreenRenders((el) =>
    this.model.mark(el === this.els?.feed ? { feed: true } : { alerts: true }),
  );
  private frameQueued = false;
  /** Charts still to redraw for the newest second, one per animation frame (flush). */
  private chartsDue: PbTimeChart[] = [];
  private diagAt = 0;
  private readonly noticeTimers = new Map<string, ReturnType<typeof setTimeout>>();

  static override styles = appStyles;

  override connectedCallback(): void {
    super.connectedCallback();
    applyTheme(this.theme, false);
    window.__pulseboard = this.debugApi();
  }

  override firstUpdated(): void {
    const q = <T>(sel: string) => this.renderRoot.querySelector(sel) as T;
    this.els = {
      kpis: q('pb-kpi-cards'),
      sources: q('pb-top-sources'),
      nodes: q('pb-nodes-panel'),
      feed: q('pb-tx-list[mode=feed]'),
      alerts: q('pb-tx-list[mode=alerts]'),
      status: q('pb-connection-status'),
      diag: q('pb-diagnostics'),
      charts: [...this.renderRoot.querySelectorAll<PbTimeChart>('pb-time-chart')],
      banner: q('pb-alert-banner'),
      rules: q('pb-rules-panel'),
    };
    this.els.rules.model = this.model.rules;
    this.els.feed.ring = this.model.feed;
    this.els.alerts.ring = this.model.alerts;
    this.els.status.status = this.model.connectionStatus;
    for (const chart of this.els.charts) chart.buffer = this.model.buffer;
    this.offscreen.observe(this.els.feed);
    this.offscreen.observe(this.els.alerts);
    this.model.start();
  }

  private schedule(): void {
    if (this.frameQueued) return;
    this.frameQueued = true;
    requestAnimationFrame(() => void this.flush());
  }

  /** One update: push what changed to the components and wait until they have rendered. */
  private async flush(): Promise<void> {
    this.frameQueued = false;
    const els = this.els;
    const m = this.model;
    const d = m.dirty;
    if (!els) return;
    if (d.series) this.chartsDue = this.paused ? [] : [...els.charts];
    // One chart per frame, and none in a frame that also updates the KPI cards and top
    // sources (that frame lays out and paints the page: ~4.7 ms of main-thread CPU in the
    // trace); the charts follow in the next frames, 16 ms apart.
    const due = d.metrics ? undefined : this.chartsDue.shift();
    if (this.chartsDue.length > 0) this.schedule();
    if (!(d.metrics || d.feed || d.alerts || d.rules || due)) return;
    m.dirty = { metrics: false, series: false, feed: false, alerts: false, rules: false };
    const t0 = performance.now();
    const waits: Promise<unknown>[] = [];
    if (d.metrics && m.snapshot) {
      els.kpis.snapshot = m.snapshot;
      els.sources.sources = m.snapshot.topSources[this.window] ?? [];
      els.status.latencyMs = m.latencyMs;
      els.status.stream = m.snapshot.stream ?? null;
      // Cluster mode: which node this is, whether it sees the cluster, and the nodes.
      els.status.node = m.snapshot.node ?? null;
      els.status.scope = m.snapshot.scope ?? null;
      els.nodes.nodes = m.snapshot.nodes ?? null;
      els.nodes.self = m.snapshot.node ?? null;
      waits.push(
        els.kpis.updateComplete,
        els.sources.updateComplete,
        els.status.updateComplete,
        els.nodes.updateComplete,
      );
    }
    if (d.rules) {
      els.banner.alerts = m.rules.firing();
      els.rules.version = m.rules.version;
      const episodes = m.rules.episodes();
      for (const chart of els.charts) {
        chart.markers = episodes;
        if (!d.series || this.paused) chart.placeMarkers();
      }
      waits.push(els.banner.updateComplete, els.rules.updateComplete);
    }
    // uPlot issues its drawing calls inside refresh() (batch mode); the canvas is rasterised
    // in the frame's commit, which the frame time (not the script time) includes. Three
    // redraws in one frame made it the slowest update (~9 ms of main-thread CPU against ~5
    // for the others, a third of it rasterising the three canvases).
    if (due) this.drawChart(due);
    if (d.feed) {
      const feed = els.feed;
      this.updateList(feed, waits, () => {
        feed.note =
          m.feedOmitted > 0
            ? `sampled · ${fmtInt(m.feedOmitted)} not shown last tick`
            : 'every transaction';
        feed.version++;
      });
    }
    if (d.alerts) {
      const alerts = els.alerts;
      this.updateList(alerts, waits, () => {
        alerts.note =
          m.alertsDropped > 0 ? `${fmtInt(m.alertsDropped)} dropped (still persisted)` : '';
        alerts.version++;
      });
    }
    await Promise.all(waits);
    this.scriptStats.record(performance.now() - t0);
    // Style, layout, paint and the commit (where Chromium rasterises the charts' canvases)
    // follow in this task; the update is on screen when the next task runs.
    afterFrame(() => {
      this.stats.record(performance.now() - t0);
      this.showDiagnostics();
    });
  }

  /**
   * The instrument itself stays outside the measured frame, and refreshes once a second
   * (sorting the samples every frame would cost more than some updates).
   */
  private showDiagnostics(): void {
    const els = this.els;
    const now = performance.now();
    if (!els || now - this.diagAt < 1000) return;
    this.diagAt = now;
    const m = this.model;
    els.diag.data = {
      render: this.stats.summary(),
      points: m.buffer.length,
      domRows: els.feed.domRows,
      frames: m.frames,
      missed: m.missed,
      reconnects: m.reconnects,
    };
  }

  /**
   * Hands a list its new data: now (and the update waits for its render) when it is on
   * screen, in idle time when it is not (offscreen-renders.ts); `apply` reads the model
   * when it runs, so a deferred render shows the newest data.
   */
  private updateList(list: PbTxList, waits: Promise<unknown>[], apply: () => void): void {
    if (this.offscreen.isHidden(list)) {
      this.offscreen.defer(list, apply);
      return;
    }
    apply();
    waits.push(list.updateComplete);
  }

  private drawChart(chart: PbTimeChart): void {
    const t = this.model.buffer.t;
    if (t.length === 0) return;
    const max = t[t.length - 1]!;
    chart.refresh(max - WINDOW_SECONDS[this.window], max);
  }

  private setWindow(w: WindowName): void {
    this.window = w;
    localStorage.setItem('pulseboard.window', w);
    this.resume();
    this.model.mark({ metrics: true, series: true });
  }

  private resume(): void {
    this.paused = false;
    this.zoomed = null;
    this.model.mark({ series: true });
  }

  private togglePause(): void {
    if (this.paused) this.resume();
    else {
      this.paused = true;
      this.chartsDue = [];
    }
  }

  private onZoom(e: CustomEvent<ZoomDetail>): void {
    this.paused = true;
    this.chartsDue = [];
    this.zoomed = e.detail;
    for (const chart of this.els?.charts ?? []) chart.refresh(e.detail.min, e.detail.max);
  }

  private toggleTheme(): void {
    this.theme = this.theme === 'dark' ? 'light' : 'dark';
    applyTheme(this.theme, true);
  }

  private notice(key: string, kind: Notice['kind'], text: string): void {
    this.notices = [...this.notices.filter((n) => n.key !== key), { key, kind, text }];
    clearTimeout(this.noticeTimers.get(key));
    this.noticeTimers.set(
      key,
      setTimeout(() => this.dismiss(key), NOTICE_MS),
    );
  }

  private dismiss(key: string): void {
    this.notices = this.notices.filter((n) => n.key !== key);
  }

  override render(): TemplateResult {
    const pauseLabel = this.zoomed ? 'Zoomed · back to live' : this.paused ? 'Resume' : 'Pause';
    return html`<header class="top">
        <div class="brand"><span class="logo" aria-hidden="true"></span>Pulseboard</div>
        <pb-connection-status></pb-connection-status>
        <span class="spacer"></span>
        <span class="seg" role="group" aria-label="Window">
          ${WINDOWS.map(
            (w) =>
              html`<button data-window=${w} aria-pressed=${this.window === w} @click=${() => this.setWindow(w)}>${w}</button>`,
          )}
        </span>
        <button data-action="pause" aria-pressed=${this.paused} title="Pause or resume the charts (data keeps arriving)" @click=${this.togglePause}>
          ${this.paused ? '▶' : '❚❚'} ${pauseLabel}
        </button>
        <button data-action="theme" title="Switch theme" aria-label="Switch to ${this.theme === 'dark' ? 'light' : 'dark'} theme" @click=${this.toggleTheme}>
          ${this.theme === 'dark' ? '☀' : '☾'}
        </button>
      </header>
      ${
        this.notices.length > 0
          ? html`<div class="notices">
            ${this.notices.map(
              (n) =>
                html`<div class="notice ${n.kind}" data-notice=${n.key} role="status">
                  <span>${n.text}</span>
                  <button aria-label="Dismiss" @click=${() => this.dismiss(n.key)}>✕</button>
                </div>`,
            )}
          </div>`
          : nothing
      }
      <pb-alert-banner class="banner"></pb-alert-banner>
      <main>
        <pb-kpi-cards class="kpis" .window=${this.window}></pb-kpi-cards>
        <div class="charts" @pb-zoom=${this.onZoom} @pb-live=${this.resume}>
          ${CHART_SPECS.map((spec) => html`<pb-time-chart .spec=${spec} .theme=${this.theme}></pb-time-chart>`)}
        </div>
        <div class="side">
          <pb-scenario-panel class="scenario" @pb-reset=${() => this.model.resetData()}></pb-scenario-panel>
          <pb-top-sources class="sources" .window=${this.window}></pb-top-sources>
          <pb-nodes-panel class="nodes"></pb-nodes-panel>
        </div>
        <pb-tx-list class="feed" mode="feed" heading="Live feed"></pb-tx-list>
        <pb-tx-list class="alerts" mode="alerts" heading="Alerts · flagged"></pb-tx-list>
        <pb-rules-panel class="rules" @pb-rules-changed=${() => void this.model.refreshRules(false)}></pb-rules-panel>
      </main>
      <pb-diagnostics></pb-diagnostics>`;
  }

  private debugApi(): PulseboardDebug {
    return {
      renderStats: () => this.stats.summary(),
      scriptStats: () => this.scriptStats.summary(),
      resetRenderStats: () => {
        this.stats.reset();
        this.scriptStats.reset();
      },
      seedSynthetic: (n) => {
        // Replaces what the charts hold (up to the newest second) so live seconds keep
        // appending after it: a full, varied hour whatever the server had.
        const b = this.model.buffer;
        const end = Number.isFinite(b.lastMs) ? b.lastMs + 1000 : Date.now();
        b.clear();
        b.prepend(syntheticPoints(n, end));
        this.model.mark({ series: true });
        return b.length;
      },
      setWindow: (w) => this.setWindow(w),
      state: () => ({
        connection: this.model.connectionStatus.state,
        frames: this.model.frames,
        missed: this.model.missed,
        reconnects: this.model.reconnects,
        points: this.model.buffer.length,
        feedSize: this.model.feed.size,
        alertsSize: this.model.alerts.size,
        feedDomRows: this.els?.feed.domRows ?? 0,
        chartPoints: this.els?.charts.map((c) => c.pointCount) ?? [],
        chartMarkers: this.els?.charts.map((c) => c.markerCount) ?? [],
        rules: this.model.rules.rules.length,
        firing: this.model.rules.firing().map((f) => f.rule),
        recentTpsMax: Math.max(0, ...this.model.buffer.cols.tps.slice(-10).map((v) => v ?? 0)),
        snapshotTs: this.model.snapshot?.ts ?? null,
      }),
    };
  }
}

function initialWindow(): WindowName {
  const w =
    new URLSearchParams(location.search).get('window') ?? localStorage.getItem('pulseboard.window');
  return w === '5m' || w === '1h' ? w : '1m';
}

customElements.define('pb-app', PbApp);
