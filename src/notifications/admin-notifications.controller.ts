import { Controller, Get, HttpCode, Inject, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/auth.decorators.js';
import { NotificationId } from '../infra/http/id-params.js';
import { Answers } from '../infra/openapi/answers.js';
import { AdminNotificationsService, type NotificationPage } from './admin-notifications.service.js';
import { NotificationQueryDto } from './dto/notification.dto.js';
import { NOTIFICATION_VIEW_EXAMPLE, NotificationPageDto, NotificationViewDto } from './dto/notification-views.dto.js';
import type { NotificationView } from './notification.types.js';

@ApiTags('admin')
@Controller('admin/notifications')
@Roles('ADMIN')
export class AdminNotificationsController {
  constructor(@Inject(AdminNotificationsService) private readonly notifications: AdminNotificationsService) {}

  /** Newest first; `?status=FAILED` is the dead-letter view (lastError says why). */
  @Get()
  @Answers({
    status: 200,
    body: NotificationPageDto,
    example: { items: [NOTIFICATION_VIEW_EXAMPLE], page: 1, pageSize: 50, total: 1 },
  })
  list(@Query() query: NotificationQueryDto): Promise<NotificationPage> {
    return this.notifications.page(query);
  }

  /** Sends a FAILED notification again (409 NOTIFICATION_NOT_RETRYABLE otherwise). */
  @Post(':id/retry')
  @HttpCode(200)
  @Answers({
    status: 200,
    body: NotificationViewDto,
    example: { ...NOTIFICATION_VIEW_EXAMPLE, status: 'QUEUED' },
    errors: ['NOTIFICATION_NOT_FOUND', 'NOTIFICATION_NOT_RETRYABLE'],
  })
  retry(@NotificationId() id: string): Promise<NotificationView> {
    return this.notifications.retry(id);
  }
}
