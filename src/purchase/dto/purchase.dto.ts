import { IsInt, Max, Min, ValidateIf } from 'class-validator';

export const MAX_QUANTITY = 1000;

export class PurchaseDto {
  /** Units to buy; at most the sale's per-shopper limit (checked by the gate). Absent: 1; null is refused. */
  @ValidateIf((_: unknown, value: unknown) => value !== undefined)
  @IsInt()
  @Min(1)
  @Max(MAX_QUANTITY)
  quantity = 1;

  /**
   * The fast path of the validation pipe: `{}`, no body, or `{quantity: n}`
   * with n an integer in range. Anything else goes to class-validator.
   */
  static fastParse(value: unknown): PurchaseDto | undefined {
    if (value === undefined) return new PurchaseDto();
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const keys = Object.keys(value);
    if (keys.length === 0) return new PurchaseDto();
    if (keys.length !== 1 || keys[0] !== 'quantity') return undefined;
    const quantity = (value as { quantity: unknown }).quantity;
    if (!Number.isInteger(quantity) || (quantity as number) < 1 || (quantity as number) > MAX_QUANTITY)
      return undefined;
    const dto = new PurchaseDto();
    dto.quantity = quantity as number;
    return dto;
  }
}
