/**
 * Page layout, phone → 2560 × 1440. Grid areas per breakpoint; `.side` (scenario + top
 * sources) is a column on wide screens and dissolves (`display: contents`) into two grid
 * cells on medium ones.
 */
import { css } from 'lit';
import { panelStyles } from './shared-styles.js';

export const appStyles = [
  panelStyles,
  css`
    :host {
      display: block;
      min-height: 100vh;
    }
    header.top {
      position: sticky;
      top: 0;
      z-index: 5;
      display: flex;
      align-items: center;
      flex-wrap: wrap;
      gap: 8px 14px;
      padding: 10px var(--pb-gap);
      background: color-mix(in srgb, var(--pb-bg) 88%, transparent);
      backdrop-filter: blur(8px);
      border-bottom: 1px solid var(--pb-border);
    }
    .brand {
      display: flex;
      align-items: center;
      gap: 8px;
      font-weight: 700;
      font-size: 16px;
      letter-spacing: 0.01em;
    }
    .logo {
      width: 18px;
      height: 18px;
      border-radius: 5px;
      background: linear-gradient(135deg, var(--pb-accent), var(--pb-volume));
    }
    .spacer {
      flex: 1;
    }
    .seg {
      display: inline-flex;
    }
    .seg button {
      border-radius: 0;
      margin-left: -1px;
      min-width: 42px;
    }
    .seg button:first-child {
      border-radius: 7px 0 0 7px;
    }
    .seg button:last-child {
      border-radius: 0 7px 7px 0;
    }
    .seg button[aria-pressed='true'],
    button[data-action='pause'][aria-pressed='true'] {
      background: var(--pb-accent);
      border-color: var(--pb-accent);
      color: #fff;
      position: relative;
    }
    .notices {
      display: flex;
      flex-direction: column;
      gap: 6px;
      padding: var(--pb-gap) var(--pb-gap) 0;
    }
    .notice {
      display: flex;
      align-items: center;
      gap: 10px;
      padding: 7px 10px;
      border-radius: 8px;
      font-size: 13px;
      border: 1px solid var(--pb-border);
      background: var(--pb-surface);
    }
    .notice span {
      flex: 1;
    }
    .notice.warn {
      border-color: var(--pb-flag);
      background: var(--pb-row-flag);
    }
    .notice button {
      padding: 0 6px;
      background: none;
      border: none;
    }
    .rules {
      grid-area: rules;
    }
    main {
      display: grid;
      gap: var(--pb-gap);
      padding: var(--pb-gap);
      grid-template-columns: minmax(0, 1fr);
      grid-template-areas: 'kpis' 'charts' 'scenario' 'sources' 'alerts' 'rules' 'feed';
      padding-bottom: 48px;
    }
    .kpis {
      grid-area: kpis;
    }
    /* Every update changes text in a few panels; containment keeps each panel's layout and
       paint from invalidating the rest of the page. */
    main > :not(.side, .charts),
    .side > *,
    .charts > * {
      contain: content;
    }
    .charts {
      grid-area: charts;
      display: flex;
      flex-direction: column;
      gap: var(--pb-gap);
      min-width: 0;
    }
    .side {
      display: contents;
    }
    .scenario {
      grid-area: scenario;
    }
    .sources {
      grid-area: sources;
    }
    .feed {
      grid-area: feed;
      height: 380px;
    }
    .alerts {
      grid-area: alerts;
      height: 300px;
    }
    @media (min-width: 760px) {
      main {
        grid-template-columns: repeat(2, minmax(0, 1fr));
        grid-template-areas: 'kpis kpis' 'charts charts' 'scenario sources' 'feed feed' 'alerts alerts' 'rules rules';
      }
    }
    /* Laptop and up: alerts fill the side column under the scenario panel and top
       sources, next to the charts; the feed runs full width below. The lists use
       contain: size so the charts, not the number of rows, decide the row heights. */
    @media (min-width: 1280px) {
      main {
        grid-template-columns: minmax(0, 1fr) minmax(0, 1fr) minmax(340px, 0.75fr);
        grid-template-areas: 'kpis kpis kpis' 'charts charts side' 'charts charts alerts' 'feed feed feed' 'rules rules rules';
        grid-template-rows: auto auto minmax(0, 1fr) auto auto;
      }
      .side {
        grid-area: side;
        display: flex;
        flex-direction: column;
        gap: var(--pb-gap);
        min-width: 0;
      }
      .alerts {
        height: auto;
        min-height: 240px;
        contain: size;
      }
      .feed {
        height: 420px;
      }
    }
    /* 2560 × 1440 and similar: everything on one screen, both lists beside the charts. */
    @media (min-width: 1900px) {
      main {
        grid-template-columns: minmax(0, 1.2fr) minmax(0, 1.2fr) minmax(0, 1fr) minmax(380px, 0.8fr);
        grid-template-areas: 'kpis kpis kpis kpis' 'charts charts feed side' 'charts charts feed alerts' 'rules rules rules rules';
        grid-template-rows: auto auto minmax(0, 1fr) auto;
      }
      .feed {
        height: auto;
        min-height: 300px;
        contain: size;
      }
    }
    @media (max-width: 600px) {
      header.top {
        padding: 8px var(--pb-gap);
      }
      .brand {
        font-size: 15px;
      }
      button[data-action='pause'] {
        font-size: 12px;
      }
    }
  `,
];
