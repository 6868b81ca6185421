import { IsIn, IsOptional, Matches } from 'class-validator';
import { PageQueryDto } from '../../infra/http/page-query.dto.js';
import { ULID } from '../../infra/ids/ids.js';
import type { NotificationChannel, NotificationStatus } from '../notification.types.js';

const STATUSES: NotificationStatus[] = ['QUEUED', 'SENDING', 'SENT', 'FAILED'];
const CHANNELS: NotificationChannel[] = ['EMAIL', 'SMS'];

export class NotificationQueryDto extends PageQueryDto {
  @IsOptional()
  @Matches(ULID, { message: 'must be an order id (26-character ULID)' })
  orderId?: string;

  @IsOptional()
  @IsIn(STATUSES)
  status?: NotificationStatus;

  @IsOptional()
  @IsIn(CHANNELS)
  channel?: NotificationChannel;

  override pageSize = 50;
}
