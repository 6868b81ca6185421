import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { ClaimedNotification, SmsContent } from '../notification.types.js';
import { SendFailure } from './send-failure.js';
import { SMS_PROVIDER, type SmsProvider } from './sms-provider.js';

/** E.164: a +, a country code not starting with 0, 7 to 15 digits in all. */
const E164 = /^\+[1-9]\d{6,14}$/;

/** The SMS channel: checks the number and the message, then hands it to the configured provider. */
@Injectable()
export class SmsSender implements OnApplicationShutdown {
  constructor(@Inject(SMS_PROVIDER) private readonly provider: SmsProvider) {}

  async send(notification: ClaimedNotification): Promise<void> {
    const { id, recipient, content } = notification;
    if (!E164.test(recipient)) throw new SendFailure(`invalid phone number ${JSON.stringify(recipient)}`, true);
    const text = (content as Partial<SmsContent> | null)?.text;
    if (typeof text !== 'string' || text === '') throw new SendFailure('the record holds no SMS text', true);
    await this.provider.send({ id, to: recipient, text });
  }

  /** After the workers have finished their active jobs (beforeApplicationShutdown). */
  onApplicationShutdown(): void {
    this.provider.close?.();
  }
}
