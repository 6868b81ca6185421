import { Transform } from 'class-transformer';
import { IsBoolean, IsDate, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { IsOmittable } from '../../infra/http/validation.js';

const trim = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() : value);
/** Only ISO 8601 strings become dates; anything else stays and fails @IsDate. */
const isoDate = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? new Date(value) : value;

export const MAX_STOCK = 10_000_000;
export const MAX_PRICE = 100_000_000;

/** Most buckets a sale's gate may be split into. */
export const MAX_GATE_BUCKETS = 16;

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
}

export class UpdateSaleDto {
  @IsOmittable()
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  name?: string;

  @IsOmittable()
  @Transform(trim)
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { message: 'must be 1-64 letters, digits, ".", "_" or "-"' })
  sku?: string;

  @IsOmittable()
  @IsInt()
  @Min(1)
  @Max(MAX_PRICE)
  price?: number;

  /** Raised at any time; lowered only down to what is already sold. */
  @IsOmittable()
  @IsInt()
  @Min(0)
  @Max(MAX_STOCK)
  stock?: number;

  @IsOmittable()
  @IsInt()
  @Min(1)
  @Max(1000)
  perUserLimit?: number;

  @IsOmittable()
  @Transform(isoDate)
  @IsDate({ message: 'must be an ISO 8601 date-time' })
  startsAt?: Date;

  @IsOmittable()
  @Transform(isoDate)
  @IsDate({ message: 'must be an ISO 8601 date-time' })
  endsAt?: Date;

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
}

export class ReconcileQueryDto {
  /** Rewrite the gate from Postgres (default: report only). */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'must be true or false' })
  repair = false;
}
