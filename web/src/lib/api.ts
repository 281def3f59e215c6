/**
 * HTTP calls to the server's own origin, and the tokens they carry.
 *
 * Two tokens, kept apart (sessionStorage: they survive a reload, not the browser session):
 *  - the read token, given once as `?token=` in the page URL: taken at first load and removed
 *    from the address bar (and so from history, bookmarks and what a proxy logs next); it
 *    goes in `Authorization` headers of reads and in the WebSocket's subprotocol
 *    (connection.ts), never in a URL again;
 *  - the admin token, typed into the scenario panel: only in `Authorization` headers of
 *    POSTs (scenarios, stop, reset).
 */
import type {
  AlertEventsResponse,
  AlertRule,
  HistoryResponse,
  LoadTestRequest,
  LoadTestStatus,
  MetricsSnapshot,
  RuleStatus,
  RulesResponse,
} from '../types.js';

const READ_KEY = 'pulseboard.token';
const ADMIN_KEY = 'pulseboard.adminToken';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** The server's stable `PB_ERR_*` code when the body carried one. */
    readonly code: string | null,
    message: string,
    /** The field a validation error names (`error.field`), if any. */
    readonly field: string | null = null,
    /** Every problem of a refused rule (`error.problems`). */
    readonly problems: { field: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const readToken: string | null = takeTokenFromUrl();
let adminToken: string | null = sessionStorage.getItem(ADMIN_KEY);

/** Moves `?token=` from the address bar to sessionStorage (replacing the history entry). */
function takeTokenFromUrl(): string | null {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl === null) return sessionStorage.getItem(READ_KEY);
  url.searchParams.delete('token');
  history.replaceState(history.state, '', `${url.pathname}${url.search}${url.hash}`);
  if (fromUrl === '') return sessionStorage.getItem(READ_KEY);
  sessionStorage.setItem(READ_KEY, fromUrl);
  return fromUrl;
}

/** The read token (for the WebSocket), or null. */
export function getReadToken(): string | null {
  return readToken;
}

export function getAdminToken(): string | null {
  return adminToken;
}

export function setAdminToken(value: string | null): void {
  adminToken = value && value.trim() !== '' ? value.trim() : null;
  if (adminToken) sessionStorage.setItem(ADMIN_KEY, adminToken);
  else sessionStorage.removeItem(ADMIN_KEY);
}

async function request<T>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  // A change without an admin token tries the read token: it may be the admin token too.
  const changes = method !== 'GET';
  const token = changes ? (adminToken ?? readToken) : readToken;
  if (token) headers['Authorization'] = `Bearer ${token}`;
  // The server takes state-changing requests as JSON only (an HTML form cannot send it).
  if (changes) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    // Not JSON (a proxy error page, say): fall through with the status line.
  }
  if (!res.ok) {
    const err = (
      json as {
        error?: {
          code?: string;
          message?: string;
          field?: string;
          problems?: { field: string; message: string }[];
        };
      } | null
    )?.error;
    throw new ApiError(
      res.status,
      err?.code ?? null,
      err?.message ?? `${res.status} ${res.statusText}`,
      err?.field ?? null,
      err?.problems ?? [],
    );
  }
  return json as T;
}

/** Where /ws is (GET /api/ws-endpoint: src/ws/ws-endpoint-route.ts). */
export interface WsEndpoint {
  url: string | null;
  port: number | null;
}

export function fetchWsEndpoint(): Promise<WsEndpoint> {
  return request('GET', '/api/ws-endpoint');
}

export function fetchSnapshot(): Promise<MetricsSnapshot> {
  return request('GET', '/api/metrics');
}

export function fetchHistory(
  fromMs: number,
  toMs: number,
  points: number,
): Promise<HistoryResponse> {
  const q = new URLSearchParams({
    metric: 'tps,failed,flagged,volumeUsd,avgMs,p50Ms,p95Ms,p99Ms',
    from: String(Math.floor(fromMs)),
    to: String(Math.ceil(toMs)),
    points: String(Math.max(1, Math.ceil(points))),
  });
  return request('GET', `/api/history?${q}`);
}

export function fetchLoadTest(): Promise<LoadTestStatus> {
  return request('GET', '/api/load-test');
}

export function startLoadTest(body: LoadTestRequest): Promise<unknown> {
  return request('POST', '/api/load-test', body);
}

export function stopLoadTest(): Promise<unknown> {
  return request('POST', '/api/load-test/stop', {});
}

export function resetMetrics(): Promise<unknown> {
  return request('POST', '/api/reset', {});
}

export function fetchRules(): Promise<RulesResponse> {
  return request('GET', '/api/rules');
}

export function fetchAlertEvents(limit: number): Promise<AlertEventsResponse> {
  return request('GET', `/api/alerts?limit=${limit}`);
}

/** Creates (POST) or replaces (PUT) a rule; `replacing` is the name being edited. */
export function saveRule(rule: AlertRule, replacing: string | null): Promise<RuleStatus> {
  return replacing === null
    ? request('POST', '/api/rules', rule)
    : request('PUT', `/api/rules/${encodeURIComponent(replacing)}`, rule);
}

export function deleteRule(name: string): Promise<unknown> {
  return request('DELETE', `/api/rules/${encodeURIComponent(name)}`);
}
