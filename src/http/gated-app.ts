import type {
  HttpRequest,
  HttpResponse,
  RecognizedString,
  TemplatedApp,
  us_socket_context_t,
  WebSocketBehavior,
} from 'uWebSockets.js';

/**
 * A uWS app whose route handlers (and, if asked, WebSocket upgrade handlers) run only when
 * a gate lets the request through. The gate answers or closes the request itself when it
 * refuses; everything else (listen, publish, close…) passes to the real app unchanged.
 * Route modules register on the gated app exactly as on the real one, unaware of the gate:
 * the access guard (guard-routes.ts) and the request-framing guard (request-framing.ts)
 * are both built this way.
 */

export type Gate = (res: HttpResponse, req: HttpRequest) => boolean;

const ROUTE_METHODS: ReadonlySet<string> = new Set([
  'get',
  'post',
  'put',
  'del',
  'patch',
  'options',
  'head',
  'any',
  'connect',
  'trace',
]);

type Handler = (res: HttpResponse, req: HttpRequest) => unknown;
type Upgrade = (res: HttpResponse, req: HttpRequest, context: us_socket_context_t) => unknown;

export function gatedApp(
  app: TemplatedApp,
  gate: Gate,
  options: { upgrades?: boolean } = {},
): TemplatedApp {
  // Bound methods are cached: route registration and publish go through here often.
  const bound = new Map<PropertyKey, unknown>();
  const gated: TemplatedApp = new Proxy(app, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      let fn = bound.get(prop);
      if (fn !== undefined) return fn;
      const method = value as (...a: unknown[]) => unknown;
      if (typeof prop === 'string' && ROUTE_METHODS.has(prop)) {
        fn = (pattern: RecognizedString, handler: Handler) => {
          method.call(target, pattern, (res: HttpResponse, req: HttpRequest) =>
            gate(res, req) ? handler(res, req) : undefined,
          );
          return gated;
        };
      } else if (prop === 'ws' && options.upgrades) {
        fn = (pattern: RecognizedString, behavior: WebSocketBehavior<unknown>) => {
          const upgrade = behavior.upgrade as Upgrade | undefined;
          method.call(
            target,
            pattern,
            upgrade
              ? {
                  ...behavior,
                  upgrade: (res: HttpResponse, req: HttpRequest, context: us_socket_context_t) =>
                    gate(res, req) ? upgrade(res, req, context) : undefined,
                }
              : behavior,
          );
          return gated;
        };
      } else fn = method.bind(target);
      bound.set(prop, fn);
      return fn;
    },
  });
  return gated;
}
