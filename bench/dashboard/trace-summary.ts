import { readFileSync } from 'node:fs';

/**
 * Summarises a Chromium performance trace (what `browser.startTracing` / `stopTracing`
 * returns, with the `disabled-by-default-v8.cpu_profiler` category) of the dashboard:
 *
 * - the renderer main thread's longest tasks and animation frames (the page's updates run
 *   in requestAnimationFrame callbacks, pb-app.ts), and where main-thread time goes by
 *   trace event (Paint, Layout, FunctionCall, …);
 * - inside animation frames, from the sampled CPU profile: self time per function, and
 *   time per *page module*: each sample charged to the nearest frame of the page's own
 *   code (web/src/…) on its stack, so uPlot's or Lit's work counts for the component that
 *   asked for it.
 *
 * Function names and modules are readable when the bundle is not minified
 * (`node scripts/build-web.mjs --no-minify`): esbuild then marks each module with a
 * `// web/src/…` (or `// node_modules/…`) comment line, and `bundle` (the built
 * app-*.js text) lets a profile line be named by its module.
 *
 *   node dist/bench/dashboard/trace-summary.js trace.json [dist/web/assets/app-….js]
 */

interface CallFrame {
  functionName: string;
  url?: string;
  lineNumber?: number;
}

interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  /** Thread CPU time of a complete event: what it ran, not how long it waited for a core. */
  tdur?: number;
  tid: number;
  pid: number;
  id?: string;
  args?: {
    name?: string;
    data?: {
      startTime?: number;
      cpuProfile?: {
        nodes?: { id: number; parent?: number; callFrame: CallFrame }[];
        samples?: number[];
      };
      timeDeltas?: number[];
    };
  };
}

export interface Quantiles {
  p50: number;
  p95: number;
  /** Total over all frames. */
  ms: number;
}

export interface TraceSummary {
  /** Renderer main thread: tasks, those over 4 ms, the longest. */
  tasks: number;
  tasksOver4Ms: number;
  longestTasksMs: number[];
  frames: number;
  framesOver4Ms: number;
  longestFramesMs: number[];
  /**
   * The tasks that ran an animation frame, whole: the rAF callbacks and then style, layout,
   * paint and the commit (where a 2D canvas's drawing is rasterised); what an update costs
   * the main thread. p50/p95 per phase across those tasks, in wall time and in the main
   * thread's CPU time (which, on a shared machine, leaves out waiting for a core).
   */
  frameTasks: { phase: string; wall: Quantiles; cpu: Quantiles }[];
  /** Main-thread time per trace event name, top entries (nested events overlap). */
  events: { name: string; ms: number; count: number }[];
  /** Sampled CPU time inside animation frames. */
  frameCpuMs: number;
  selfTime: { fn: string; ms: number; share: number }[];
  byModule: { module: string; ms: number; share: number }[];
}

/** Line → module, from an unminified esbuild bundle's `// path` comments. */
function moduleLines(bundle: string | undefined): (line: number) => string | undefined {
  if (!bundle) return () => undefined;
  const marks: { line: number; path: string }[] = [];
  const lines = bundle.split('\n');
  for (let i = 0; i < lines.length; i++) {
    // `// web/src/lib/format.ts`, `// src/…` (shared with the server),
    // `// ../main/node_modules/uplot/dist/uPlot.esm.js` (libraries: named by package).
    const m = /^\/\/ (\S+\.[cm]?[jt]s)$/.exec(lines[i]!);
    if (m) marks.push({ line: i, path: m[1]!.replace(/^.*node_modules\//, '') });
  }
  return (line) => {
    let lo = 0;
    let hi = marks.length - 1;
    let found: string | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (marks[mid]!.line <= line) {
        found = marks[mid]!.path;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
}

export function summariseTrace(json: string, bundle?: string, top = 12): TraceSummary {
  const doc = JSON.parse(json) as { traceEvents: TraceEvent[] } | TraceEvent[];
  const events = Array.isArray(doc) ? doc : doc.traceEvents;
  const moduleOf = moduleLines(bundle);

  // The renderer main thread is named CrRendererMain; with several, the busiest.
  const mains = events
    .filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
    .map((e) => `${e.pid}:${e.tid}`);
  const onMain = events.filter(
    (e) => e.ph === 'X' && e.dur !== undefined && mains.includes(`${e.pid}:${e.tid}`),
  );
  const busy = new Map<string, number>();
  for (const e of onMain)
    busy.set(`${e.pid}:${e.tid}`, (busy.get(`${e.pid}:${e.tid}`) ?? 0) + e.dur!);
  const main = [...busy.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const mainEvents = onMain.filter((e) => `${e.pid}:${e.tid}` === main);
  const durs = (name: string) =>
    mainEvents
      .filter((e) => e.name === name)
      .map((e) => e.dur! / 1000)
      .sort((a, b) => b - a);
  const tasks = durs('RunTask');
  const frames = durs('FireAnimationFrame');
  const perName = new Map<string, { ms: number; count: number }>();
  for (const e of mainEvents) {
    const s = perName.get(e.name) ?? { ms: 0, count: 0 };
    s.ms += e.dur! / 1000;
    s.count++;
    perName.set(e.name, s);
  }

  // The CPU profile: nodes and samples arrive in chunks; sample times are cumulative deltas
  // from the profile's start.
  const frameSpans = mainEvents
    .filter((e) => e.name === 'FireAnimationFrame')
    .map((e) => [e.ts, e.ts + e.dur!] as const)
    .sort((a, b) => a[0] - b[0]);
  const nodes = new Map<number, { parent?: number; callFrame: CallFrame }>();
  const samples: { ts: number; node: number }[] = [];
  let t = events.find((e) => e.name === 'Profile')?.args?.data?.startTime ?? 0;
  for (const c of events.filter((e) => e.name === 'ProfileChunk').sort((a, b) => a.ts - b.ts)) {
    const p = c.args?.data?.cpuProfile;
    for (const n of p?.nodes ?? []) nodes.set(n.id, n);
    const deltas = c.args?.data?.timeDeltas ?? [];
    (p?.samples ?? []).forEach((node, i) => {
      t += deltas[i] ?? 0;
      samples.push({ ts: t, node });
    });
  }
  // Chromium's timeDeltas can be negative (samples arrive out of order): sort by time.
  samples.sort((a, b) => a.ts - b.ts);
  const inFrame = (ts: number): boolean => {
    let lo = 0;
    let hi = frameSpans.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (frameSpans[mid]![0] <= ts) {
        if (ts <= frameSpans[mid]![1]) return true;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return false;
  };
  const label = (cf: CallFrame): string => {
    const mod = cf.lineNumber === undefined ? undefined : moduleOf(cf.lineNumber);
    const where = mod ?? (cf.url ? `${cf.url.split('/').pop()}:${(cf.lineNumber ?? 0) + 1}` : '');
    return `${cf.functionName || '(anonymous)'}${where ? ` (${where})` : ''}`;
  };
  const self = new Map<string, number>();
  const byModule = new Map<string, number>();
  let frameCpu = 0;
  for (let i = 0; i + 1 < samples.length; i++) {
    const s = samples[i]!;
    if (!inFrame(s.ts)) continue;
    // A sample stands for the time until the next one (capped: the profiler can stall).
    const us = Math.max(0, Math.min(2000, samples[i + 1]!.ts - s.ts));
    const leaf = nodes.get(s.node);
    if (!leaf || leaf.callFrame.functionName === '(idle)') continue;
    frameCpu += us;
    const fn = label(leaf.callFrame);
    self.set(fn, (self.get(fn) ?? 0) + us);
    let owner = '(not the page: native or runtime)';
    for (
      let n: typeof leaf | undefined = leaf;
      n;
      n = n.parent === undefined ? undefined : nodes.get(n.parent)
    ) {
      const mod =
        n.callFrame.lineNumber === undefined ? undefined : moduleOf(n.callFrame.lineNumber);
      if (mod?.startsWith('web/')) {
        owner = `${mod.replace(/^web\/src\//, '')} ${n.callFrame.functionName || '(anonymous)'}`;
        break;
      }
    }
    byModule.set(owner, (byModule.get(owner) ?? 0) + us);
  }
  const ranked = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({
        k,
        ms: round(us / 1000),
        share: round((us / Math.max(1, frameCpu)) * 100),
      }));
  return {
    frameTasks: frameTaskPhases(mainEvents),
    tasks: tasks.length,
    tasksOver4Ms: tasks.filter((d) => d > 4).length,
    longestTasksMs: tasks.slice(0, 6).map(round),
    frames: frames.length,
    framesOver4Ms: frames.filter((d) => d > 4).length,
    longestFramesMs: frames.slice(0, 6).map(round),
    events: [...perName.entries()]
      .sort((a, b) => b[1].ms - a[1].ms)
      .filter(([name]) => !name.startsWith('ThreadControllerImpl') && name !== 'RunTask')
      .slice(0, 10)
      .map(([name, s]) => ({ name, ms: round(s.ms), count: s.count })),
    frameCpuMs: round(frameCpu / 1000),
    selfTime: ranked(self).map(({ k, ms, share }) => ({ fn: k, ms, share })),
    byModule: ranked(byModule).map(({ k, ms, share }) => ({ module: k, ms, share })),
  };
}

const PHASES = ['FireAnimationFrame', 'UpdateLayoutTree', 'Layout', 'PrePaint', 'Paint', 'Commit'];

/** Per animation frame: its enclosing task's duration and the time in each phase. */
function frameTaskPhases(mainEvents: TraceEvent[]): TraceSummary['frameTasks'] {
  const sorted = [...mainEvents].sort((a, b) => a.ts - b.ts);
  const tasks = sorted.filter((e) => e.name === 'ThreadControllerImpl::RunTask');
  const phases = ['task', ...PHASES];
  const wall = new Map<string, number[]>(phases.map((p) => [p, []]));
  const cpu = new Map<string, number[]>(phases.map((p) => [p, []]));
  const add = (phase: string, events: TraceEvent[]) => {
    wall.get(phase)!.push(events.reduce((sum, e) => sum + e.dur!, 0) / 1000);
    cpu.get(phase)!.push(events.reduce((sum, e) => sum + (e.tdur ?? 0), 0) / 1000);
  };
  for (const f of sorted.filter((e) => e.name === 'FireAnimationFrame')) {
    const task = tasks.find((t) => t.ts <= f.ts && t.ts + t.dur! >= f.ts + f.dur!);
    if (!task) continue;
    add('task', [task]);
    const inside = sorted.filter((e) => e.ts >= task.ts && e.ts + e.dur! <= task.ts + task.dur!);
    for (const p of PHASES)
      add(
        p,
        inside.filter((e) => e.name === p),
      );
  }
  return phases.map((phase) => ({
    phase,
    wall: quantiles(wall.get(phase)!),
    cpu: quantiles(cpu.get(phase)!),
  }));
}

function quantiles(xs: number[]): Quantiles {
  const q = [...xs].sort((a, b) => a - b);
  const at = (p: number) => q[Math.max(0, Math.ceil(p * q.length) - 1)] ?? 0;
  return { p50: round(at(0.5)), p95: round(at(0.95)), ms: round(xs.reduce((a, b) => a + b, 0)) };
}

export function formatSummary(s: TraceSummary): string {
  const pad = (ms: number, share?: number) =>
    `${ms.toFixed(1).padStart(7)} ms${share === undefined ? '' : ` ${share.toFixed(1).padStart(5)} %`}`;
  return [
    `main thread: ${s.tasks} tasks (${s.tasksOver4Ms} over 4 ms; longest ${s.longestTasksMs.join(', ')} ms)`,
    `animation frames (the updates): ${s.frames} (${s.framesOver4Ms} over 4 ms; longest ${s.longestFramesMs.join(', ')} ms)`,
    'animation frame tasks, whole (task) and by phase, ms: wall p50 / p95 / total · main-thread CPU p50 / p95 / total',
    ...s.frameTasks.map((f) => {
      const q = (x: Quantiles) =>
        `${x.p50.toFixed(1).padStart(6)} ${x.p95.toFixed(1).padStart(6)} ${x.ms.toFixed(1).padStart(8)}`;
      return `  ${f.phase.padEnd(18)} ${q(f.wall)} · ${q(f.cpu)}`;
    }),
    'main-thread time by trace event:',
    ...s.events.map((e) => `  ${pad(e.ms)}  ${e.name} ×${e.count}`),
    `sampled CPU inside animation frames: ${s.frameCpuMs} ms; by page module (nearest web/src frame on the stack):`,
    ...s.byModule.map((m) => `  ${pad(m.ms, m.share)}  ${m.module}`),
    'self time inside animation frames:',
    ...s.selfTime.map((f) => `  ${pad(f.ms, f.share)}  ${f.fn}`),
  ].join('\n');
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

if (process.argv[1]?.endsWith('trace-summary.js') && process.argv[2]) {
  const bundle = process.argv[3] ? readFileSync(process.argv[3], 'utf8') : undefined;
  process.stdout.write(
    `${formatSummary(summariseTrace(readFileSync(process.argv[2], 'utf8'), bundle))}\n`,
  );
}
