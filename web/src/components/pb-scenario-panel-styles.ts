/** Styles of the scenario panel. */
import { css } from 'lit';
import { panelStyles } from './shared-styles.js';

export const scenarioStyles = [
  panelStyles,
  css`
    header {
      display: flex;
      align-items: center;
      justify-content: space-between;
      gap: 8px;
      margin-bottom: 10px;
    }
    .state {
      font-size: 12px;
      font-weight: 600;
      text-transform: uppercase;
      letter-spacing: 0.04em;
      padding: 1px 7px;
      border-radius: 5px;
      border: 1px solid var(--pb-border);
      color: var(--pb-muted);
    }
    .state.running {
      color: var(--pb-ok);
      border-color: var(--pb-ok);
    }
    .named {
      display: grid;
      grid-template-columns: repeat(4, minmax(0, 1fr));
      gap: 6px;
    }
    .custom {
      display: grid;
      grid-template-columns: minmax(0, 1fr) auto;
      gap: 6px;
      margin-top: 8px;
    }
    label {
      display: flex;
      flex-direction: column;
      gap: 3px;
      font-size: 11.5px;
      color: var(--pb-muted);
    }
    .run {
      margin-top: 10px;
      font-size: 13px;
    }
    .stages {
      display: flex;
      flex-wrap: wrap;
      gap: 4px;
      margin: 6px 0;
    }
    .stage {
      font-size: 11.5px;
      padding: 1px 6px;
      border-radius: 5px;
      background: var(--pb-surface-2);
      color: var(--pb-muted);
      font-variant-numeric: tabular-nums;
    }
    .stage.current {
      background: var(--pb-accent);
      color: #fff;
    }
    .stage.done {
      text-decoration: line-through;
    }
    progress {
      width: 100%;
      height: 6px;
      accent-color: var(--pb-accent);
    }
    .actions {
      display: flex;
      gap: 6px;
      margin-top: 10px;
    }
    .actions button {
      flex: 1;
    }
    .msg {
      margin-top: 8px;
      font-size: 12.5px;
    }
    .msg.error {
      color: var(--pb-fail);
    }
    .ramp {
      width: 72px;
    }
    .token {
      display: grid;
      grid-template-columns: minmax(0, 1fr) auto;
      gap: 6px;
      margin-top: 8px;
    }
  `,
];
