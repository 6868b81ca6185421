import { Module } from '@nestjs/common';
import { AdminNotificationsController } from './admin-notifications.controller.js';
import { AdminNotificationsService } from './admin-notifications.service.js';
import { NotificationsRepository } from './notifications.repository.js';

/** The HTTP side: the admin's list of notifications and the retry of dead letters. */
@Module({
  controllers: [AdminNotificationsController],
  providers: [NotificationsRepository, AdminNotificationsService],
  exports: [AdminNotificationsService],
})
export class NotificationsHttpModule {}
