/** One charge: the order's amount, with a key that makes a retried charge happen once. */
export interface ChargeRequest {
  orderId: string;
  userId: string;
  /** Minor units. */
  amount: number;
  idempotencyKey: string;
}

export type ChargeResult = { approved: true; reference: string | null } | { approved: false; reason: string };

/** A payment provider: approves or declines a charge; throws PaymentUnavailable when it cannot tell. */
export interface PaymentProvider {
  readonly name: string;
  charge(request: ChargeRequest): Promise<ChargeResult>;
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
