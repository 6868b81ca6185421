import { describe, expect, it } from '@jest/globals';
import { ANTI_BOT_DEFAULTS, antiBotOf, type AntiBotSettings } from '../sales/anti-bot-settings.js';
import { judge, worse, type Signals, type Verdict } from './risk-rules.js';

type Judged = { verdict: Verdict; id: number };

const NOW = 1_800_000_000_000;
const DAY = 86_400_000;
const RULES: AntiBotSettings = {
  ...ANTI_BOT_DEFAULTS,
  mode: 'enforce',
  perAddress: { limit: 2, effect: 'shadow' },
  perNetwork: { limit: 10, effect: 'shadow' },
  perDevice: { limit: 2, effect: 'refuse' },
  accountAge: { minSeconds: 3600, effect: 'harder' },
  burst: { limit: 3, windowSeconds: 60, effect: 'harder' },
};
const FIRST: Signals = {
  addressOrdinal: 1,
  networkOrdinal: 1,
  deviceOrdinal: 1,
  burst: 1,
  accountCreatedAt: NOW - DAY,
};

describe('judge (the risk rules)', () => {
  it('admits an identity with every signal within its threshold', () => {
    expect(judge(FIRST, RULES, NOW)).toEqual({ verdict: 'admit', reason: null, tier: 0, flags: [] });
    expect(judge({ ...FIRST, addressOrdinal: 2, networkOrdinal: 10, deviceOrdinal: 2, burst: 3 }, RULES, NOW)).toEqual({
      verdict: 'admit',
      reason: null,
      tier: 0,
      flags: [],
    });
  });

  it('shadows the account over the per-address cap, and the one over the per-network cap', () => {
    expect(judge({ ...FIRST, addressOrdinal: 3 }, RULES, NOW)).toMatchObject({ verdict: 'shadow', reason: 'address' });
    expect(judge({ ...FIRST, networkOrdinal: 11 }, RULES, NOW)).toMatchObject({ verdict: 'shadow', reason: 'network' });
  });

  it('refusal wins over shadow: the device cap refuses here', () => {
    expect(judge({ ...FIRST, addressOrdinal: 5, deviceOrdinal: 3 }, RULES, NOW)).toEqual({
      verdict: 'refuse',
      reason: 'device',
      tier: 0,
      flags: ['address', 'device'],
    });
  });

  it('a young account (fake clock) gets a harder challenge, not a verdict; it ages out of it', () => {
    const young = { ...FIRST, accountCreatedAt: NOW - 3_599_000 };
    expect(judge(young, RULES, NOW)).toEqual({ verdict: 'admit', reason: null, tier: 1, flags: ['age'] });
    expect(judge(young, RULES, NOW + 1000)).toEqual({ verdict: 'admit', reason: null, tier: 0, flags: [] });
  });

  it('each harder signal raises one tier, at most two', () => {
    const both = { ...FIRST, accountCreatedAt: NOW - 1000, burst: 4 };
    expect(judge(both, RULES, NOW).tier).toBe(2);
    const all = { ...both, addressOrdinal: 9, networkOrdinal: 99, deviceOrdinal: 9 };
    const harderEverywhere: AntiBotSettings = {
      ...RULES,
      perAddress: { limit: 1, effect: 'harder' },
      perNetwork: { limit: 1, effect: 'harder' },
      perDevice: { limit: 1, effect: 'harder' },
    };
    expect(judge(all, harderEverywhere, NOW)).toMatchObject({ verdict: 'admit', tier: 2 });
  });

  it('a signal set to none only flags; limit 0 and minSeconds 0 turn a signal off; unknown signals are skipped', () => {
    const quiet: AntiBotSettings = {
      ...RULES,
      perAddress: { limit: 2, effect: 'none' },
      perNetwork: { limit: 0, effect: 'refuse' },
      accountAge: { minSeconds: 0, effect: 'refuse' },
    };
    expect(judge({ ...FIRST, addressOrdinal: 9, networkOrdinal: 999, accountCreatedAt: NOW }, quiet, NOW)).toEqual({
      verdict: 'admit',
      reason: null,
      tier: 0,
      flags: ['address'],
    });
    const unknown: Signals = {
      addressOrdinal: null,
      networkOrdinal: null,
      deviceOrdinal: null,
      burst: null,
      accountCreatedAt: null,
    };
    expect(judge(unknown, RULES, NOW)).toEqual({ verdict: 'admit', reason: null, tier: 0, flags: [] });
  });

  it('the burst rule can shadow too', () => {
    const rules = { ...RULES, burst: { limit: 3, windowSeconds: 60, effect: 'shadow' as const } };
    expect(judge({ ...FIRST, burst: 4 }, rules, NOW)).toMatchObject({ verdict: 'shadow', reason: 'burst' });
  });

  it('worse keeps the more severe verdict, the first on a tie', () => {
    const admit: Judged = { verdict: 'admit', id: 1 };
    const shadow: Judged = { verdict: 'shadow', id: 2 };
    const refuse: Judged = { verdict: 'refuse', id: 3 };
    expect(worse(admit, shadow)).toBe(shadow);
    expect(worse(refuse, shadow)).toBe(refuse);
    expect(worse(shadow, { ...shadow, id: 4 })).toBe(shadow);
  });
});

describe("antiBotOf (a room's stored rules)", () => {
  it('is off when absent, and fills what a room leaves out from the defaults', () => {
    expect(antiBotOf(null).mode).toBe('off');
    expect(antiBotOf(undefined)).toEqual(ANTI_BOT_DEFAULTS);
    expect(antiBotOf({ mode: 'enforce', perAddress: { limit: 5 } })).toEqual({
      ...ANTI_BOT_DEFAULTS,
      mode: 'enforce',
      perAddress: { limit: 5, effect: 'shadow' },
    });
  });

  it('ignores unreadable fields', () => {
    expect(antiBotOf({ mode: 'strict', difficulty: -3, perDevice: { limit: 1.5, effect: 'ban' } })).toEqual(
      ANTI_BOT_DEFAULTS,
    );
  });
});
