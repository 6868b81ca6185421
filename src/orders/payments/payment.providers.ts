import { type PaymentConfig, type PaymentProviderName } from '../../infra/config/app-config.js';
import {
  PaymentUnavailable,
  type ChargeRequest,
  type ChargeResult,
  type PaymentProvider,
  type RefundRequest,
} from './payment-provider.js';

/** Development and tests: every charge is approved. */
export class ApprovePaymentProvider implements PaymentProvider {
  readonly name = 'approve';

  charge(request: ChargeRequest): Promise<ChargeResult> {
    return Promise.resolve({ approved: true, reference: `approve-${request.idempotencyKey}` });
  }

  refund(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * POSTs `{orderId, userId, amount, idempotencyKey}` as JSON to
 * PAYMENT_PROVIDER_URL with `Idempotency-Key` (and `Authorization: Bearer`
 * when PAYMENT_PROVIDER_TOKEN is set). 2xx approves (the reference is the
 * answer's `id` or `reference` when it has one); any other 4xx declines; 5xx,
 * no answer within PAYMENT_TIMEOUT_MS or no connection: unavailable.
 * Refunds POST `{orderId, userId, amount, idempotencyKey, reference}` to
 * PAYMENT_REFUND_URL with `Idempotency-Key: refund-<charge key>`; 2xx is done,
 * anything else (or no PAYMENT_REFUND_URL) fails the refund.
 */
export class HttpPaymentProvider implements PaymentProvider {
  readonly name = 'http';

  constructor(private readonly config: PaymentConfig) {}

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    const { status, text } = await this.post(this.config.PAYMENT_PROVIDER_URL, request, request.idempotencyKey);
    if (status >= 200 && status < 300) return { approved: true, reference: referenceOf(text) };
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      return { approved: false, reason: `declined (${status})` };
    }
    throw new PaymentUnavailable(`payment provider answered ${status}`);
  }

  async refund(request: RefundRequest): Promise<void> {
    if (!this.config.PAYMENT_REFUND_URL) throw new PaymentUnavailable('no PAYMENT_REFUND_URL is configured');
    const { status } = await this.post(this.config.PAYMENT_REFUND_URL, request, `refund-${request.idempotencyKey}`);
    if (status < 200 || status >= 300) throw new PaymentUnavailable(`refund answered ${status}`);
  }

  private async post(url: string, body: object, idempotencyKey: string): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': idempotencyKey };
    if (this.config.PAYMENT_PROVIDER_TOKEN) headers.authorization = `Bearer ${this.config.PAYMENT_PROVIDER_TOKEN}`;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.config.PAYMENT_TIMEOUT_MS),
      });
      return { status: res.status, text: await res.text() };
    } catch (err) {
      throw new PaymentUnavailable(`payment provider unreachable: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

function referenceOf(text: string): string | null {
  try {
    const body = JSON.parse(text) as { id?: unknown; reference?: unknown };
    const ref = body.id ?? body.reference;
    return typeof ref === 'string' || typeof ref === 'number' ? String(ref).slice(0, 200) : null;
  } catch {
    return null;
  }
}

/** The built-in providers by PAYMENT_PROVIDER name. */
export const PAYMENT_PROVIDERS: { readonly [N in PaymentProviderName]: (config: PaymentConfig) => PaymentProvider } = {
  approve: () => new ApprovePaymentProvider(),
  http: (config) => new HttpPaymentProvider(config),
};
