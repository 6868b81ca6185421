import { ApiProperty, OmitType, PartialType } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsDate,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateBy,
  ValidateNested,
} from 'class-validator';
import { IsOmittable } from '../../infra/http/validation.js';
import { AntiBotDto } from './anti-bot.dto.js';

const trim = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() : value);
/** Only ISO 8601 strings become dates; anything else stays and fails @IsDate. */
const isoDate = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? new Date(value) : value;

export const MAX_STOCK = 10_000_000;
export const MAX_PRICE = 100_000_000;

/** Most buckets a sale's gate may be split into. */
export const MAX_GATE_BUCKETS = 16;

/** Most shoppers a waiting room may let in per second. */
export const MAX_ADMIT_PER_SECOND = 100_000;

const IsAdmitRate = (): PropertyDecorator =>
  ValidateBy({
    name: 'isAdmitRate',
    validator: {
      validate: (value: unknown) =>
        value === 'auto' ||
        (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_ADMIT_PER_SECOND),
      defaultMessage: () => `must be "auto" or an integer from 1 to ${MAX_ADMIT_PER_SECOND}`,
    },
  });

/**
 * A sale's waiting room. Every field may be left out: on create it takes its
 * default (ROOM_DEFAULT_ADMIT_PER_SECOND, 5000 active, a 60 s claim window,
 * the pre-queue ROOM_PREQUEUE_LEAD_SECONDS before the start, ROOM_MAX_QUEUE);
 * on update the room's current value stays.
 */
export class WaitingRoomDto {
  /** Shoppers let in per second, or `auto`: the admitter follows what the purchase path measures. */
  @ApiProperty({
    oneOf: [
      { type: 'integer', minimum: 1 },
      { type: 'string', enum: ['auto'] },
    ],
    example: 200,
  })
  @IsOptional()
  @IsAdmitRate()
  admitPerSecond?: number | 'auto';

  /** Most shoppers admitted and not yet done (admission unused, or order not yet paid or cancelled). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  maxActive?: number;

  /** Seconds an admission stays valid (the claim window). */
  @IsOptional()
  @IsInt()
  @Min(10)
  @Max(3600)
  claimSeconds?: number;

  /** When joining opens, before the sale starts. */
  @IsOptional()
  @Transform(isoDate)
  @IsDate({ message: 'must be an ISO 8601 date-time' })
  prequeueOpensAt?: Date | null;

  /** Longest the queue may grow (joins beyond it: 503 QUEUE_FULL). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000_000)
  maxQueue?: number | null;

  /** Let nobody in (joining and waiting go on). */
  @IsOptional()
  @IsBoolean()
  paused?: boolean;

  /** Anti-bot rules at the door (proof of work, caps per address/network/device, shadow queue); absent: unchanged (none on create). */
  @ApiProperty({ type: AntiBotDto, required: false })
  @IsOptional()
  @IsObject({ message: 'must be an object' })
  @ValidateNested()
  @Type(() => AntiBotDto)
  antiBot?: AntiBotDto;
}

/**
 * A new sale; its fields and their rules are also those of a change
 * (UpdateSaleDto), where every field may be left out.
 */
export class CreateSaleDto {
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  name!: string;

  @Transform(trim)
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { message: 'must be 1-64 letters, digits, ".", "_" or "-"' })
  sku!: string;

  /** Minor units (cents) of one unit. */
  @IsInt()
  @Min(1)
  @Max(MAX_PRICE)
  price!: number;

  @IsInt()
  @Min(1)
  @Max(MAX_STOCK)
  stock!: number;

  @IsInt()
  @Min(1)
  @Max(1000)
  perUserLimit!: number;

  @Transform(isoDate)
  @IsDate({ message: 'must be an ISO 8601 date-time' })
  startsAt!: Date;

  @Transform(isoDate)
  @IsDate({ message: 'must be an ISO 8601 date-time' })
  endsAt!: Date;

  /** Seconds a shopper has to pay once the stock is reserved; omit for the PAYMENT_WINDOW_SECONDS default. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86_400)
  paymentWindowSeconds?: number;

  /**
   * Buckets the sale's gate is split into, each on its own Redis Cluster slot
   * (a hot sale spread over several masters); 1 = one gate.
   */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_GATE_BUCKETS)
  gateBuckets?: number;

  /**
   * The sale's waiting room (shoppers queue, then buy with an admission). On
   * create, null or absent: none; on update, null removes it, absent leaves it
   * unchanged.
   */
  @ApiProperty({ type: WaitingRoomDto, nullable: true, required: false })
  @IsOptional()
  @IsObject({ message: 'must be an object or null' })
  @ValidateNested()
  @Type(() => WaitingRoomDto)
  waitingRoom?: WaitingRoomDto | null;
}

/**
 * A change to a sale: the fields of CreateSaleDto with their rules, each of
 * them omittable. An omitted field stays as it is; `null` is refused where
 * create refuses it (`skipNullProperties: false`: only a missing field skips
 * the checks, as @IsOmittable; PartialType's default @IsOptional would let
 * `null` through).
 */
export class UpdateSaleDto extends PartialType(OmitType(CreateSaleDto, ['stock'] as const), {
  skipNullProperties: false,
}) {
  /** Raised at any time; lowered only down to what is already sold. */
  @IsOmittable()
  @IsInt()
  @Min(0)
  @Max(MAX_STOCK)
  stock?: number;
}

export class ReconcileQueryDto {
  /** Rewrite the gate from Postgres (default: report only). */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'must be true or false' })
  repair = false;
}
