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
 * room/head-poll.spec.ts reads tokens the room made)
 * says its shopper was waiting (after the start) and the earliest estimate
 * it was told is due within NEAR_HEAD_MS of `now`: the shopper is at the head
 * or already admitted. A token that aged while its polls were shed comes
 * near the head this way too. False for anything else (no token, prequeue,
 * malformed).
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
    return (
      memo.state === 'waiting' &&
      typeof memo.low === 'number' &&
      typeof memo.at === 'number' &&
      memo.at + memo.low * 1000 - now <= NEAR_HEAD_MS
    );
  } catch {
    return false;
  }
}
