import { Logger } from '@nestjs/common';
import { type NotifyConfig, type SmsProviderName } from '../../infra/config/app-config.js';
import { describeError, SendFailure } from './send-failure.js';
import type { SmsMessage, SmsProvider } from './sms-provider.js';

/** Development: writes each SMS to the worker's log instead of sending it. */
export class LogSmsProvider implements SmsProvider {
  readonly name = 'log';
  private readonly logger = new Logger('Sms');

  send(message: SmsMessage): Promise<void> {
    this.logger.log(`SMS ${message.id} to ${message.to}: ${message.text}`);
    return Promise.resolve();
  }
}

/**
 * POSTs `{id, to, from, text}` as JSON to SMS_GATEWAY_URL, with the token in
 * SMS_GATEWAY_AUTH_HEADER and the notification id as `Idempotency-Key`.
 * 2xx: accepted. 408, 429, 5xx, no answer in NOTIFY_TIMEOUT_MS or no
 * connection: transient. Any other 4xx: permanent.
 */
export class HttpSmsProvider implements SmsProvider {
  readonly name = 'http';
  private readonly headers: Record<string, string>;

  constructor(private readonly config: NotifyConfig) {
    this.headers = { 'content-type': 'application/json' };
    if (config.SMS_GATEWAY_TOKEN) {
      const header = config.SMS_GATEWAY_AUTH_HEADER;
      this.headers[header] =
        header.toLowerCase() === 'authorization' ? `Bearer ${config.SMS_GATEWAY_TOKEN}` : config.SMS_GATEWAY_TOKEN;
    }
  }

  async send(message: SmsMessage): Promise<void> {
    let status: number;
    let answer: string;
    try {
      const res = await fetch(this.config.SMS_GATEWAY_URL, {
        method: 'POST',
        headers: { ...this.headers, 'idempotency-key': message.id },
        body: JSON.stringify({ id: message.id, to: message.to, from: this.config.SMS_SENDER, text: message.text }),
        signal: AbortSignal.timeout(this.config.NOTIFY_TIMEOUT_MS),
      });
      status = res.status;
      answer = (await res.text()).replace(/\s+/g, ' ').trim().slice(0, 300);
    } catch (err) {
      throw new SendFailure(`SMS gateway unreachable: ${describeError(err)}`, false);
    }
    if (status >= 200 && status < 300) return;
    const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
    throw new SendFailure(`SMS gateway answered ${status}${answer ? `: ${answer}` : ''}`, permanent);
  }
}

/** The built-in providers by SMS_PROVIDER name. */
export const SMS_PROVIDERS: { readonly [N in SmsProviderName]: (config: NotifyConfig) => SmsProvider } = {
  log: () => new LogSmsProvider(),
  http: (config) => new HttpSmsProvider(config),
};
