import type { NotificationChannel, NotificationStatus } from '../generated/prisma/client.js';

export type { NotificationChannel, NotificationStatus };

/** What an email says: a subject and the same message as plain text and HTML. */
export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

/** What an SMS says. */
export interface SmsContent {
  text: string;
}

export type NotificationContent = EmailContent | SmsContent;

/** A notification record about to be inserted (one per order, event kind and channel). */
export interface NewNotification {
  id: string;
  orderId: string;
  kind: string;
  channel: NotificationChannel;
  recipient: string;
  content: NotificationContent;
  eventId: string;
}

/** A record its send job has claimed: status SENDING, attempts already counted. */
export interface ClaimedNotification {
  id: string;
  orderId: string;
  kind: string;
  channel: NotificationChannel;
  recipient: string;
  content: NotificationContent;
  attempts: number;
}

/** The admin's view of one notification. */
export interface NotificationView {
  id: string;
  orderId: string;
  kind: string;
  channel: NotificationChannel;
  recipient: string;
  status: NotificationStatus;
  attempts: number;
  lastError: string | null;
  eventId: string;
  sentAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}
