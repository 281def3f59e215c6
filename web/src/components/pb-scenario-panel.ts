/**
 * Scenario control: start a named or custom load scenario, watch its stage and progress,
 * stop it, reset the metrics. Status comes from `GET /api/load-test`, polled once a second
 * (fast enough for a progress bar, and a poll costs the server one cached JSON write).
 *
 * Protected endpoints answer 401 (or 403 for a token that is not the admin token) when an
 * admin token is configured; the panel then asks for it instead of failing silently. The
 * token typed here goes only into the Authorization header of POSTs (lib/api.ts).
 */
import { html, LitElement, nothing, type TemplateResult } from 'lit';
import {
  ApiError,
  fetchLoadTest,
  getAdminToken,
  resetMetrics,
  setAdminToken,
  startLoadTest,
  stopLoadTest,
} from '../lib/api.js';
import { fmtCount, fmtSeconds } from '../lib/format.js';
import { parseCustom } from '../lib/scenario-spec.js';
import type { LoadTestRequest, LoadTestStage, LoadTestStatus } from '../types.js';
import { scenarioStyles } from './pb-scenario-panel-styles.js';

const NAMED = [
  { id: 'steady', label: 'Steady', hint: 'one constant rate until stopped' },
  { id: 'ramp', label: 'Ramp', hint: 'step the rate up in stages' },
  { id: 'demo', label: 'Demo', hint: 'staged demo ramping up to thousands of tx/s' },
  { id: 'max', label: 'Max', hint: 'as fast as the machine goes' },
] as const;

const POLL_MS = 1000;

export class PbScenarioPanel extends LitElement {
  static override properties = {
    status: { state: true },
    message: { state: true },
    busy: { state: true },
    needToken: { state: true },
    confirmReset: { state: true },
  };

  status: LoadTestStatus | null = null;
  message: { kind: 'error' | 'info'; text: string } | null = null;
  busy = false;
  needToken = false;
  confirmReset = false;

  private timer: ReturnType<typeof setInterval> | null = null;

  static override styles = scenarioStyles;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.poll();
    this.timer = setInterval(() => void this.poll(), POLL_MS);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.timer) clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    if (document.visibilityState === 'hidden') return;
    try {
      this.status = await fetchLoadTest();
    } catch (err) {
      // The server restarting is normal here. A 401 is about the read token, which comes
      // from the page URL (the live view says so), not from this panel.
      if (!(err instanceof ApiError && err.status === 401)) this.status = null;
    }
  }

  private async act(label: string, fn: () => Promise<unknown>): Promise<boolean> {
    this.busy = true;
    this.message = null;
    try {
      await fn();
      this.message = { kind: 'info', text: label };
      await this.poll();
      return true;
    } catch (err) {
      if (
        err instanceof ApiError &&
        (err.code === 'PB_ERR_AUTH_MISSING' || err.code === 'PB_ERR_AUTH_INVALID')
      ) {
        this.needToken = true;
        this.message = { kind: 'error', text: 'Not authorised: enter the admin token.' };
      } else {
        this.message = { kind: 'error', text: err instanceof Error ? err.message : String(err) };
      }
      return false;
    } finally {
      this.busy = false;
    }
  }

  private start(body: LoadTestRequest, label: string): void {
    void this.act(`Started ${label}.`, () => startLoadTest(body));
  }

  private startCustom(e: Event): void {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const data = new FormData(form);
    const spec = String(data.get('spec') ?? '').trim();
    const ramp = Number(data.get('ramp') || 0);
    const parsed = parseCustom(spec);
    if (typeof parsed === 'string') {
      this.message = { kind: 'error', text: parsed };
      return;
    }
    const body: LoadTestRequest =
      'tps' in parsed ? parsed : ramp > 0 ? { ...parsed, rampUpSeconds: ramp } : parsed;
    this.start(body, 'custom scenario');
  }

  private async reset(): Promise<void> {
    if (!this.confirmReset) {
      // Two-step confirm without a blocking dialog: the button asks again for 4 s.
      this.confirmReset = true;
      setTimeout(() => {
        this.confirmReset = false;
      }, 4000);
      return;
    }
    this.confirmReset = false;
    if (await this.act('Metrics reset.', resetMetrics)) {
      this.dispatchEvent(new CustomEvent('pb-reset', { bubbles: true, composed: true }));
    }
  }

  private saveToken(e: Event): void {
    e.preventDefault();
    const input = (e.target as HTMLFormElement).elements.namedItem('token') as HTMLInputElement;
    setAdminToken(input.value);
    this.needToken = false;
    this.message = { kind: 'info', text: 'Token saved for this session.' };
    void this.poll();
  }

  override render(): TemplateResult {
    const s = this.status;
    const running = s?.state === 'running';
    return html`<section class="panel">
      <header>
        <h2>Scenario</h2>
        <span class="state ${s?.state ?? ''}" data-state=${s?.state ?? 'unknown'}
          >${s ? s.state : 'unavailable'}</span
        >
      </header>
      <div class="named">
        ${NAMED.map(
          (n) =>
            html`<button
              data-action="start-${n.id}"
              title=${n.hint}
              ?disabled=${this.busy}
              @click=${() => this.start({ scenario: n.id }, n.label)}
            >
              ${n.label}
            </button>`,
        )}
      </div>
      <form class="custom" @submit=${this.startCustom}>
        <label
          >Custom: TPS, or stages "tps×seconds, …"
          <input name="spec" placeholder="500  or  100x10, 1000x30" autocomplete="off" />
        </label>
        <label
          >Ramp-up s
          <input name="ramp" class="ramp" type="number" min="0" step="1" placeholder="0" />
        </label>
        <button type="submit" class="primary" data-action="start-custom" ?disabled=${this.busy}>
          Start custom
        </button>
      </form>
      ${s && s.state !== 'idle' ? this.renderRun(s) : nothing}
      <div class="actions">
        <button data-action="stop" ?disabled=${this.busy || !running} @click=${this.stop}>Stop</button>
        <button class="danger" data-action="reset" ?disabled=${this.busy} @click=${this.reset}>
          ${this.confirmReset ? 'Click again to reset' : 'Reset metrics'}
        </button>
      </div>
      ${
        this.message
          ? html`<div class="msg ${this.message.kind}" role="status">${this.message.text}</div>`
          : nothing
      }
      ${
        this.needToken
          ? html`<form class="token" @submit=${this.saveToken}>
            <input name="token" type="password" placeholder="Admin token" .value=${getAdminToken() ?? ''} />
            <button type="submit">Use token</button>
          </form>`
          : nothing
      }
    </section>`;
  }

  private readonly stop = (): void => {
    void this.act('Stopped.', stopLoadTest);
  };

  private renderRun(s: LoadTestStatus): TemplateResult {
    const stage = s.stages[s.stageIndex];
    return html`<div class="run" data-scenario=${s.scenario ?? 'custom'}>
      <div>
        <strong>${s.scenario ?? 'custom'}</strong>
        <span class="muted">
          · stage ${Math.min(s.stageIndex + 1, s.stages.length)}/${s.stages.length}
          ${stage ? `· ${stageLabel(stage)}` : ''} · ${fmtSeconds(s.stageElapsedS)} in stage
          ${s.currentTps !== null ? `· now ${fmtCount(s.currentTps)} TPS` : ''}
        </span>
      </div>
      <div class="stages">
        ${s.stages.map(
          (st, i) =>
            html`<span class="stage ${i === s.stageIndex && s.state === 'running' ? 'current' : i < s.stageIndex ? 'done' : ''}"
              >${stageLabel(st)}</span
            >`,
        )}
      </div>
      ${
        s.progress !== null
          ? html`<progress max="1" .value=${s.progress} aria-label="scenario progress"></progress>`
          : nothing
      }
    </div>`;
  }
}

function stageLabel(st: LoadTestStage): string {
  const tps = st.tps === 'max' ? 'max' : `${fmtCount(st.tps)} TPS`;
  return st.seconds === null ? tps : `${tps} × ${fmtSeconds(st.seconds)}`;
}

customElements.define('pb-scenario-panel', PbScenarioPanel);
