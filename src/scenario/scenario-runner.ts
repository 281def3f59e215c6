import type { Options } from '../config/option-specs.js';
import type { Logger } from '../log/logger.js';
import type { ShardPool } from '../pipeline/shard-pool.js';
import { NAMED_PLANS, type ScenarioPlan, type Stage } from './named-scenarios.js';
import type { ScenarioBody } from './scenario-body.js';

/**
 * Drives the simulator rate through a scenario's stages. Between scenarios (idle, stopped,
 * completed) the simulator runs at its configured base rate (SIM_TPS). The runner only
 * writes a rate into shared memory every STEP_MS; the shards do the rest.
 */

const STEP_MS = 100;

export type ScenarioState = 'idle' | 'running' | 'completed' | 'stopped';

export interface ScenarioStatus {
  state: ScenarioState;
  scenario: string | null;
  stages: Stage[];
  rampUpSeconds: number;
  stageIndex: number;
  /** Seconds spent in the current stage (including the ramp-up of the first one). */
  stageElapsedS: number;
  /** Share of the whole plan done, 0..1; null when the last stage runs until stopped. */
  progress: number | null;
  /** Rate in force now (null = as fast as possible). */
  currentTps: number | null;
  startedAt: number | null;
  endedAt: number | null;
}

export class ScenarioRunner {
  private plan: ScenarioPlan | null = null;
  private state: ScenarioState = 'idle';
  private stageIndex = 0;
  private stageStart = 0;
  private startedAt: number | null = null;
  private endedAt: number | null = null;
  private fromTps = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: ShardPool,
    private readonly options: Options,
    private readonly log: Logger,
  ) {}

  /**
   * Starts `body`. `elapsedMs`: as if it had started that long ago (a cluster node joining a
   * scenario the others already run, src/cluster/cluster-control.ts).
   */
  start(body: ScenarioBody, elapsedMs = 0): ScenarioStatus {
    let plan: ScenarioPlan;
    if (body.scenario) plan = structuredClone(NAMED_PLANS[body.scenario]);
    else if (body.stages) plan = { name: 'custom', stages: body.stages, rampUpSeconds: 0 };
    else
      plan = {
        name: 'custom',
        stages: [{ tps: body.tps!, seconds: body.duration ?? null }],
        rampUpSeconds: 0,
      };
    if (body.rampUpSeconds !== undefined) plan.rampUpSeconds = body.rampUpSeconds;

    this.halt();
    const current = this.pool.simulatorParams.tps;
    this.fromTps = Number.isFinite(current) ? current : 0;
    this.plan = plan;
    this.state = 'running';
    this.stageIndex = 0;
    this.stageStart = performance.now() - elapsedMs;
    this.startedAt = Date.now() - elapsedMs;
    this.endedAt = null;
    this.pool.setParams({
      failureRate: body.failureRate ?? this.options.failureRate,
      pairingRate: body.flagRate ?? this.options.unusualPairRate,
      sources: body.sources ? body.sources.map((s) => this.options.sources.indexOf(s)) : [],
    });
    this.step();
    this.timer = setInterval(() => this.step(), STEP_MS);
    this.log.info(
      { scenario: plan.name, stages: plan.stages, rampUpSeconds: plan.rampUpSeconds },
      'scenario started',
    );
    return this.status();
  }

  stop(): ScenarioStatus {
    if (this.state === 'running') {
      this.halt();
      this.state = 'stopped';
      this.endedAt = Date.now();
      this.restoreBase();
      this.log.info({ scenario: this.plan?.name }, 'scenario stopped');
    }
    return this.status();
  }

  /** Stops the timer for good (shutdown). */
  close(): void {
    this.halt();
  }

  status(): ScenarioStatus {
    const plan = this.plan;
    const elapsed = this.state === 'running' ? (performance.now() - this.stageStart) / 1000 : 0;
    let progress: number | null = null;
    if (plan?.stages.every((s) => s.seconds !== null)) {
      const total = plan.rampUpSeconds + plan.stages.reduce((n, s) => n + s.seconds!, 0);
      if (this.state === 'completed') progress = 1;
      else if (this.state === 'running') {
        let done = elapsed;
        for (let i = 0; i < this.stageIndex; i++) done += this.stageLength(i);
        progress = Math.min(1, Math.round((done / total) * 1000) / 1000);
      }
    }
    const tps = this.pool.simulatorParams.tps;
    return {
      state: this.state,
      scenario: plan?.name ?? null,
      stages: plan?.stages ?? [],
      rampUpSeconds: plan?.rampUpSeconds ?? 0,
      stageIndex: this.stageIndex,
      stageElapsedS: Math.round(elapsed * 10) / 10,
      progress,
      currentTps: Number.isFinite(tps) ? Math.round(tps) : null,
      startedAt: this.startedAt,
      endedAt: this.endedAt,
    };
  }

  private stageLength(i: number): number {
    const s = this.plan!.stages[i]!;
    return (s.seconds ?? Number.POSITIVE_INFINITY) + (i === 0 ? this.plan!.rampUpSeconds : 0);
  }

  private step(): void {
    const plan = this.plan;
    if (!plan || this.state !== 'running') return;
    let elapsed = (performance.now() - this.stageStart) / 1000;
    while (elapsed >= this.stageLength(this.stageIndex)) {
      elapsed -= this.stageLength(this.stageIndex);
      this.stageStart += this.stageLength(this.stageIndex) * 1000;
      this.stageIndex++;
      if (this.stageIndex >= plan.stages.length) {
        this.stageIndex = plan.stages.length - 1;
        this.halt();
        this.state = 'completed';
        this.endedAt = Date.now();
        this.restoreBase();
        this.log.info({ scenario: plan.name }, 'scenario completed');
        return;
      }
      this.log.info(
        { scenario: plan.name, stage: this.stageIndex, tps: plan.stages[this.stageIndex]!.tps },
        'scenario stage',
      );
    }
    const stage = plan.stages[this.stageIndex]!;
    let tps = stage.tps === 'max' ? Number.POSITIVE_INFINITY : stage.tps;
    if (
      this.stageIndex === 0 &&
      plan.rampUpSeconds > 0 &&
      elapsed < plan.rampUpSeconds &&
      Number.isFinite(tps)
    ) {
      tps = this.fromTps + (tps - this.fromTps) * (elapsed / plan.rampUpSeconds);
    }
    if (tps !== this.pool.simulatorParams.tps) this.pool.setParams({ tps });
  }

  private restoreBase(): void {
    this.pool.setParams({
      tps: this.options.simTps,
      failureRate: this.options.failureRate,
      pairingRate: this.options.unusualPairRate,
      sources: [],
    });
  }

  private halt(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
