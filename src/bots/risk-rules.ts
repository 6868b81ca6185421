import type { AntiBotSettings, SignalEffect } from '../sales/anti-bot-settings.js';
import type { Tier } from './challenge.js';

export type Verdict = 'admit' | 'shadow' | 'refuse';
/** Which signal decided: too many accounts per address, network or device, a join burst, a young account. */
export const REASONS = ['address', 'network', 'device', 'burst', 'age'] as const;
export type Reason = (typeof REASONS)[number];

/** What the door knows of an identity joining a sale (null: not known, the signal is skipped). */
export interface Signals {
  /** This account is the n-th seen on its client address for this sale. */
  addressOrdinal: number | null;
  /** … on its network (/24 or /64). */
  networkOrdinal: number | null;
  /** … on its device id. */
  deviceOrdinal: number | null;
  /** New accounts seen on its address within the burst window when it first came, itself included. */
  burst: number | null;
  /** When the account was created (ms). */
  accountCreatedAt: number | null;
}

export interface Judgment {
  verdict: Verdict;
  /** The signal behind the verdict (null when admitted with no signal over its threshold). */
  reason: Reason | null;
  /** Difficulty tier of the challenge this identity must solve. */
  tier: Tier;
  /** Every signal over its threshold. */
  flags: Reason[];
}

const SEVERITY: Record<Verdict, number> = { admit: 0, shadow: 1, refuse: 2 };

/** The signals over their thresholds, each with the effect the sale gives it. */
function triggered(s: Signals, rules: AntiBotSettings, now: number): [Reason, SignalEffect][] {
  const over = (ordinal: number | null, limit: number): boolean => ordinal !== null && limit > 0 && ordinal > limit;
  const out: [Reason, SignalEffect][] = [];
  if (over(s.addressOrdinal, rules.perAddress.limit)) out.push(['address', rules.perAddress.effect]);
  if (over(s.networkOrdinal, rules.perNetwork.limit)) out.push(['network', rules.perNetwork.effect]);
  if (over(s.deviceOrdinal, rules.perDevice.limit)) out.push(['device', rules.perDevice.effect]);
  if (over(s.burst, rules.burst.limit)) out.push(['burst', rules.burst.effect]);
  const { minSeconds, effect } = rules.accountAge;
  if (minSeconds > 0 && s.accountCreatedAt !== null && now - s.accountCreatedAt < minSeconds * 1000)
    out.push(['age', effect]);
  return out;
}

/**
 * The verdict on an identity from its signals and the sale's rules: refused
 * if a signal over its threshold says `refuse`, else shadowed if one says
 * `shadow`, else admitted; each `harder` signal raises the challenge one tier
 * (at most two). The mode is not applied here (see BotsService.screen).
 */
export function judge(signals: Signals, rules: AntiBotSettings, now: number): Judgment {
  const flags = triggered(signals, rules, now);
  let verdict: Verdict = 'admit';
  let reason: Reason | null = null;
  let harder = 0;
  for (const [signal, effect] of flags) {
    if (effect === 'harder') harder++;
    else if ((effect === 'refuse' || effect === 'shadow') && SEVERITY[effect] > SEVERITY[verdict]) {
      verdict = effect;
      reason = signal;
    }
  }
  return { verdict, reason, tier: Math.min(2, harder) as Tier, flags: flags.map(([signal]) => signal) };
}

/** The more severe of two verdicts (an identity judged once keeps the worst it got). */
export function worse<V extends { verdict: Verdict }>(a: V, b: V): V {
  return SEVERITY[b.verdict] > SEVERITY[a.verdict] ? b : a;
}
