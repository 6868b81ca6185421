/** One charge: the order's amount, with a key that makes a retried charge happen once. */
export interface ChargeRequest {
  orderId: string;
  userId: string;
  /** Minor units. */
  amount: number;
  idempotencyKey: string;
}

export type ChargeResult = { approved: true; reference: string | null } | { approved: false; reason: string };

/** Gives back an approved charge: the one made with `idempotencyKey` (its `reference` when the provider gave one). */
export interface RefundRequest extends ChargeRequest {
  reference: string | null;
}

/** A payment provider: approves or declines a charge; throws PaymentUnavailable when it cannot tell. */
export interface PaymentProvider {
  readonly name: string;
  charge(request: ChargeRequest): Promise<ChargeResult>;
  /**
   * Refunds (or voids) an approved charge whose order was cancelled while it
   * was being made. Resolves once the provider accepted; throws when it did
   * not (the refund is then left for a person, see payment_refunds).
   */
  refund(request: RefundRequest): Promise<void>;
}

/** Injection token of the configured provider (PAYMENT_PROVIDER). */
export const PAYMENT_PROVIDER = Symbol('PaymentProvider');

/** The provider could not be reached or failed (5xx, timeout): nothing is known to be charged. */
export class PaymentUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PaymentUnavailable';
  }
}
