/**
 * Dashboard entry: registers the components. <pb-app> in index.html does the rest.
 * Children are imported before the app so they are defined by the time it renders.
 */
import './components/pb-alert-banner.js';
import './components/pb-connection-status.js';
import './components/pb-diagnostics.js';
import './components/pb-kpi-cards.js';
import './components/pb-rules-panel.js';
import './components/pb-scenario-panel.js';
import './components/pb-time-chart.js';
import './components/pb-top-sources.js';
import './components/pb-nodes-panel.js';
import './components/pb-tx-list.js';
import './components/pb-app.js';
