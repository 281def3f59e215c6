/** Styles of the rules panel and its form. */
import { css } from 'lit';
import { panelStyles } from './shared-styles.js';

export const rulesStyles = [
  panelStyles,
  css`
    header {
      display: flex;
      align-items: center;
      justify-content: space-between;
      gap: 8px;
      margin-bottom: 8px;
    }
    .table-wrap {
      overflow-x: auto;
    }
    table {
      width: 100%;
      border-collapse: collapse;
      font-size: 13px;
    }
    th,
    td {
      text-align: left;
      padding: 4px 6px;
      border-bottom: 1px solid var(--pb-border);
      vertical-align: top;
    }
    th {
      font-weight: 500;
      color: var(--pb-muted);
      font-size: 12px;
    }
    tr.highlight td {
      background: var(--pb-accent-fill);
    }
    .expr {
      color: var(--pb-muted);
      font-size: 12px;
      overflow-wrap: anywhere;
    }
    .state {
      font-size: 11px;
      font-weight: 600;
      text-transform: uppercase;
      letter-spacing: 0.04em;
      padding: 1px 6px;
      border-radius: 5px;
      border: 1px solid var(--pb-border);
      color: var(--pb-muted);
      white-space: nowrap;
    }
    .state.pending {
      color: var(--pb-flag);
      border-color: var(--pb-flag);
    }
    .state.firing {
      color: #fff;
      background: var(--pb-fail);
      border-color: var(--pb-fail);
    }
    .state.resolved {
      color: var(--pb-ok);
      border-color: var(--pb-ok);
    }
    .row-actions {
      white-space: nowrap;
    }
    .row-actions button {
      padding: 2px 8px;
      font-size: 12px;
    }
    h3 {
      font-size: 12px;
      font-weight: 600;
      margin: 14px 0 6px;
      color: var(--pb-muted);
    }
    ol.history {
      list-style: none;
      margin: 0;
      padding: 0;
      max-height: 220px;
      overflow-y: auto;
      font-size: 12.5px;
    }
    ol.history li {
      display: grid;
      grid-template-columns: 64px minmax(0, 1fr) auto;
      gap: 8px;
      padding: 2px 0;
    }
    .rule-form {
      display: grid;
      grid-template-columns: repeat(auto-fill, minmax(150px, 1fr));
      gap: 8px;
      margin: 6px 0 12px;
      padding: 10px;
      border: 1px solid var(--pb-border);
      border-radius: 8px;
    }
    .rule-form label {
      display: flex;
      flex-direction: column;
      gap: 3px;
      font-size: 11.5px;
      color: var(--pb-muted);
    }
    .rule-form .wide {
      grid-column: 1 / -1;
    }
    select {
      background: var(--pb-bg);
      border: 1px solid var(--pb-border);
      border-radius: 7px;
      padding: 5px 6px;
    }
    .err {
      color: var(--pb-fail);
      font-size: 11.5px;
    }
    .actions,
    .token {
      display: flex;
      gap: 6px;
    }
    .msg {
      font-size: 12.5px;
      margin: 4px 0;
    }
    .msg.error {
      color: var(--pb-fail);
    }
  `,
];
