import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { ULID } from '../../infra/ids/ids.js';
import type { NotificationChannel, NotificationStatus } from '../notification.types.js';

const STATUSES: NotificationStatus[] = ['QUEUED', 'SENDING', 'SENT', 'FAILED'];
const CHANNELS: NotificationChannel[] = ['EMAIL', 'SMS'];

export class NotificationQueryDto {
  @IsOptional()
  @Matches(ULID, { message: 'must be an order id (26-character ULID)' })
  orderId?: string;

  @IsOptional()
  @IsIn(STATUSES)
  status?: NotificationStatus;

  @IsOptional()
  @IsIn(CHANNELS)
  channel?: NotificationChannel;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  page = 1;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  pageSize = 50;
}
