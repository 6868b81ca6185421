import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsObject, IsOptional, Max, Min, ValidateNested } from 'class-validator';
import { ANTI_BOT_MODES, SIGNAL_EFFECTS, type AntiBotMode, type SignalEffect } from '../../sales/anti-bot-settings.js';

/** Largest base work a sale may ask of a challenge (×100 at the top tier). */
export const MAX_DIFFICULTY = 10_000_000;

const effect = { enum: SIGNAL_EFFECTS, description: 'shadow, refuse, harder (the challenge ×10 per signal) or none' };

/** A cap on accounts seen on one key (address, network, device): the first `limit` pass, the rest get `effect`. */
export class AccountCapDto {
  /** Accounts that pass; 0 = no cap. */
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  limit!: number;

  @ApiProperty(effect)
  @IsIn(SIGNAL_EFFECTS)
  effect!: SignalEffect;
}

/** Accounts younger than `minSeconds` get `effect`. */
export class AccountAgeDto {
  /** 0 = off. */
  @IsInt()
  @Min(0)
  @Max(31_536_000)
  minSeconds!: number;

  @ApiProperty(effect)
  @IsIn(SIGNAL_EFFECTS)
  effect!: SignalEffect;
}

/** More than `limit` new accounts from one address within `windowSeconds`: the later ones get `effect`. */
export class BurstDto {
  /** 0 = off. */
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  limit!: number;

  @IsInt()
  @Min(1)
  @Max(86_400)
  windowSeconds!: number;

  @ApiProperty(effect)
  @IsIn(SIGNAL_EFFECTS)
  effect!: SignalEffect;
}

/**
 * The anti-bot rules of a sale's waiting room (docs/security.md, Bots
 * and scalpers). `off` by default; `log` asks for the challenge and counts what
 * the rules would do; `enforce` applies them. What is left out takes its
 * default (see ANTI_BOT_DEFAULTS), on create and on update alike.
 */
export class AntiBotDto {
  @ApiProperty({ enum: ANTI_BOT_MODES, example: 'enforce' })
  @IsIn(ANTI_BOT_MODES)
  mode!: AntiBotMode;

  /** Work of a base-tier challenge: the largest number it hides (default BOTS_BASE_DIFFICULTY). */
  @IsOptional()
  @IsInt()
  @Min(1000)
  @Max(MAX_DIFFICULTY)
  difficulty?: number;

  /** Accounts per client address (default 2, shadow). */
  @IsOptional()
  @IsObject({ message: 'must be an object' })
  @ValidateNested()
  @Type(() => AccountCapDto)
  perAddress?: AccountCapDto;

  /** Accounts per network, /24 or /64 (default 64, shadow). */
  @IsOptional()
  @IsObject({ message: 'must be an object' })
  @ValidateNested()
  @Type(() => AccountCapDto)
  perNetwork?: AccountCapDto;

  /** Accounts per Device-Id header (default 2, shadow). */
  @IsOptional()
  @IsObject({ message: 'must be an object' })
  @ValidateNested()
  @Type(() => AccountCapDto)
  perDevice?: AccountCapDto;

  /** Young accounts (default off). */
  @IsOptional()
  @IsObject({ message: 'must be an object' })
  @ValidateNested()
  @Type(() => AccountAgeDto)
  accountAge?: AccountAgeDto;

  /** New accounts per address in a window (default 5 per 60 s, harder). */
  @IsOptional()
  @IsObject({ message: 'must be an object' })
  @ValidateNested()
  @Type(() => BurstDto)
  burst?: BurstDto;
}
