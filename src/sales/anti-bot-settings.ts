/**
 * The anti-bot rules of a sale's waiting room (`waitingRoom.antiBot`), as the
 * admin sets them. The screen that applies them lives in src/bots.
 *
 * - `off`: nothing is asked or counted (the room behaves as if there were no rules).
 * - `log`: joining needs a solved challenge; the signals are counted and a
 *   would-be verdict is recorded, but everybody is let in the queue.
 * - `enforce`: as `log`, and the verdict applies (shadow queue or refusal).
 */
export const ANTI_BOT_MODES = ['off', 'log', 'enforce'] as const;
export type AntiBotMode = (typeof ANTI_BOT_MODES)[number];

/**
 * What a signal over its threshold does: `shadow` parks the identity in the
 * shadow queue (a normal-looking place that never reaches the front),
 * `refuse` answers 403 JOIN_REFUSED, `harder` raises the challenge's
 * difficulty one tier (×10; two signals ×100), `none` only counts.
 */
export const SIGNAL_EFFECTS = ['shadow', 'refuse', 'harder', 'none'] as const;
export type SignalEffect = (typeof SIGNAL_EFFECTS)[number];

// Types, not interfaces: stored as JSON (Prisma's JSON input wants an index signature).

/** A cap on accounts: the first `limit` accounts seen on the key pass, later ones get `effect`; limit 0 = no cap. */
export type AccountCap = {
  limit: number;
  effect: SignalEffect;
};

export type AntiBotSettings = {
  mode: AntiBotMode;
  /** Work of a base-tier challenge (largest hidden number); null: BOTS_BASE_DIFFICULTY. */
  difficulty: number | null;
  /** Accounts per client address (IPv4 or IPv6 address). */
  perAddress: AccountCap;
  /** Accounts per network: the address's /24 (IPv4) or /64 (IPv6). */
  perNetwork: AccountCap;
  /** Accounts per device id (the Device-Id header the storefront page sends: a hint, clients can lie). */
  perDevice: AccountCap;
  /** Accounts younger than `minSeconds` get `effect`; 0 = off. */
  accountAge: { minSeconds: number; effect: SignalEffect };
  /** More than `limit` new accounts from one address within `windowSeconds`: the later ones get `effect`; 0 = off. */
  burst: { limit: number; windowSeconds: number; effect: SignalEffect };
};

/** The rules of a room that asks for anti-bot screening without naming them. */
export const ANTI_BOT_DEFAULTS: AntiBotSettings = {
  mode: 'off',
  difficulty: null,
  perAddress: { limit: 2, effect: 'shadow' },
  perNetwork: { limit: 64, effect: 'shadow' },
  perDevice: { limit: 2, effect: 'shadow' },
  accountAge: { minSeconds: 0, effect: 'harder' },
  burst: { limit: 5, windowSeconds: 60, effect: 'harder' },
};

const isMode = (v: unknown): v is AntiBotMode => ANTI_BOT_MODES.includes(v as AntiBotMode);
const isEffect = (v: unknown): v is SignalEffect => SIGNAL_EFFECTS.includes(v as SignalEffect);
const count = (v: unknown, fallback: number): number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : fallback;

function cap(value: unknown, fallback: AccountCap): AccountCap {
  const v = (value ?? {}) as Partial<AccountCap>;
  return { limit: count(v.limit, fallback.limit), effect: isEffect(v.effect) ? v.effect : fallback.effect };
}

/**
 * The anti-bot rules stored in a room (JSON), every missing or unreadable
 * field taken from ANTI_BOT_DEFAULTS; null or absent: mode `off`.
 */
export function antiBotOf(value: unknown): AntiBotSettings {
  if (value === null || value === undefined || typeof value !== 'object') return ANTI_BOT_DEFAULTS;
  const v = value as Partial<Record<keyof AntiBotSettings, unknown>>;
  const d = ANTI_BOT_DEFAULTS;
  const age = (v.accountAge ?? {}) as Partial<AntiBotSettings['accountAge']>;
  const burst = (v.burst ?? {}) as Partial<AntiBotSettings['burst']>;
  return {
    mode: isMode(v.mode) ? v.mode : d.mode,
    difficulty: typeof v.difficulty === 'number' && v.difficulty > 0 ? v.difficulty : null,
    perAddress: cap(v.perAddress, d.perAddress),
    perNetwork: cap(v.perNetwork, d.perNetwork),
    perDevice: cap(v.perDevice, d.perDevice),
    accountAge: {
      minSeconds: count(age.minSeconds, d.accountAge.minSeconds),
      effect: isEffect(age.effect) ? age.effect : d.accountAge.effect,
    },
    burst: {
      limit: count(burst.limit, d.burst.limit),
      windowSeconds: Math.max(1, count(burst.windowSeconds, d.burst.windowSeconds)),
      effect: isEffect(burst.effect) ? burst.effect : d.burst.effect,
    },
  };
}
