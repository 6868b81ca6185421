/** The answers of /admin/notifications, as classes for the OpenAPI document. */
import { EXAMPLE } from '../../infra/openapi/examples.js';
import type { NotificationPage } from '../admin-notifications.service.js';
import type { NotificationView } from '../notification.types.js';

export class NotificationViewDto implements NotificationView {
  id!: string;
  orderId!: string;
  /** The event the message is about, e.g. `order.confirmed`. */
  kind!: string;
  channel!: NotificationView['channel'];
  /** Email address or E.164 phone number. */
  recipient!: string;
  status!: NotificationView['status'];
  /** Transport calls started for this message. */
  attempts!: number;
  lastError!: string | null;
  eventId!: string;
  sentAt!: Date | null;
  createdAt!: Date;
  updatedAt!: Date;
}

export class NotificationPageDto implements NotificationPage {
  items!: NotificationViewDto[];
  page!: number;
  pageSize!: number;
  total!: number;
}

export const NOTIFICATION_VIEW_EXAMPLE = {
  id: '01JD3Z7A1B2C3D4E5F6G7H8J9K',
  orderId: EXAMPLE.orderId,
  kind: 'order.confirmed',
  channel: 'EMAIL',
  recipient: 'ana@example.com',
  status: 'FAILED',
  attempts: 5,
  lastError: 'connect ECONNREFUSED 127.0.0.1:1025',
  eventId: '01JD3Z6X0000000000000000AA',
  sentAt: null,
  createdAt: EXAMPLE.at,
  updatedAt: EXAMPLE.at,
};
