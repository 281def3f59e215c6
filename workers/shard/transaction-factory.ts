import { CURRENCIES, FAILURE_REASONS, FLAG_RULE, STATUS } from '../../src/shared/catalog.js';
import { idHigh, idLow, TX_ID_EPOCH_MS, TX_ID_SEQUENCE_BITS } from '../../src/shared/tx-id.js';
import type { RecordViews } from '../../src/shared/tx-ring.js';
import { amountTable, processingDelayTable, TABLE_MASK, weightedPicker } from './distributions.js';
import { FraudRules, usualCurrencyMask } from './fraud-rules.js';

/**
 * Writes one new simulated transaction into a slot of the in-flight pool: account,
 * source, type, amount, currency, outcome and planned processing time, and runs the fraud
 * rules on it. No object is allocated per transaction.
 */

const SOURCE_SKEW = 0.8; // earlier sources carry more traffic: weight 1/(i+1)^0.8
/** Weights in catalog TX_TYPES order: purchase, refund, transfer, withdrawal, deposit, payment. */
const TYPE_WEIGHTS = [0.5, 0.05, 0.15, 0.05, 0.05, 0.2];
/** Per-source amount scale: wires and ACH move larger sums than card and p2p payments. */
const AMOUNT_SCALE: Record<string, number> = { wire: 5, ach: 3, atm: 1.5 };
const MAX_SEQUENCE = (1 << TX_ID_SEQUENCE_BITS) - 1;

export interface FactoryConfig {
  worker: number;
  shardIndex: number;
  shardCount: number;
  accounts: number;
  sourceNames: readonly string[];
  procMinMs: number;
  procMedianMs: number;
  procMaxMs: number;
  fraudAmountThreshold: number;
  fraudVelocityMax: number;
}

export class TransactionFactory {
  readonly fraud: FraudRules;
  private readonly delays: Uint16Array;
  private readonly amounts = amountTable();
  private readonly typePicker = weightedPicker(TYPE_WEIGHTS);
  private readonly usualPickers: Uint8Array[] = [];
  private readonly unusualCurrencies: number[][] = [];
  private readonly amountScale: Float64Array;
  private readonly accountSlots: number;
  private sourcePicker: Uint8Array = new Uint8Array(256);
  private failureRate = 0;
  private pairingRate = 0;
  private sourceMask = 0;
  private lastMs = 0;
  private sequence = 0;

  constructor(private readonly cfg: FactoryConfig) {
    this.delays = processingDelayTable(cfg.procMinMs, cfg.procMedianMs, cfg.procMaxMs);
    this.accountSlots = Math.ceil(cfg.accounts / cfg.shardCount);
    this.fraud = new FraudRules(
      this.accountSlots,
      cfg.sourceNames.length,
      cfg.fraudAmountThreshold,
      cfg.fraudVelocityMax,
    );
    this.amountScale = new Float64Array(cfg.sourceNames.map((s) => AMOUNT_SCALE[s] ?? 1));
    for (let s = 0; s < cfg.sourceNames.length; s++) {
      const usual = usualCurrencyMask(s);
      this.usualPickers.push(
        weightedPicker(CURRENCIES.map((c, i) => (usual & (1 << i) ? c.weight : 0))),
      );
      this.unusualCurrencies.push(
        CURRENCIES.map((_, i) => i).filter((i) => (usual & (1 << i)) === 0),
      );
    }
    this.setParams(0, 0, -1);
  }

  setParams(failureRate: number, pairingRate: number, sourceMask: number): void {
    this.failureRate = failureRate;
    this.pairingRate = pairingRate;
    if (sourceMask !== this.sourceMask) {
      this.sourceMask = sourceMask;
      const weights = this.cfg.sourceNames.map((_, i) =>
        (sourceMask >>> i) & 1 ? 1 / (i + 1) ** SOURCE_SKEW : 0,
      );
      // An all-zero mask would leave nothing to pick: fall back to every source.
      this.sourcePicker = weightedPicker(
        weights.some((w) => w > 0) ? weights : weights.map(() => 1),
      );
    }
  }

  /** The ms part (since TX_ID_EPOCH_MS) of the last id minted. */
  get lastIdMs(): number {
    return this.lastMs;
  }

  /**
   * For a restarted shard: mint only above `ms`, the last id ms of the thread it replaces
   * (as if that ms's sequence were used up), so no id can repeat one minted before.
   */
  resumeIdsAfter(ms: number): void {
    this.lastMs = ms;
    this.sequence = MAX_SEQUENCE;
  }

  /**
   * Gives pool slot `slot` its id, minted at `nowMs` (integer epoch ms): the moment it
   * completes, not the moment it was created. The shard completes transactions in time
   * order, so its ids rise in ring order and the writers append them at the right edge of
   * the primary key instead of scattering them over the last seconds of it
   * (profiles/README.md). Borrows the next ms when a ms's 4,096 sequence numbers are used.
   */
  mintId(p: RecordViews, slot: number, nowMs: number): void {
    let ms = nowMs - TX_ID_EPOCH_MS;
    if (ms <= this.lastMs) {
      if (this.sequence === MAX_SEQUENCE) {
        this.lastMs++;
        this.sequence = 0;
      } else this.sequence++;
      ms = this.lastMs;
    } else {
      this.lastMs = ms;
      this.sequence = 0;
    }
    p.idHi[slot] = idHigh(ms);
    p.idLo[slot] = idLow(ms, this.cfg.worker, this.sequence);
  }

  /**
   * Fills pool slot `slot` with a new transaction created at `nowMs` (integer epoch ms),
   * all but its id (mintId, at completion). Returns its planned processing time in ms.
   */
  create(p: RecordViews, slot: number, nowMs: number): number {
    const source = this.sourcePicker[(Math.random() * 256) | 0]!;
    let currency: number;
    if (this.pairingRate > 0 && Math.random() < this.pairingRate) {
      const unusual = this.unusualCurrencies[source]!;
      currency = unusual[(Math.random() * unusual.length) | 0]!;
    } else {
      currency = this.usualPickers[source]![(Math.random() * 256) | 0]!;
    }
    const cur = CURRENCIES[currency]!;
    const usd = this.amounts[(Math.random() * TABLE_MASK) | 0]! * this.amountScale[source]!;
    const amount = Math.max(1, Math.round(usd / cur.usdPerMinor));
    const amountUsd = amount * cur.usdPerMinor;

    const accountSlot = (Math.random() * this.accountSlots) | 0;
    const flag = this.fraud.check(accountSlot, nowMs, amountUsd, source, currency);
    const failed = Math.random() < this.failureRate;
    const delay = this.delays[(Math.random() * TABLE_MASK) | 0]!;

    p.createdAt[slot] = nowMs;
    p.completedAt[slot] = 0;
    p.amount[slot] = amount;
    p.processingMs[slot] = delay;
    p.account[slot] = accountSlot * this.cfg.shardCount + this.cfg.shardIndex;
    p.source[slot] = source;
    p.currency[slot] = currency;
    p.type[slot] = this.typePicker[(Math.random() * 256) | 0]!;
    p.status[slot] = STATUS.pending;
    p.failureReason[slot] = failed ? 1 + ((Math.random() * (FAILURE_REASONS.length - 1)) | 0) : 0;
    p.flagRule[slot] = flag;
    p.riskScore[slot] = riskScore(amountUsd, this.fraud.velocity(accountSlot), flag);
    return delay;
  }
}

/** A 0–100 score: larger amounts, busier accounts and any matched rule score higher. */
function riskScore(amountUsd: number, velocity: number, flag: number): number {
  let score = amountUsd > 100 ? 8 * Math.log10(amountUsd / 100) : 0;
  score += velocity * 4 + Math.random() * 10;
  if (flag !== FLAG_RULE.none) score += 45;
  return score >= 100 ? 100 : score | 0;
}
