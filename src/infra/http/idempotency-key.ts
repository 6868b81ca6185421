import { DomainError } from '../errors/domain-error.js';

/** What an `Idempotency-Key` header may hold. */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The `Idempotency-Key` header as sent (absent: undefined), or 400 VALIDATION_FAILED when malformed. */
export function checkIdempotencyKey(header: string | undefined): string | undefined {
  if (header !== undefined && !IDEMPOTENCY_KEY.test(header)) {
    const problem = 'must be 1-128 letters, digits, "_", ".", ":" or "-"';
    throw new DomainError('VALIDATION_FAILED', `Idempotency-Key ${problem}`, [{ field: 'Idempotency-Key', problem }]);
  }
  return header;
}
