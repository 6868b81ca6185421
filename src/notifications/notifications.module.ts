import { Module } from '@nestjs/common';
import { NotifyConfig } from '../infra/config/app-config.js';
import { OrdersModule } from '../orders/orders.module.js';
import { SalesModule } from '../sales/sales.module.js';
import { UsersModule } from '../users/users.module.js';
import { EmailSender } from './channels/email.sender.js';
import { SMS_PROVIDER } from './channels/sms-provider.js';
import { SMS_PROVIDERS } from './channels/sms.providers.js';
import { SmsSender } from './channels/sms.sender.js';
import { DeliveryService } from './delivery.service.js';
import { NotificationsRepository } from './notifications.repository.js';
import { NotificationsService } from './notifications.service.js';

/** The worker side of notifications: records from events, and the two channels that send them. */
@Module({
  imports: [OrdersModule, UsersModule, SalesModule],
  providers: [
    NotificationsRepository,
    NotificationsService,
    DeliveryService,
    EmailSender,
    SmsSender,
    {
      provide: SMS_PROVIDER,
      inject: [NotifyConfig],
      useFactory: (config: NotifyConfig) => SMS_PROVIDERS[config.SMS_PROVIDER](config),
    },
  ],
  exports: [NotificationsService, DeliveryService],
})
export class NotificationsModule {}
