import type { AdminSession } from './admin-access.js';

export class AdminSessionDto implements AdminSession {
  status!: 'signed-in';
  /** When the session (the token) expires. */
  expiresAt!: Date;
}
