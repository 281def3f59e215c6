/**
 * The built-in scenarios. A stage with `seconds: null` runs until stopped, so a presenter
 * can leave the last stage on screen.
 */

export interface Stage {
  /** tx/s, or 'max' for as fast as the pipeline goes. */
  tps: number | 'max';
  seconds: number | null;
}

export interface ScenarioPlan {
  name: string;
  stages: Stage[];
  /** The first stage starts with a linear ramp of this many seconds from the rate in force. */
  rampUpSeconds: number;
}

export const NAMED_PLANS: Record<'steady' | 'ramp' | 'demo' | 'max', ScenarioPlan> = {
  steady: { name: 'steady', stages: [{ tps: 10, seconds: null }], rampUpSeconds: 0 },
  ramp: {
    name: 'ramp',
    stages: [
      { tps: 10, seconds: 20 },
      { tps: 50, seconds: 20 },
      { tps: 100, seconds: null },
    ],
    rampUpSeconds: 0,
  },
  demo: {
    name: 'demo',
    stages: [
      { tps: 1000, seconds: 60 },
      { tps: 2000, seconds: 60 },
      { tps: 3000, seconds: null },
    ],
    rampUpSeconds: 60,
  },
  max: { name: 'max', stages: [{ tps: 'max', seconds: null }], rampUpSeconds: 0 },
};
