/** The anti-bot screen's answers, as classes for the OpenAPI document. */
import { ApiProperty } from '@nestjs/swagger';
import type { BotStats } from './bots.service.js';
import type { BotCounts } from './bots.store.js';

const BY_REASON = {
  type: 'object',
  additionalProperties: { type: 'number' },
  description: 'identities by reason: address, network, device, burst, age',
} as const;

export class LoggedVerdictsDto {
  @ApiProperty(BY_REASON)
  shadow!: Record<string, number>;
  @ApiProperty(BY_REASON)
  refuse!: Record<string, number>;
}

export class ProofChecksDto {
  /** Proofs this API process checked since it started. */
  proofs!: number;
  /** CPU they took, µs. */
  cpuMicros!: number;
}

/** The anti-bot screen of a room. */
export class BotStatsDto implements BotStats, BotCounts {
  /** Identities in the shadow queue (mode enforce). */
  @ApiProperty(BY_REASON)
  shadowed!: Record<string, number>;
  /** Identities refused with JOIN_REFUSED (mode enforce). */
  @ApiProperty(BY_REASON)
  refused!: Record<string, number>;
  /** What mode log would have done. */
  logged!: LoggedVerdictsDto;
  verification!: ProofChecksDto;
}

/** A proof-of-work challenge to solve before joining (or `required: false`). */
export class ChallengeViewDto {
  /** false: the room asks for none (join without Join-Proof); the other fields are then absent. */
  required!: boolean;
  /** Send `<challenge>:<n>` as the Join-Proof header of the join. */
  challenge?: string;
  @ApiProperty({ enum: ['SHA-256'], required: false })
  algorithm?: 'SHA-256';
  salt?: string;
  /** Hex SHA-256 of salt + n (n in decimal). */
  hash?: string;
  /** n is in [0, maxNumber]. */
  maxNumber?: number;
  /** 0 base, 1 ×10, 2 ×100. */
  tier?: number;
  expiresAt?: Date;
}

/** The request header the anti-bot caps read (the challenge and the join). */
export const DEVICE_ID_HEADER = {
  name: 'Device-Id',
  description:
    'An id the storefront keeps per browser: the anti-bot caps count accounts per device (a hint: clients can lie).',
};
