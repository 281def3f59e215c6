/**
 * The cluster's nodes (cluster mode only: the snapshot's `nodes`): status, rate and clients
 * of each, and which one this dashboard is on. Renders nothing for a single process.
 */
import { css, html, LitElement, nothing, type TemplateResult } from 'lit';
import { fmtCount } from '../lib/format.js';
import type { ClusterNodeSummary } from '../types.js';
import { panelStyles } from './shared-styles.js';

export class PbNodesPanel extends LitElement {
  static override properties = {
    nodes: { attribute: false },
    self: { attribute: false },
  };

  nodes: ClusterNodeSummary[] | null = null;
  /** The node this dashboard is connected to. */
  self: number | null = null;

  static override styles = [
    panelStyles,
    css`
      table {
        width: 100%;
        border-collapse: collapse;
        font-size: 13px;
        font-variant-numeric: tabular-nums;
      }
      th,
      td {
        text-align: right;
        padding: 2px 4px;
      }
      th:first-child,
      td:first-child,
      td.status {
        text-align: left;
      }
      tr[data-status='down'] td {
        color: var(--pb-fail);
      }
      tr[data-self] td:first-child {
        font-weight: 600;
      }
    `,
  ];

  override render(): TemplateResult | typeof nothing {
    if (!this.nodes) return nothing;
    return html`<section class="panel">
      <h2>Nodes · ${this.nodes.filter((n) => n.status === 'up').length} up</h2>
      <table>
        <thead><tr><th>Node</th><th>Status</th><th>tx/s</th><th>Clients</th></tr></thead>
        <tbody>
          ${this.nodes.map(
            (n) =>
              html`<tr data-node=${n.id} data-status=${n.status} ?data-self=${n.id === this.self}>
                <td>${n.id}${n.id === this.self ? ' (this)' : ''}</td>
                <td class="status">${n.status}</td>
                <td>${fmtCount(n.tps)}</td>
                <td>${fmtCount(n.clients)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </section>`;
  }
}

customElements.define('pb-nodes-panel', PbNodesPanel);
