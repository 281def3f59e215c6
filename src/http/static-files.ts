/**
 * Serves the built dashboard (dist/web, written by scripts/build-web.mjs) from memory.
 *
 * Every file is read once at startup together with the `.br` / `.gz` siblings the build
 * precompressed, so a request costs one header parse and one write: no fs calls, no
 * compression on the primary thread (DESIGN §2: the primary never does per-request work it
 * can do once).
 *
 * Each file gets its own static route (`/assets/app-3K2J….js`, `/index.html`, `/`). uWS
 * ranks static routes above parameter and wildcard routes, so these never shadow
 * `/api/*`, `/ws`, `/metrics`, `/healthz` or `/readyz`, whatever order they are added in.
 */

import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** `no-cache` = revalidate every time (ETag makes that a cheap 304), never "do not store". */
const REVALIDATE = 'no-cache';

/** esbuild's `[name]-[hash]` names: an 8+ character base32 hash before the extension(s). */
const HASHED_NAME = /-[A-Z0-9]{8,}(\.[a-z0-9]+)+$/;

/**
 * The page talks only to its own origin (HTTP API and `/ws`). Styles allow inline because
 * uPlot positions its cursor and legend with element styles.
 */
const HTML_HEADERS: [string, string][] = [
  [
    'Content-Security-Policy',
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
      "img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'",
  ],
  ['Referrer-Policy', 'no-referrer'],
  ['X-Frame-Options', 'DENY'],
];

interface Variant {
  body: Buffer;
  etag: string;
  /** `br` or `gzip`; undefined for the identity body. */
  encoding?: 'br' | 'gzip';
}

interface StaticFile {
  type: string;
  cacheControl: string;
  identity: Variant;
  br?: Variant;
  gzip?: Variant;
  extraHeaders: [string, string][];
}

export interface StaticFilesInfo {
  /** False when webRoot has no index.html (the dashboard was not built). */
  built: boolean;
  files: number;
  /** Bytes held in memory, all variants. */
  bytes: number;
}

/**
 * Registers GET and HEAD routes for every file under `webRoot`. Call it after the API
 * routes; it returns what it loaded so the caller can log it.
 */
export function registerStaticFiles(app: TemplatedApp, webRoot: string): StaticFilesInfo {
  if (!existsSync(join(webRoot, 'index.html'))) {
    registerNotBuilt(app);
    return { built: false, files: 0, bytes: 0 };
  }
  let files = 0;
  let bytes = 0;
  for (const path of listFiles(webRoot)) {
    if (path.endsWith('.br') || path.endsWith('.gz')) continue;
    const file = loadFile(path);
    const url = '/' + relative(webRoot, path).split(sep).join('/');
    route(app, url, file);
    if (url === '/index.html') route(app, '/', file);
    files++;
    bytes +=
      file.identity.body.length + (file.br?.body.length ?? 0) + (file.gzip?.body.length ?? 0);
  }
  return { built: true, files, bytes };
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}

function loadFile(path: string): StaticFile {
  const body = readFileSync(path);
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 16);
  const name = path.slice(path.lastIndexOf(sep) + 1);
  const isHtml = extname(path) === '.html';
  const file: StaticFile = {
    type: CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
    // Only content-hashed names may be cached forever: their URL changes with their bytes.
    cacheControl: HASHED_NAME.test(name) && !isHtml ? IMMUTABLE : REVALIDATE,
    identity: { body, etag: `"${hash}"` },
    extraHeaders: isHtml ? HTML_HEADERS : [],
  };
  // A precompressed sibling is used only when it is actually smaller.
  for (const [encoding, suffix] of [
    ['br', '.br'],
    ['gzip', '.gz'],
  ] as const) {
    if (!existsSync(path + suffix)) continue;
    const variant = readFileSync(path + suffix);
    if (variant.length >= body.length) continue;
    file[encoding] = { body: variant, etag: `"${hash}-${encoding}"`, encoding };
  }
  return file;
}

function route(app: TemplatedApp, url: string, file: StaticFile): void {
  app.get(url, (res, req) => serve(res, req, file, false));
  app.head(url, (res, req) => serve(res, req, file, true));
}

function serve(res: HttpResponse, req: HttpRequest, file: StaticFile, head: boolean): void {
  // HttpRequest is stack-allocated: read every header before anything else.
  const acceptEncoding = req.getHeader('accept-encoding');
  const ifNoneMatch = req.getHeader('if-none-match');
  const variant = pickVariant(file, acceptEncoding);
  const notModified = ifNoneMatch !== '' && etagMatches(ifNoneMatch, file);
  res.cork(() => {
    res.writeStatus(notModified ? '304 Not Modified' : '200 OK');
    res.writeHeader('Cache-Control', file.cacheControl);
    res.writeHeader('ETag', variant.etag);
    if (file.br || file.gzip) res.writeHeader('Vary', 'Accept-Encoding');
    if (notModified) {
      // No Content-Length on a 304: it would describe an empty representation.
      res.endWithoutBody();
      return;
    }
    res.writeHeader('Content-Type', file.type);
    res.writeHeader('X-Content-Type-Options', 'nosniff');
    if (variant.encoding) res.writeHeader('Content-Encoding', variant.encoding);
    for (const [k, v] of file.extraHeaders) res.writeHeader(k, v);
    if (head) {
      // This uWS build cannot report a length through endWithoutBody(n) (the response then
      // never completes), so HEAD states the length itself.
      res.writeHeader('Content-Length', String(variant.body.length));
      res.endWithoutBody();
    } else {
      res.end(variant.body);
    }
  });
}

/** Brotli when accepted (smaller), then gzip, else identity. Honours `q=0` refusals. */
function pickVariant(file: StaticFile, acceptEncoding: string): Variant {
  if (acceptEncoding === '') return file.identity;
  let br = false;
  let gzip = false;
  for (const part of acceptEncoding.split(',')) {
    const [token = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.find((p) => p.trim().startsWith('q='));
    if (q !== undefined && Number(q.trim().slice(2)) <= 0) continue;
    if (token === 'br') br = true;
    else if (token === 'gzip') gzip = true;
    else if (token === '*') br = gzip = true;
  }
  if (br && file.br) return file.br;
  if (gzip && file.gzip) return file.gzip;
  return file.identity;
}

/** Every variant carries the same content, so a cached copy in any encoding is still fresh. */
function etagMatches(header: string, file: StaticFile): boolean {
  if (header.trim() === '*') return true;
  const etags = [file.identity.etag, file.br?.etag, file.gzip?.etag];
  return header.split(',').some((tag) => etags.includes(tag.trim().replace(/^W\//, '')));
}

function registerNotBuilt(app: TemplatedApp): void {
  const body = 'Pulseboard dashboard is not built: run `npm run build`.\n';
  const handler = (res: HttpResponse) => {
    res.cork(() => {
      res
        .writeStatus('503 Service Unavailable')
        .writeHeader('Content-Type', 'text/plain; charset=utf-8')
        .writeHeader('Cache-Control', 'no-store')
        .writeHeader('X-Content-Type-Options', 'nosniff')
        .end(body);
    });
  };
  app.get('/', handler);
  app.get('/index.html', handler);
}
