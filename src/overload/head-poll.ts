/**
 * How close to the head of the queue a poll's Queue-Token says its shopper
 * is, read at the overload door without checking the token's MAC (the door
 * runs before authentication, and the MAC binds the shopper). A forged claim
 * only moves the poll into the purchases' class for shedding: the poll itself
 * still checks the token (RoomService.placeIn) and answers from Redis.
 */

/** A poll is near the head when its last answer's earliest estimate is due within this long (ms), or past. */
export const NEAR_HEAD_MS = 2000;

/**
 * Whether the queue token (`<base64url memo>.<mac>`: room/room-tokens.ts;
 * room/head-poll.spec.ts reads tokens the room made) says its shopper may be
 * at the head or already admitted: waiting, with the earliest estimate told
 * due within NEAR_HEAD_MS of `now` (a token that aged while its polls were
 * shed comes near the head this way too); or in the pre-queue of a sale that
 * has started since (the draw is done, the place unknown until this poll: a
 * pre-queued shopper's first poll after the start, spread over 1–5 s, is how
 * the head of the draw learns its admission). False for anything else (no
 * token, before the start, malformed).
 */
export function nearHead(token: string | string[] | undefined, now: number): boolean {
  if (typeof token !== 'string' || token.length > 512) return false;
  const dot = token.lastIndexOf('.');
  if (dot <= 0) return false;
  try {
    const memo = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString()) as {
      state?: unknown;
      low?: unknown;
      at?: unknown;
    };
    if (typeof memo.low !== 'number' || typeof memo.at !== 'number') return false;
    const due = memo.at + memo.low * 1000 - now;
    // Waiting: the earliest estimate told is near or past. In the pre-queue `low` is the time to the start:
    // once the sale has started the place is drawn, and the first places are admitted in its first seconds.
    return memo.state === 'waiting' ? due <= NEAR_HEAD_MS : memo.state === 'prequeue' && due <= 0;
  } catch {
    return false;
  }
}
