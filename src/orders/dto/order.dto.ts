import { IsInt, IsOptional, Max, Min } from 'class-validator';

export class PurchaseDto {
  /** Units to buy; at most the sale's per-shopper limit (checked by the gate). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  quantity = 1;
}
