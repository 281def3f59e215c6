/** Styles every panel shares; each component adds its own on top. */
import { css } from 'lit';

export const panelStyles = css`
  :host {
    display: block;
    min-width: 0;
  }
  .panel {
    background: var(--pb-surface);
    border: 1px solid var(--pb-border);
    border-radius: var(--pb-radius);
    box-shadow: var(--pb-shadow);
    padding: 12px 14px;
    min-width: 0;
  }
  h2 {
    font-size: 13px;
    font-weight: 600;
    letter-spacing: 0.02em;
    margin: 0;
    color: var(--pb-text);
  }
  .muted {
    color: var(--pb-muted);
  }
  .num {
    font-variant-numeric: tabular-nums;
  }
  button,
  input,
  select {
    font: inherit;
    color: inherit;
  }
  button {
    background: var(--pb-surface-2);
    border: 1px solid var(--pb-border);
    border-radius: 7px;
    padding: 5px 10px;
    cursor: pointer;
    line-height: 1.2;
  }
  button:hover:not(:disabled) {
    border-color: var(--pb-accent);
  }
  button:focus-visible,
  input:focus-visible {
    outline: 2px solid var(--pb-accent);
    outline-offset: 1px;
  }
  button:disabled {
    opacity: 0.5;
    cursor: default;
  }
  button.primary {
    background: var(--pb-accent);
    border-color: var(--pb-accent);
    color: #fff;
  }
  button.danger {
    color: var(--pb-fail);
  }
  input {
    background: var(--pb-bg);
    border: 1px solid var(--pb-border);
    border-radius: 7px;
    padding: 5px 8px;
    min-width: 0;
  }
`;
