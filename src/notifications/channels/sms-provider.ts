/** One SMS as a provider gets it. */
export interface SmsMessage {
  /** The notification id: the same on every attempt (gateways can dedupe on it). */
  id: string;
  /** E.164, e.g. +14155550100. */
  to: string;
  text: string;
}

/**
 * A way to send SMS. Resolve when the provider accepted the message; throw a
 * SendFailure (permanent or not) when it did not. Any other error counts as
 * transient. To add one: implement this, and add it to SMS_PROVIDERS
 * (sms.providers.ts) under the name SMS_PROVIDER selects.
 */
export interface SmsProvider {
  readonly name: string;
  send(message: SmsMessage): Promise<void>;
  /** Lets go of what it holds (pooled connections) when the worker stops. */
  close?(): void;
}

/** Nest injection token of the configured SmsProvider. */
export const SMS_PROVIDER = Symbol('SMS_PROVIDER');
