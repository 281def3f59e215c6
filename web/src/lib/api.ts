/**
 * HTTP calls to the server's own origin. A token given as `?token=` in the page URL (or
 * typed into the scenario panel) is sent as `Authorization: Bearer …`; it is kept in
 * sessionStorage so it survives a reload but not the browser session.
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

const TOKEN_KEY = 'pulseboard.token';

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

let token: string | null = readInitialToken();

function readInitialToken(): string | null {
  const fromUrl = new URLSearchParams(location.search).get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function getToken(): string | null {
  return token;
}

export function setToken(value: string | null): void {
  token = value && value.trim() !== '' ? value.trim() : null;
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

async function request<T>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token) headers['Authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
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
