import { createHmac, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AuthConfig, RoomConfig } from '../infra/config/app-config.js';

/** An admission as its token carries it (times in ms). */
export interface Admission {
  saleId: string;
  userId: string;
  issuedAt: number;
  expiresAt: number;
}

/** What a queue token remembers of the answer it came with (see RoomTokens.queueToken). */
export interface QueueMemo {
  state: string;
  position: number | null;
  low: number;
  high: number;
  queueLength: number;
  admitPerSecond: number;
  /** Until when (ms) the answer holds: a poll before it is answered from the token. */
  refreshAt: number;
  /** When the answer was given (ms). */
  at: number;
}

const MAC_LENGTH = 22;

/**
 * The room's signatures (HMAC-SHA256 under ROOM_TOKEN_SECRET, or a key
 * derived from JWT_SECRET): every API copy verifies what any copy issued,
 * without Redis.
 *
 * - The admission token `<issued>.<expires>.<mac>` (base 36 ms) is bound to
 *   the user and the sale by its MAC; it is deterministic, so every poll of
 *   an admitted shopper answers the same token. It buys once: the gate keeps
 *   the used ones (ADMIT_LUA).
 * - The queue token `<memo>.<mac>` carries the last answer to a shopper's
 *   poll, so a poll before `refreshAfterSeconds` is answered without Redis.
 */
@Injectable()
export class RoomTokens {
  private readonly key: Buffer;

  constructor(@Inject(RoomConfig) room: RoomConfig, @Inject(AuthConfig) auth: AuthConfig) {
    this.key = room.ROOM_TOKEN_SECRET
      ? Buffer.from(room.ROOM_TOKEN_SECRET)
      : createHmac('sha256', auth.JWT_SECRET).update('flash-sale waiting room').digest();
  }

  admissionToken(a: Admission): string {
    const body = `${a.issuedAt.toString(36)}.${a.expiresAt.toString(36)}`;
    return `${body}.${this.mac(`a|${a.saleId}|${a.userId}|${body}`)}`;
  }

  /** The admission a token names, when it is well formed, signed for this user and sale, and not expired; else null. */
  verifyAdmission(token: string, saleId: string, userId: string, now = Date.now()): Admission | null {
    if (token.length > 64) return null;
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    const [issued, expires, mac] = parts as [string, string, string];
    if (!/^[0-9a-z]{1,12}$/.test(issued) || !/^[0-9a-z]{1,12}$/.test(expires)) return null;
    if (!this.same(mac, this.mac(`a|${saleId}|${userId}|${issued}.${expires}`))) return null;
    const admission = { saleId, userId, issuedAt: parseInt(issued, 36), expiresAt: parseInt(expires, 36) };
    return admission.expiresAt > now ? admission : null;
  }

  queueToken(saleId: string, userId: string, memo: QueueMemo): string {
    const body = Buffer.from(JSON.stringify(memo)).toString('base64url');
    return `${body}.${this.mac(`q|${saleId}|${userId}|${body}`)}`;
  }

  /** The memo of a queue token signed for this user and sale, or null. */
  readQueueToken(token: string, saleId: string, userId: string): QueueMemo | null {
    if (token.length > 512) return null;
    const dot = token.lastIndexOf('.');
    if (dot <= 0) return null;
    const body = token.slice(0, dot);
    if (!this.same(token.slice(dot + 1), this.mac(`q|${saleId}|${userId}|${body}`))) return null;
    try {
      const memo = JSON.parse(Buffer.from(body, 'base64url').toString()) as QueueMemo;
      return typeof memo.refreshAt === 'number' && typeof memo.at === 'number' ? memo : null;
    } catch {
      return null;
    }
  }

  private mac(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64url').slice(0, MAC_LENGTH);
  }

  /** Whether two MACs are equal, compared in constant time (Node's own primitive for it). */
  private same(a: string, b: string): boolean {
    return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
  }
}
