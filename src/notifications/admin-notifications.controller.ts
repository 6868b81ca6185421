import { Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { Roles } from '../auth/auth.decorators.js';
import { AdminNotificationsService, type NotificationPage } from './admin-notifications.service.js';
import { NotificationQueryDto } from './dto/notification.dto.js';
import type { NotificationView } from './notification.types.js';

@Controller('admin/notifications')
@Roles('ADMIN')
export class AdminNotificationsController {
  constructor(@Inject(AdminNotificationsService) private readonly notifications: AdminNotificationsService) {}

  /** Newest first; `?status=FAILED` is the dead-letter view (lastError says why). */
  @Get()
  list(@Query() query: NotificationQueryDto): Promise<NotificationPage> {
    return this.notifications.page(query);
  }

  /** Sends a FAILED notification again (409 NOTIFICATION_NOT_RETRYABLE otherwise). */
  @Post(':id/retry')
  @HttpCode(200)
  retry(@Param('id') id: string): Promise<NotificationView> {
    return this.notifications.retry(id);
  }
}
