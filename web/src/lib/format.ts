/**
 * Number, money and time formatting. Intl formatters are expensive to construct and cheap
 * to call, so every one is built once and cached.
 */

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const one = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const usdCompact = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  notation: 'compact',
  maximumFractionDigits: 2,
});

interface MoneyFormat {
  fmt: Intl.NumberFormat;
  /** ISO 4217 minor-unit exponent: USD 2 (cents), JPY 0, KWD 3. */
  exponent: number;
  /** False for a code Intl does not know (formatted as a plain number plus the code). */
  known: boolean;
}
const money = new Map<string, MoneyFormat>();

function moneyFormat(currency: string): MoneyFormat {
  let entry = money.get(currency);
  if (!entry) {
    let fmt: Intl.NumberFormat;
    let known = true;
    try {
      fmt = new Intl.NumberFormat('en-US', { style: 'currency', currency });
    } catch {
      // An unknown code from a producer must not break the page: show it as a plain number.
      fmt = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
      known = false;
    }
    // Intl knows each currency's ISO minor-unit exponent, which is what amounts are in.
    entry = { fmt, exponent: fmt.resolvedOptions().maximumFractionDigits ?? 2, known };
    money.set(currency, entry);
  }
  return entry;
}

/** Integer minor units → "$1,234.50", "¥1,235". */
export function fmtMoney(minor: number, currency: string): string {
  const { fmt, exponent, known } = moneyFormat(currency);
  const text = fmt.format(minor / 10 ** exponent);
  return known ? text : `${text} ${currency}`;
}

/** USD minor units → "$1.23M". */
export function fmtUsdCompact(minorUsd: number): string {
  return usdCompact.format(minorUsd / 100);
}

export function fmtInt(n: number): string {
  return int.format(n);
}

/** 1234 → "1,234"; 123456 → "123.5K": keeps cards narrow at 100k tx/s. */
export function fmtCount(n: number): string {
  return Math.abs(n) < 100_000 ? int.format(n) : compact.format(n);
}

export function fmtCompact(n: number): string {
  return compact.format(n);
}

export function fmtRate(n: number): string {
  return n < 100 ? one.format(n) : fmtCount(Math.round(n));
}

/** 0.98765 → "98.77%". */
export function fmtPct(ratio: number, digits = 2): string {
  return (ratio * 100).toFixed(digits) + '%';
}

/** Three significant digits at most, so cards never truncate: 4.21 ms, 42.1 ms, 421 ms, 4.21 s. */
export function fmtMs(ms: number): string {
  if (ms < 10) return ms.toFixed(2) + ' ms';
  if (ms < 100) return ms.toFixed(1) + ' ms';
  if (ms < 1000) return ms.toFixed(0) + ' ms';
  return (ms / 1000).toFixed(2) + ' s';
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Epoch ms → "14:03:22.481" local time (the feed needs sub-second order). */
export function fmtClock(epochMs: number): string {
  const d = new Date(epochMs);
  return (
    pad(d.getHours(), 2) +
    ':' +
    pad(d.getMinutes(), 2) +
    ':' +
    pad(d.getSeconds(), 2) +
    '.' +
    pad(d.getMilliseconds(), 3)
  );
}

/** 5 → "5 s", 125 → "2 m 05 s". */
export function fmtSeconds(s: number): string {
  const whole = Math.max(0, Math.round(s));
  if (whole < 60) return `${whole} s`;
  return `${Math.floor(whole / 60)} m ${pad(whole % 60, 2)} s`;
}

export const RULE_LABELS: Record<string, string> = {
  amount_over_threshold: 'Amount over threshold',
  velocity: 'Velocity',
  unusual_pairing: 'Unusual pairing',
};

export function ruleLabel(rule: string | null): string {
  return rule === null ? '' : (RULE_LABELS[rule] ?? rule);
}
